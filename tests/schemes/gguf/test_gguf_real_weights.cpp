// Q4_K and Q6_K bytes from a real model (a slice of Devstral-Small-2505 Q4_K_M) dequantized
// bit for bit against gguf-py's dequantization of the same bytes. The bytes are read straight
// from their absolute offsets in the file (../shared/gguf-samples/README.md): no GGUF parser.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "qlinear/schemes/gguf/all.hpp"
#include "test_util.hpp"

namespace {

using namespace qlinear;

constexpr std::size_t kRows = 64, kCols = 5120;

std::vector<char> read_bytes(const std::filesystem::path& path, std::size_t offset, std::size_t n) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string() + " (the shared gguf-samples folder is missing)");
  in.seekg(std::streamoff(offset));
  std::vector<char> out(n);
  in.read(out.data(), std::streamsize(n));
  if (std::size_t(in.gcount()) != n) throw std::runtime_error(path.string() + ": shorter than expected");
  return out;
}

std::vector<float> read_f32(const std::filesystem::path& path, std::size_t n) {
  const auto raw = read_bytes(path, 0, n * 4);
  std::vector<float> out(n);
  std::memcpy(out.data(), raw.data(), n * 4);
  return out;
}

template <class S>
void check_tensor(std::size_t offset, const std::string& tensor, double checksum) {
  const auto dir = test::shared_dir() / "gguf-samples";
  const std::size_t rb = row_bytes<S>(kCols);
  const auto raw = read_bytes(dir / "devstral-slice-q4k-q6k.gguf", offset, kRows * rb);
  const auto truth = read_f32(dir / ("devstral-slice-q4k-q6k.truth." + tensor + ".f32"), kRows * kCols);
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(raw.data());

  std::vector<float> y(kCols);
  std::size_t mismatches = 0, negative_zeros = 0;
  double sum_abs = 0;
  for (std::size_t r = 0; r < kRows; ++r) {
    S::dequantize_row(bytes + r * rb, kCols, y.data(), {}, r);
    for (std::size_t i = 0; i < kCols; ++i) {
      const float t = truth[r * kCols + i];
      sum_abs += std::fabs(y[i]);
      negative_zeros += std::bit_cast<std::uint32_t>(t) == 0x80000000u;
      if (std::bit_cast<std::uint32_t>(y[i]) != std::bit_cast<std::uint32_t>(t) && mismatches++ < 3)
        ADD_FAILURE() << S::name << " " << tensor << " row " << r << " col " << i << ": got " << y[i] << " truth " << t;
    }
  }
  EXPECT_EQ(mismatches, 0u);
  // The manifest's cheap checksum: sum of |x| over the tensor.
  EXPECT_NEAR(sum_abs, checksum, 1e-3);
  if (S::id == SchemeId::q6_K) {
    EXPECT_GT(negative_zeros, 0u) << "Q6_K truth holds -0.0 values";
  }

  // The scalar dot product on real weights: row r against a Q8_K-quantized activation.
  const auto x = test::random_floats(kCols, 17);
  std::vector<std::uint8_t> xq(row_bytes<Q8_K>(kCols));
  Q8_K::quantize_row(x.data(), kCols, xq.data(), {}, 0);
  std::vector<float> xd(kCols);
  Q8_K::dequantize_row(xq.data(), kCols, xd.data(), {}, 0);
  for (std::size_t r = 0; r < kRows; r += 9) {
    double exact = 0, abs_terms = 0;
    for (std::size_t i = 0; i < kCols; ++i) {
      exact += double(truth[r * kCols + i]) * xd[i];
      abs_terms += std::fabs(double(truth[r * kCols + i]) * xd[i]);
    }
    EXPECT_NEAR(S::vec_dot(kCols, bytes + r * rb, xq.data()), exact, 1e-5 * abs_terms) << S::name << " row " << r;
  }
}

TEST(GgufRealWeights, DevstralQ4_KDequantizesBitExact) {
  check_tensor<Q4_K>(95168, "blk.0.attn_k.weight", 1522.185791015625);
}

TEST(GgufRealWeights, DevstralQ6_KDequantizesBitExact) {
  check_tensor<Q6_K>(279488, "blk.0.attn_v.weight", 470.3573913574219);
}

TEST(GgufRealWeights, SliceSizesMatchTheFormats) {
  EXPECT_EQ(kRows * row_bytes<Q4_K>(kCols), 184320u);
  EXPECT_EQ(kRows * row_bytes<Q6_K>(kCols), 268800u);
}

}  // namespace
