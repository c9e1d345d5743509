// The CUDA device layout on the CPU: every scheme's rows repack into planes and back to the
// same GGUF-layout bytes, and the codecs the kernels decode with give exactly the scheme's
// scalar dequantization, chunk by chunk.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fixtures.hpp"

namespace {

using namespace qlinear;
using namespace qlinear::cuda;
using namespace qlinear::cuda_test;

template <class S>
class CudaLayout : public ::testing::Test {};
TYPED_TEST_SUITE(CudaLayout, AllSchemeTypes, SchemeName);

// Decodes every chunk of every row of an image with the scheme's codec and compares the weights
// a·v + b with the scalar reference row.
template <class S>
void expect_codec_matches_reference(const QuantizedTensor<S>& t) {
  using C = Codec<S>;
  const Geometry g = Geometry::of<S>(t.rows(), t.cols());
  const std::vector<std::uint8_t> image = pack_image(g, t);
  const TensorRef ref = g.ref(image.data());
  const CodeTable<S> table;
  std::vector<float> want(t.cols());
  std::size_t mismatches = 0;
  for (std::size_t r = 0; r < t.rows(); ++r) {
    t.dequantize_row(r, want.data());
    const RowRef row = ref.row(r);
    for (int c = 0; c < ref.chunks; ++c) {
      ChunkCodes codes;
      C::decode(C::load(row, c), table.value, codes);
      for (int e = 0; e < chunk_weights; ++e) {
        const std::size_t k = std::size_t(c) * chunk_weights + std::size_t(e);
        const float a = codes.a[e / 16], b = codes.b[e / 16];
        const float got = C::has_offset ? a * codes.v[e] + b : a * codes.v[e];
        if (k >= t.cols()) {
          // Padding of element-wise rows: finite, so 0 · it is 0 in the kernels' dot products.
          EXPECT_TRUE(std::isfinite(got)) << S::name << " padding at row " << r << " col " << k;
          continue;
        }
        // One rounding apart at most (a fused multiply-add on some targets).
        const double tol = 1e-6 * (std::fabs(double(a) * codes.v[e]) + std::fabs(double(b)));
        if (!close_or_same_nonfinite(got, want[k], tol) && ++mismatches <= 5)
          ADD_FAILURE() << S::name << " row " << r << " col " << k << ": codec gives " << got << " (a " << a
                        << ", v " << codes.v[e] << ", b " << b << "), reference " << want[k];
      }
    }
  }
  EXPECT_EQ(mismatches, 0u) << S::name;
}

TYPED_TEST(CudaLayout, RoundTripGivesTheSameBytes) {
  using S = TypeParam;
  for (const std::size_t rows : {1, 5}) {
    for (const std::size_t blocks : {1, 3}) {
      const std::size_t cols = cols_for<S>(blocks);
      const auto t = random_tensor<S>(rows, cols, std::uint32_t(rows * 31 + blocks));
      const Geometry g = Geometry::of<S>(rows, cols);
      const auto image = pack_image(g, t);
      ASSERT_EQ(image.size(), g.total_bytes);
      const auto back = unpack_image<S>(g, image.data());
      ASSERT_EQ(back.size(), t.bytes().size());
      EXPECT_TRUE(std::equal(back.begin(), back.end(), t.bytes().begin())) << S::name << " " << rows << "x" << cols;
      if constexpr (SelfDescribingRows<S>) {
        const auto raw = random_bytes_tensor<S>(rows, cols, 7u + std::uint32_t(blocks));
        const auto raw_back = unpack_image<S>(g, pack_image(g, raw).data());
        EXPECT_TRUE(std::equal(raw_back.begin(), raw_back.end(), raw.bytes().begin())) << S::name << " random bytes";
      }
    }
  }
}

TYPED_TEST(CudaLayout, CodecDecodesLikeTheScalarReference) {
  using S = TypeParam;
  expect_codec_matches_reference(random_tensor<S>(4, cols_for<S>(3), 11));
  expect_codec_matches_reference(random_tensor<S>(2, cols_for<S>(2), 12, 1e-3f));
  if constexpr (SelfDescribingRows<S>) expect_codec_matches_reference(random_bytes_tensor<S>(3, cols_for<S>(2), 13));
}

TYPED_TEST(CudaLayout, GeometryKeepsPlanesAlignedAndApart) {
  using S = TypeParam;
  using C = Codec<S>;
  const Geometry g = Geometry::of<S>(3, cols_for<S>(2));
  EXPECT_EQ(std::size_t(g.chunks), (g.cols + 31) / 32);
  EXPECT_EQ(g.chunks % C::chunks_per_block, 0);
  for (const std::size_t off : {g.q_offset, g.h_offset, g.m_offset, g.p0_offset, g.p1_offset, g.exp_offset})
    EXPECT_EQ(off % 256, 0u);
  // Rows of each plane keep the alignment of the loads the codecs issue.
  EXPECT_EQ(g.q_pitch % 8, 0u);
  if (g.has_h) {
    EXPECT_EQ(g.h_pitch % 4, 0u);
  }
  EXPECT_LE(g.q_offset + 3 * g.q_pitch, g.has_h ? g.h_offset : (g.has_m ? g.m_offset : g.exp_offset));
  // Device bytes of the planes equal the GGUF bytes (nothing inflated), padding aside.
  const std::size_t plane_bytes = g.q_pitch + g.h_pitch + g.m_pitch;
  if constexpr (!C::elementwise) {
    EXPECT_EQ(plane_bytes, row_bytes<S>(g.cols));
  }
}

TEST(CudaLayoutTables, CodebooksMatchTheSchemes) {
  for (int u = 0; u < 16; ++u) {
    EXPECT_EQ(iq4nl_value(u), float(gguf::kvalues_iq4nl[u]));
    EXPECT_EQ(Codec<NF4>::table_value(u), nf4_level(std::uint32_t(u)));
  }
}

TEST(CudaLayoutErrors, RejectsColumnsThatAreNotWholeBlocks) {
  EXPECT_THROW(Geometry::of<Q4_K>(4, 300), Error);
  EXPECT_THROW(Geometry::of<Q4_0>(0, 64), Error);
  const auto t = random_tensor<Q4_0>(2, 64, 1);
  EXPECT_THROW(pack_image(Geometry::of<Q4_0>(2, 96), t), Error);
}

}  // namespace
