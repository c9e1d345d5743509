// Two translation units include the umbrella header and both use the library: linking them
// together fails if any function in a header is not inline.
#include <qlinear/qlinear.hpp>

float run_in_b();

static float run_in_a() {
  std::vector<float> w(4 * 32, 0.25f);
  auto layer = qlinear::QuantizedLinear<qlinear::cpu::ReferenceBackend, qlinear::Q8_0>::from_float(w.data(), 4, 32);
  qlinear::RowMatrixXf x = qlinear::RowMatrixXf::Ones(1, 32);
  return layer.forward(x)(0, 0);
}

int main() { return (run_in_a() == run_in_b() && run_in_a() != 0.0f) ? 0 : 1; }
