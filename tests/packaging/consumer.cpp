// A consumer of the installed (or fetched) package: quantizes a small layer and runs it.
#include <qlinear/qlinear.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
  std::vector<float> w(16 * 64);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::sin(float(i) * 0.37f);
  auto layer = qlinear::QuantizedLinear<qlinear::cpu::ReferenceBackend, qlinear::Q8_0>::from_float(w.data(), 16, 64);
  qlinear::RowMatrixXf x = qlinear::RowMatrixXf::Ones(2, 64);
  qlinear::RowMatrixXf y = layer.forward(x);
  double expected = 0;
  for (int k = 0; k < 64; ++k) expected += w[k];
  std::printf("y(0,0) = %f, expected about %f\n", y(0, 0), expected);
  return std::abs(y(0, 0) - expected) < 0.05 ? 0 : 1;
}
