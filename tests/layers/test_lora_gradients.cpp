// LoRA<Layer>::backward against central finite differences of a double-precision model of the
// forward (lora_reference.hpp), for every scheme family, fused and run-time-typed layers, LoRA,
// rsLoRA and DoRA (detached and exact norms), with dropout off and on (fixed seeds).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <string>

#include "lora_reference.hpp"
#include "test_util.hpp"

using namespace qlinear;
using Ref = cpu::ReferenceBackend;
using test::MatrixXd;

namespace {

RowMatrixXf gaussian(Eigen::Index r, Eigen::Index c, std::uint32_t seed, float scale = 1.0f) {
  auto v = test::random_floats(std::size_t(r * c), seed, scale, 0.0f);
  return Eigen::Map<RowMatrixXf>(v.data(), r, c);
}

double loss(const test::RefModel& m, const MatrixXd& X, const MatrixXd& G) {
  return (m.forward(X).array() * G.array()).sum();
}

using Coordinate = std::function<double&(test::RefModel&, MatrixXd&, Eigen::Index)>;

/// max |analytic − central difference| over sampled coordinates, relative to max |analytic|.
double fd_error(test::RefModel m, MatrixXd X, const MatrixXd& G, const Coordinate& at, Eigen::Index count,
                const float* analytic, std::uint32_t seed, std::string& worst) {
  std::vector<Eigen::Index> idx = {0, count - 1};
  std::mt19937 rng(seed);
  for (int i = 0; i < 22 && i < count; ++i) idx.push_back(Eigen::Index(rng() % std::uint32_t(count)));
  double scale = 1e-6;
  for (Eigen::Index i = 0; i < count; ++i) scale = std::max(scale, double(std::abs(analytic[i])));
  double err = 0;
  for (Eigen::Index i : idx) {
    double& v = at(m, X, i);
    const double v0 = v, h = 1e-3 * std::max(1.0, std::abs(v0));
    v = v0 + h;
    const double lp = loss(m, X, G);
    v = v0 - h;
    const double lm = loss(m, X, G);
    v = v0;
    const double fd = (lp - lm) / (2 * h);
    const double e = std::abs(fd - double(analytic[i])) / scale;
    if (e > err) err = e, worst = "index " + std::to_string(i) + ": analytic " + std::to_string(analytic[i]) +
                              ", finite difference " + std::to_string(fd);
  }
  return err;
}

constexpr double kTolerance = 2e-3;

/// One forward (training mode advances the dropout step) and one backward; checks the forward
/// against the model and every gradient (A, B, magnitude of each active target, and x).
template <class L>
void gradient_check(LoRA<L>& lora, std::size_t M, std::uint32_t seed) {
  const Eigen::Index K = Eigen::Index(lora.in_features()), N = Eigen::Index(lora.out_features());
  const RowMatrixXf x = gaussian(Eigen::Index(M), K, seed);
  const RowMatrixXf y = lora.forward(x);
  const test::RefModel ref = test::reference_of(lora, M);
  ASSERT_FALSE(ref.targets.empty());
  const MatrixXd X = x.cast<double>();
  const MatrixXd yref = ref.forward(X);
  EXPECT_LT((y.cast<double>() - yref).cwiseAbs().maxCoeff() / std::max(1e-9, yref.cwiseAbs().maxCoeff()), 1e-4);

  const RowMatrixXf g = gaussian(Eigen::Index(M), N, seed + 1);
  const MatrixXd G = g.cast<double>();
  lora.zero_grad();
  const RowMatrixXf dx = lora.backward(x, g);
  std::string worst;
  for (std::size_t ti = 0; ti < ref.targets.size(); ++ti) {
    const auto& t = ref.targets[ti];
    const LoraWeights& w = lora.weights(t.name, t.part);
    const std::string what = "adapter '" + t.name + "' part " + std::to_string(t.part);
    EXPECT_LT(fd_error(
                  ref, X, G, [ti](test::RefModel& m, MatrixXd&, Eigen::Index i) -> double& {
                    return m.targets[ti].A.data()[i];
                  },
                  t.A.size(), w.grad_A.data(), seed + 2, worst),
              kTolerance)
        << what << " dA " << worst;
    EXPECT_LT(fd_error(
                  ref, X, G, [ti](test::RefModel& m, MatrixXd&, Eigen::Index i) -> double& {
                    return m.targets[ti].B.data()[i];
                  },
                  t.B.size(), w.grad_B.data(), seed + 3, worst),
              kTolerance)
        << what << " dB " << worst;
    if (t.dora) {
      EXPECT_LT(fd_error(
                    ref, X, G, [ti](test::RefModel& m, MatrixXd&, Eigen::Index i) -> double& {
                      return m.targets[ti].m.data()[i];
                    },
                    t.m.size(), w.grad_magnitude.data(), seed + 4, worst),
                kTolerance)
          << what << " dm " << worst;
    }
  }
  EXPECT_LT(fd_error(
                ref, X, G, [](test::RefModel&, MatrixXd& Xm, Eigen::Index i) -> double& { return Xm.data()[i]; },
                X.size(), dx.data(), seed + 5, worst),
            kTolerance)
      << "dx " << worst;
}

/// Random B (and a magnitude away from the norms) so that no gradient vanishes at the start.
template <class L>
void perturb(LoRA<L>& lora, std::uint32_t seed) {
  for (const auto& name : lora.adapter_names())
    for (std::size_t p = 0; p < lora.num_parts(); ++p)
      if (lora.has_adapter_part(name, p)) {
        LoraWeights& w = lora.weights(name, p);
        w.B = gaussian(w.B.rows(), w.B.cols(), seed++, 0.5f);
        if (w.dora())
          w.magnitude.array() *= 1.0f + 0.3f * gaussian(w.magnitude.size(), 1, seed++).array().tanh();
      }
}

LoraConfig lora_cfg(std::size_t r, float dropout, bool rslora, std::uint64_t seed) {
  return LoraConfig{.r = r, .alpha = 2.0f * float(r), .use_rslora = rslora, .dropout = dropout, .seed = seed};
}
LoraConfig dora_cfg(std::size_t r, float dropout, bool exact, std::uint64_t seed) {
  return LoraConfig{.r = r, .alpha = 1.5f, .dropout = dropout, .use_dora = true, .dora_detach_norm = !exact,
                    .seed = seed};
}

/// Three layers over one base: LoRA + detached DoRA without dropout; rsLoRA + exact DoRA with
/// dropout; exact DoRA alone without dropout.
template <class L>
void check_all_variants(const L& base, std::uint32_t seed) {
  {
    SCOPED_TRACE("LoRA + DoRA (detached norm), no dropout");
    LoRA<L> lora(base);
    lora.add_adapter("a", lora_cfg(3, 0.0f, false, seed));
    lora.add_adapter("d", dora_cfg(2, 0.0f, false, seed + 1));
    lora.set_active_adapters({"a", "d"});
    perturb(lora, seed);
    gradient_check(lora, 3, seed + 10);
  }
  {
    SCOPED_TRACE("rsLoRA + DoRA (exact norm), dropout 0.25");
    LoRA<L> lora(base);
    lora.add_adapter("a", lora_cfg(3, 0.25f, true, seed + 2));
    lora.add_adapter("d", dora_cfg(2, 0.25f, true, seed + 3));
    lora.set_active_adapters({"a", "d"});
    perturb(lora, seed + 20);
    gradient_check(lora, 4, seed + 30);
    gradient_check(lora, 4, seed + 40);  // a second step: new masks, same checks
  }
  {
    SCOPED_TRACE("DoRA (exact norm) alone, no dropout");
    LoRA<L> lora(base, dora_cfg(4, 0.0f, true, seed + 4));
    perturb(lora, seed + 50);
    gradient_check(lora, 2, seed + 60);
  }
}

template <class S>
void check_scheme(std::uint32_t seed) {
  SCOPED_TRACE(std::string(S::name));
  const std::size_t n = 6, k = 256;
  const RowMatrixXf w = gaussian(n, k, seed, 0.2f);
  const auto bias = test::random_floats(n, seed + 1, 0.5f, 0.0f);
  check_all_variants(QuantizedLinear<Ref, S>::from_float(w.data(), n, k, bias), seed + 2);
}

}  // namespace

