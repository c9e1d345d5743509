// Fuzzes the run-time-typed dequantizer: the first bytes choose a scheme id (any value, known
// or not) and a row length; the rest are that scheme's row bytes. Every input must either
// decode or throw qlinear::Error: no crash, no read outside the buffer, no undefined behaviour.
#include <qlinear/schemes/registry.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 8) return 0;
  std::uint32_t id_raw = 0, cols_raw = 0;
  std::memcpy(&id_raw, data, 4);
  std::memcpy(&cols_raw, data + 4, 4);
  // Mostly real ids (a GGUF type number or one of ours), sometimes anything.
  static constexpr std::uint32_t ids[] = {0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 20, 23, 30,
                                          1000, 1001, 1002, 1003, 1010, 1011, 1012, 1013, 1014, 1015, 1020, 1021};
  const std::uint32_t id = (id_raw & 0x80000000u) ? id_raw : ids[id_raw % (sizeof ids / sizeof ids[0])];
  const std::size_t cols = cols_raw % 4097;
  const std::span<const std::uint8_t> bytes(data + 8, size - 8);
  try {
    const auto scheme = static_cast<qlinear::SchemeId>(id);
    const std::size_t row = qlinear::scheme_row_bytes(scheme, cols);
    const std::size_t rows = row ? bytes.size() / row : 0;
    std::vector<float> out(rows * cols);
    // Whole rows decode; a length that is not whole rows must be rejected.
    qlinear::dequantize_rows(scheme, bytes.first(rows * row), rows, cols, out.data());
    if (bytes.size() != rows * row) qlinear::dequantize_rows(scheme, bytes, rows, cols, out.data());
  } catch (const qlinear::Error&) {
  }
  return 0;
}
