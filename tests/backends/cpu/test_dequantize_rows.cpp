// Every level's weight-row dequantizer (the exact path's DequantizeRows) against the scheme's
// reference dequantize_row, bit for bit, for every scheme: rows at an offset (first_row, for
// per-row parameters), K of one block and of several, outliers in the weights.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "cpu_test_util.hpp"

namespace qlinear::test {
namespace {

using cpu::Isa;

template <class List>
struct ToGtest;
template <class... Ts>
struct ToGtest<TypeList<Ts...>> {
  using type = ::testing::Types<Ts...>;
};

template <class S>
class DequantizeRowsScheme : public ::testing::Test {};
TYPED_TEST_SUITE(DequantizeRowsScheme, ToGtest<AllSchemes>::type);

TYPED_TEST(DequantizeRowsScheme, EveryLevelEqualsTheReferenceBitForBit) {
  using S = TypeParam;
  const std::size_t b = S::block_elems;
  for (std::size_t k : {std::max<std::size_t>(b, 64), 4 * std::max<std::size_t>(b, 64) + (b == 1 ? 7 : 0)}) {
    const std::size_t n = 21;
    const auto t = random_tensor<S>(n, k, std::uint32_t(k));
    const auto want = t.dequantize();
    for (Isa isa : cpu::supported_isas()) {
      const auto sel = cpu::select_dequantize_rows<S>(isa);
      if (sel.isa != isa || isa == Isa::scalar) continue;
      // Rows [5, 21) as one call, so per-row parameters are looked up from first_row.
      const std::size_t r0 = 5, count = n - r0;
      std::vector<float> got(count * k, -1.0f);
      sel.fn(t.row(r0), t.row_bytes(), count, k, got.data(), &t.params(), r0);
      for (std::size_t i = 0; i < count * k; ++i) {
        const float w = want[r0 * k + i];
        ASSERT_EQ(std::memcmp(&got[i], &w, 4), 0)
            << S::name << " at " << cpu::isa_name(isa) << " K=" << k << ": row " << r0 + i / k << " element " << i % k
            << " is " << got[i] << ", the reference " << w;
      }
    }
  }
}

}  // namespace
}  // namespace qlinear::test