TEST(LoraGradients, DenseF32) { check_scheme<DenseF32>(100); }
TEST(LoraGradients, Q4_K) { check_scheme<Q4_K>(200); }
TEST(LoraGradients, Q8_0) { check_scheme<Q8_0>(300); }
TEST(LoraGradients, Int8PerChannel) { check_scheme<Int8PerChannel>(400); }
TEST(LoraGradients, Int4G32) { check_scheme<Int4G32>(500); }
TEST(LoraGradients, NF4) { check_scheme<NF4>(600); }

TEST(LoraGradients, AnyLinearAtRunTime) {
  const std::size_t n = 5, k = 256;
  const RowMatrixXf w = gaussian(n, k, 700, 0.2f);
  check_all_variants(AnyLinear<Ref>::from_float(SchemeId::q6_K, w.data(), n, k), 701);
}

TEST(LoraGradients, FusedPartsInDifferentSchemes) {
  const std::size_t k = 256;
  const RowMatrixXf wq = gaussian(6, k, 800, 0.2f), wk = gaussian(4, k, 801, 0.2f), wv = gaussian(5, k, 802, 0.2f);
  const auto bv = test::random_floats(5, 803, 0.5f, 0.0f);
  const FusedLinear<Ref> qkv({AnyLinear<Ref>::from_float(SchemeId::q5_K, wq.data(), 6, k),
                              AnyLinear<Ref>::from_float(SchemeId::q4_0, wk.data(), 4, k),
                              AnyLinear<Ref>::from_float(SchemeId::int4_g64_affine, wv.data(), 5, k, bv)});
  check_all_variants(qkv, 804);
  {
    SCOPED_TRACE("adapters on some parts only, dropout 0.3");
    LoRA<FusedLinear<Ref>> lora(qkv);
    lora.add_adapter("a", lora_cfg(3, 0.3f, false, 805), {0, 2});
    lora.add_adapter("d", dora_cfg(2, 0.3f, true, 806), {1, 2});
    lora.set_active_adapters({"d", "a"});
    perturb(lora, 807);
    gradient_check(lora, 3, 808);
  }
}
