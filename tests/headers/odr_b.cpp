#include <qlinear/qlinear.hpp>

float run_in_b() {
  std::vector<float> w(4 * 32, 0.25f);
  auto layer = qlinear::QuantizedLinear<qlinear::cpu::ReferenceBackend, qlinear::Q8_0>::from_float(w.data(), 4, 32);
  qlinear::RowMatrixXf x = qlinear::RowMatrixXf::Ones(1, 32);
  return layer.forward(x)(0, 0);
}
