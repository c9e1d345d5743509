#pragma once
// Every scheme qlinear knows, and run-time-typed entry points over them (by SchemeId).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "qlinear/core/error.hpp"
#include "qlinear/core/type_list.hpp"
#include "qlinear/schemes/dense.hpp"
#include "qlinear/schemes/gguf/all.hpp"
#include "qlinear/schemes/int4.hpp"
#include "qlinear/schemes/int8.hpp"
#include "qlinear/schemes/nf4.hpp"

namespace qlinear {

/// Every scheme a layer's weights can be stored in (AnyLinear chooses among these).
using AllSchemes = TypeList<DenseF32, DenseF16, DenseBF16,                                            //
                            Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS,  //
                            Int8PerTensor, Int8PerTensorAffine, Int8PerChannel, Int8PerChannelAffine,  //
                            Int4G32, Int4G64, Int4G128, Int4G32Affine, Int4G64Affine, Int4G128Affine,  //
                            NF4, NF4DoubleQuant>;

/// The GGUF formats that exist only for activations (ggml's vec_dot types).
using ActivationSchemes = TypeList<Q8_1, Q8_K>;

namespace detail {
template <class... A, class... B>
TypeList<A..., B...> concat_lists(TypeList<A...>, TypeList<B...>);
}  // namespace detail

/// Every format the run-time entry points below accept.
using AllFormats = decltype(detail::concat_lists(AllSchemes{}, ActivationSchemes{}));

/// Calls f(std::type_identity<S>{}) for the scheme with this id; throws qlinear::Error for an
/// id qlinear does not implement. Usage: `visit_scheme(id, [&]<class S>(std::type_identity<S>) {...});`
template <class F>
void visit_scheme(SchemeId id, F&& f) {
  if (!for_first(
          AllFormats{}, [&]<class S>(std::type_identity<S>) { return S::id == id; }, std::forward<F>(f)))
    fail("unsupported scheme id ", std::uint32_t(id));
}

/// The scheme's name ("q4_K", "int8_per_channel", ...), or "unknown" for an id qlinear lacks.
inline std::string_view scheme_name(SchemeId id) {
  std::string_view name = "unknown";
  for_first(
      AllFormats{}, [&]<class S>(std::type_identity<S>) { return S::id == id; },
      [&]<class S>(std::type_identity<S>) { name = S::name; });
  return name;
}

/// The id of the scheme called `name` (as scheme_name prints it); throws for an unknown name.
inline SchemeId scheme_from_name(std::string_view name) {
  SchemeId id{};
  if (!for_first(
          AllFormats{}, [&]<class S>(std::type_identity<S>) { return S::name == name; },
          [&]<class S>(std::type_identity<S>) { id = S::id; }))
    fail("unknown scheme name '", name, "'");
  return id;
}

/// Whether qlinear implements the scheme with this id.
inline bool scheme_known(SchemeId id) { return scheme_name(id) != "unknown"; }

/// Bytes one row of `cols` weights takes in scheme `id`.
inline std::size_t scheme_row_bytes(SchemeId id, std::size_t cols) {
  std::size_t bytes = 0;
  visit_scheme(id, [&]<class S>(std::type_identity<S>) { bytes = row_bytes<S>(cols); });
  return bytes;
}

/// Quantizes rows × cols floats into scheme `id` (schemes whose rows carry their own scales:
/// GGUF and dense formats, int4, NF4). `out` must hold exactly rows × scheme_row_bytes(id, cols).
inline void quantize_rows(SchemeId id, const float* x, std::size_t rows, std::size_t cols,
                          std::span<std::uint8_t> out, const QuantizeOptions& options = {}) {
  visit_scheme(id, [&]<class S>(std::type_identity<S>) {
    if constexpr (!SelfDescribingRows<S>) {
      fail(S::name, " keeps tensor parameters beside its rows: use QuantizedTensor<", S::name, ">::quantize");
    } else {
      const std::size_t rb = row_bytes<S>(cols);
      check(rows == 0 || rb <= SIZE_MAX / rows, S::name, ": ", rows, " rows overflow size_t");
      check(out.size() == rows * rb, S::name, ": output holds ", out.size(), " bytes, ", rows, " rows of ", cols,
            " need ", rows * rb);
      const auto params = S::calibrate(x, rows, cols, options);
      for (std::size_t r = 0; r < rows; ++r) S::quantize_row(x + r * cols, cols, out.data() + r * rb, params, r);
    }
  });
}

/// Dequantizes rows × cols weights of scheme `id` from `bytes` (exactly rows × row bytes) into `out`.
inline void dequantize_rows(SchemeId id, std::span<const std::uint8_t> bytes, std::size_t rows, std::size_t cols,
                            float* out) {
  visit_scheme(id, [&]<class S>(std::type_identity<S>) {
    if constexpr (!SelfDescribingRows<S>) {
      fail(S::name, " keeps tensor parameters beside its rows: use QuantizedTensor<", S::name, ">::dequantize");
    } else {
      const std::size_t rb = row_bytes<S>(cols);
      check(rows == 0 || rb <= SIZE_MAX / rows, S::name, ": ", rows, " rows overflow size_t");
      check(bytes.size() == rows * rb, S::name, ": ", rows, " rows of ", cols, " weights take ", rows * rb,
            " bytes, got ", bytes.size());
      const typename S::TensorParams params{};
      for (std::size_t r = 0; r < rows; ++r) S::dequantize_row(bytes.data() + r * rb, cols, out + r * cols, params, r);
    }
  });
}

}  // namespace qlinear
