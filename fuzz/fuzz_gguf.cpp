// libFuzzer target: the GGUF reader over arbitrary bytes. Every input must either parse or
// throw qlinear::Error; for files that parse, every tensor is dequantized (bounded in size) and
// loaded as a layer where it can be one, so the views the reader hands out are exercised too.

#include <cstddef>
#include <cstdint>
#include <span>

#include "qlinear/backends/cpu/reference.hpp"
#include "qlinear/io/gguf.hpp"
#include "qlinear/io/gguf_layers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto file = qlinear::io::GgufFile::from_bytes(std::span<const std::uint8_t>(data, size));
    for (const auto& kv : file.metadata()) (void)file.find(kv.key);
    for (const auto& t : file.tensors()) {
      if (t.numel() > (1u << 16)) continue;  // keep each run fast; sizes were validated anyway
      try {
        (void)qlinear::io::dequantize(t);
      } catch (const qlinear::Error&) {
      }
      try {
        const auto layer = qlinear::io::load_linear<qlinear::cpu::ReferenceBackend>(file, t.name);
        (void)layer.out_features();
      } catch (const qlinear::Error&) {
      }
    }
  } catch (const qlinear::Error&) {
  }
  return 0;
}
