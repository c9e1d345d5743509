#include <gtest/gtest.h>

#include <vector>

#include "qlinear/core/aligned_buffer.hpp"
#include "qlinear/core/matrix_view.hpp"

using namespace qlinear;

TEST(MatrixView, SlicesShareMemoryAndCheckBounds) {
  std::vector<float> m(3 * 5);
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = float(i);
  MatrixView<float> v(m.data(), 3, 5);
  auto cols = v.col_slice(1, 3);
  EXPECT_EQ(cols(2, 0), 11.0f);
  EXPECT_EQ(cols.stride, 5u);
  auto rows = v.row_slice(1, 2);
  EXPECT_EQ(rows(0, 4), 9.0f);
  EXPECT_THROW(v.col_slice(3, 3), Error);
  EXPECT_THROW(v.row_slice(2, 2), Error);
  EXPECT_THROW(MatrixView<float>(m.data(), 3, 5, 4), Error);
  ConstMatrixView<float> c = v;
  EXPECT_EQ(c(1, 1), 6.0f);
}

TEST(AlignedBuffer, IsAlignedZeroedAndCopies) {
  AlignedBuffer<std::uint8_t> b(100);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % 64, 0u);
  for (auto x : b) EXPECT_EQ(x, 0);
  b[3] = 7;
  AlignedBuffer<std::uint8_t> c = b;
  EXPECT_EQ(c[3], 7);
  EXPECT_NE(c.data(), b.data());
  AlignedBuffer<float> empty;
  EXPECT_TRUE(empty.empty());
}

TEST(Error, CheckFormatsTheValues) {
  try {
    check(false, "bias has ", 3, " values, expected ", 4);
    FAIL() << "check did not throw";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "bias has 3 values, expected 4");
  }
}
