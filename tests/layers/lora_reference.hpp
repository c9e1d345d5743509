#pragma once
// A double-precision model of LoRA<Layer>::forward written from the formulas (not from the
// layer's code): the oracle for the forward tests and the function the gradient checks
// differentiate by central finite differences.

#include <Eigen/Core>
#include <optional>
#include <string>
#include <vector>

#include "qlinear/qlinear.hpp"
#include "qlinear/layers/lora.hpp"

namespace qlinear::test {

using MatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// One adapter on one part, in double.
struct RefTarget {
  std::string name;
  std::size_t part = 0, offset = 0, rows = 0;  // part index, first output column, part out_features
  double scaling = 1;
  bool dora = false;
  bool detach = true;
  MatrixXd A, B;              // [r×K], [n×r]
  Eigen::VectorXd m;          // DoRA magnitude
  MatrixXd mask;              // dropout factors [M×K] (ones when no dropout)
  Eigen::VectorXd fixed_norm; // detached DoRA: the norms at the point of differentiation
};

/// The whole layer in double: W [N×K] (dequantized base), bias, the active targets.
struct RefModel {
  MatrixXd W;
  Eigen::VectorXd bias;  // zeros when none
  std::vector<RefTarget> targets;

  Eigen::VectorXd norms(const RefTarget& t) const {
    const MatrixXd V = W.middleRows(Eigen::Index(t.offset), Eigen::Index(t.rows)) + t.scaling * t.B * t.A;
    return V.rowwise().norm();
  }

  MatrixXd forward(const MatrixXd& X) const {
    MatrixXd Y = X * W.transpose();
    Y.rowwise() += bias.transpose();
    for (const auto& t : targets) {
      const MatrixXd Xd = X.cwiseProduct(t.mask);
      const MatrixXd L = t.scaling * (Xd * t.A.transpose()) * t.B.transpose();
      auto Yp = Y.middleCols(Eigen::Index(t.offset), Eigen::Index(t.rows));
      if (!t.dora) {
        Yp += L;
        continue;
      }
      const Eigen::VectorXd n = t.detach ? t.fixed_norm : norms(t);
      const Eigen::VectorXd c = t.m.cwiseQuotient(n);
      const MatrixXd Z = Xd * W.middleRows(Eigen::Index(t.offset), Eigen::Index(t.rows)).transpose();
      Yp += Z * (c.array() - 1.0).matrix().asDiagonal();
      Yp += L * c.asDiagonal();
    }
    return Y;
  }
};

/// The reference of a LoRA layer's current state: its dequantized base, bias and active
/// adapters, with the dropout masks of its current step when it is in training mode.
template <class L>
RefModel reference_of(const LoRA<L>& lora, std::size_t rows) {
  RefModel m;
  m.W = lora.base().dequantize().template cast<double>();
  const auto b = detail::bias_vector(lora.base());
  m.bias = Eigen::VectorXd::Zero(Eigen::Index(lora.out_features()));
  for (std::size_t i = 0; i < b.size(); ++i) m.bias[Eigen::Index(i)] = b[i];
  if (!lora.adapters_enabled()) return m;
  for (const auto& name : lora.active_adapters())
    for (std::size_t p = 0; p < lora.num_parts(); ++p) {
      if (!lora.has_adapter_part(name, p)) continue;
      const LoraWeights& w = lora.weights(name, p);
      RefTarget t;
      t.name = name;
      t.part = p;
      t.offset = lora.part_offset(p);
      t.rows = lora.part_out(p);
      t.scaling = w.scaling;
      t.dora = w.dora();
      t.detach = w.config.dora_detach_norm;
      t.A = w.A.template cast<double>();
      t.B = w.B.template cast<double>();
      if (t.dora) t.m = w.magnitude.template cast<double>();
      t.mask = (lora.is_training() && w.config.dropout > 0 ? lora.dropout_mask(name, p, rows)
                                                            : RowMatrixXf::Ones(Eigen::Index(rows),
                                                                                Eigen::Index(lora.in_features())))
                   .template cast<double>();
      m.targets.push_back(std::move(t));
      if (m.targets.back().dora) m.targets.back().fixed_norm = m.norms(m.targets.back());
    }
  return m;
}

}  // namespace qlinear::test
