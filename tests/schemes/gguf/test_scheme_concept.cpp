// Each GGUF scheme's compile-time constants: the Scheme concept, ids (GGUF's ggml_type numbers),
// names (ggml_type_name), block geometry, nominal bits per weight and activation pairing.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "qlinear/schemes/gguf/all.hpp"

namespace {

using namespace qlinear;

static_assert(Scheme<Q4_0> && Scheme<Q4_1> && Scheme<Q5_0> && Scheme<Q5_1> && Scheme<Q8_0> && Scheme<Q8_1> &&
              Scheme<Q2_K> && Scheme<Q3_K> && Scheme<Q4_K> && Scheme<Q5_K> && Scheme<Q6_K> && Scheme<Q8_K> &&
              Scheme<IQ4_NL> && Scheme<IQ4_XS>);

// ggml's vec_dot_type for each weight type.
static_assert(std::is_same_v<Q4_0::ActivationScheme, Q8_0> && std::is_same_v<Q5_0::ActivationScheme, Q8_0> &&
              std::is_same_v<Q8_0::ActivationScheme, Q8_0> && std::is_same_v<IQ4_NL::ActivationScheme, Q8_0>);
static_assert(std::is_same_v<Q4_1::ActivationScheme, Q8_1> && std::is_same_v<Q5_1::ActivationScheme, Q8_1>);
static_assert(std::is_same_v<Q2_K::ActivationScheme, Q8_K> && std::is_same_v<Q3_K::ActivationScheme, Q8_K> &&
              std::is_same_v<Q4_K::ActivationScheme, Q8_K> && std::is_same_v<Q5_K::ActivationScheme, Q8_K> &&
              std::is_same_v<Q6_K::ActivationScheme, Q8_K> && std::is_same_v<IQ4_XS::ActivationScheme, Q8_K>);

template <class S>
void expect_scheme(SchemeId id, std::uint32_t ggml_type, std::string_view name, std::size_t elems,
                   std::size_t bytes, double bits) {
  EXPECT_EQ(S::id, id) << name;
  EXPECT_EQ(std::uint32_t(S::id), ggml_type) << name;
  EXPECT_EQ(S::name, name);
  EXPECT_EQ(S::block_elems, elems) << name;
  EXPECT_EQ(S::block_bytes, bytes) << name;
  EXPECT_EQ(sizeof(typename S::Block), bytes) << name;
  EXPECT_DOUBLE_EQ(nominal_bits_per_weight<S>(), bits) << name;
  EXPECT_EQ(S::params_bytes(S::calibrate(nullptr, 0, 0, {})), 0u) << name;
  EXPECT_EQ(row_bytes<S>(4096), 4096 / elems * bytes) << name;
  EXPECT_GE(S::max_abs_input, 65504.0f) << name;  // every format holds what an f16 holds
}

TEST(GgufSchemeConstants, IdsNamesBlocksAndBits) {
  expect_scheme<Q4_0>(SchemeId::q4_0, 2, "q4_0", 32, 18, 4.5);
  expect_scheme<Q4_1>(SchemeId::q4_1, 3, "q4_1", 32, 20, 5.0);
  expect_scheme<Q5_0>(SchemeId::q5_0, 6, "q5_0", 32, 22, 5.5);
  expect_scheme<Q5_1>(SchemeId::q5_1, 7, "q5_1", 32, 24, 6.0);
  expect_scheme<Q8_0>(SchemeId::q8_0, 8, "q8_0", 32, 34, 8.5);
  expect_scheme<Q8_1>(SchemeId::q8_1, 9, "q8_1", 32, 36, 9.0);
  expect_scheme<Q2_K>(SchemeId::q2_K, 10, "q2_K", 256, 84, 2.625);
  expect_scheme<Q3_K>(SchemeId::q3_K, 11, "q3_K", 256, 110, 3.4375);
  expect_scheme<Q4_K>(SchemeId::q4_K, 12, "q4_K", 256, 144, 4.5);
  expect_scheme<Q5_K>(SchemeId::q5_K, 13, "q5_K", 256, 176, 5.5);
  expect_scheme<Q6_K>(SchemeId::q6_K, 14, "q6_K", 256, 210, 6.5625);
  expect_scheme<Q8_K>(SchemeId::q8_K, 15, "q8_K", 256, 292, 9.125);
  expect_scheme<IQ4_NL>(SchemeId::iq4_nl, 20, "iq4_nl", 32, 18, 4.5);
  expect_scheme<IQ4_XS>(SchemeId::iq4_xs, 23, "iq4_xs", 256, 136, 4.25);
}

TEST(GgufSchemeConstants, RowBytesRejectsPartialBlocks) {
  EXPECT_THROW(row_bytes<Q4_K>(5000), Error);
  EXPECT_THROW(row_bytes<Q8_0>(48), Error);
  EXPECT_THROW(row_bytes<IQ4_XS>(0), Error);
  EXPECT_EQ(row_bytes<Q4_K>(5120), 20u * 144u);
}

}  // namespace
