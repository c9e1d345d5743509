// The README's usage example, compiled so that it stays true.
#include <qlinear/qlinear.hpp>
#include <vector>

int main() {
  using namespace qlinear;
  const std::size_t out = 4096, in = 4096;
  std::vector<float> w(out * in, 0.01f), bias(out, 0.0f);     // row-major [out × in]

  // Quantize once (Q4_K: 4.5 bits per weight), keep the bias in f32.
  auto layer = QuantizedLinear<cpu::ReferenceBackend, Q4_K>::from_float(w.data(), out, in, bias);

  RowMatrixXf x = RowMatrixXf::Random(8, in);                  // [M × K] activations
  RowMatrixXf y = layer.forward(x);                           // [M × N]

  // A scheme known only at run time (a GGUF tensor's type) and fused projections:
  AnyLinear<cpu::ReferenceBackend> v = AnyLinear<cpu::ReferenceBackend>::from_float(
      SchemeId::q6_K, w.data(), out, in);
  FusedLinear<cpu::ReferenceBackend> qv({layer, v});          // y = [x·Wqᵀ | x·Wvᵀ], one call
  RowMatrixXf y2 = qv.forward(x);
  return layer.bits_per_weight() == 4.5 && y2.cols() == 8192 ? 0 : 1;
}
