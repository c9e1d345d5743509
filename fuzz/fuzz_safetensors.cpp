// libFuzzer target: the safetensors reader over arbitrary bytes. Every input must either parse
// or throw qlinear::Error; for files that parse, each tensor is converted to floats and every
// prefix is tried as a quantized layer (the documented naming), exercising the shape checks.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "qlinear/backends/cpu/reference.hpp"
#include "qlinear/io/safetensors.hpp"
#include "qlinear/io/safetensors_layers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto file = qlinear::io::SafetensorsFile::from_bytes(std::span<const std::uint8_t>(data, size));
    for (const auto& t : file.tensors()) {
      if (t.numel() <= (1u << 16)) (void)t.to_floats();
      const auto dot = t.name.rfind('.');
      if (dot == std::string::npos) continue;
      try {
        const auto layer = qlinear::io::load_linear<qlinear::cpu::ReferenceBackend>(file, t.name.substr(0, dot));
        if (layer.out_features() * layer.in_features() <= (1u << 16)) (void)layer.dequantize();
      } catch (const qlinear::Error&) {
      }
    }
  } catch (const qlinear::Error&) {
  }
  return 0;
}
