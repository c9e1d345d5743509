// libFuzzer target: PEFT adapter folders over arbitrary bytes. An input is a little-endian
// uint32 length L, L bytes of adapter_config.json, then adapter_model.safetensors. Every input
// must either load or throw qlinear::Error; for adapters that load, each small module is applied
// to a LoRA layer of its shape and run forward once.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "qlinear/backends/cpu/reference.hpp"
#include "qlinear/io/peft.hpp"
#include "qlinear/layers/lora.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qlinear;
  if (size < 4) return 0;
  std::uint32_t n = 0;
  std::memcpy(&n, data, 4);
  if (n > size - 4) return 0;
  const std::string_view config(reinterpret_cast<const char*>(data + 4), n);
  try {
    const auto file = io::SafetensorsFile::from_bytes(std::span<const std::uint8_t>(data + 4 + n, size - 4 - n));
    const auto adapter = io::PeftAdapter::parse(config, file, "fuzz");
    for (const auto& [name, m] : adapter.modules) {
      const std::size_t in = std::size_t(m.A.cols()), out = std::size_t(m.B.rows());
      if (in * out > (1u << 16)) continue;
      std::vector<float> w(in * out, 0.5f);
      LoRA<QuantizedLinear<cpu::ReferenceBackend, DenseF32>> layer(
          QuantizedLinear<cpu::ReferenceBackend, DenseF32>::from_float(w.data(), out, in));
      adapter.apply(name, layer);
      layer.eval();
      (void)layer.forward(RowMatrixXf::Ones(1, Eigen::Index(in)));
    }
  } catch (const qlinear::Error&) {
  }
  return 0;
}
