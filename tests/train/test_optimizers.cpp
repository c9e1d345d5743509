// Optimizers, clipping and the learning-rate schedule against steps computed by hand (the
// AdamW figures with Python floats from the formula in torch.optim.AdamW's documentation).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "qlinear/layers/lora.hpp"
#include "qlinear/qlinear.hpp"
#include "qlinear/train/adamw.hpp"
#include "qlinear/train/clip.hpp"
#include "qlinear/train/lr_schedule.hpp"
#include "qlinear/train/sgd.hpp"

using namespace qlinear;
using namespace qlinear::train;

namespace {
/// One scalar parameter with its gradient, held by the test.
struct Scalar {
  float value, grad = 0.0f;
  std::vector<Parameter> params() { return {Parameter{"p", {&value, 1}, {&grad, 1}, {1}}}; }
};
}  // namespace

TEST(SGD, PlainStepAndWeightDecay) {
  Scalar a{1.0f}, b{-2.0f};
  auto params = a.params();
  append(params, b.params());
  SGD opt(params, {.lr = 0.1});
  a.grad = 0.5f, b.grad = 0.25f;
  opt.step();
  EXPECT_FLOAT_EQ(a.value, 0.95f);
  EXPECT_FLOAT_EQ(b.value, -2.025f);
  EXPECT_EQ(opt.steps(), 1u);
  opt.zero_grad();
  EXPECT_EQ(a.grad, 0.0f);
  EXPECT_EQ(b.grad, 0.0f);

  Scalar c{1.0f};
  SGD wd(c.params(), {.lr = 0.1, .weight_decay = 0.1});
  c.grad = 0.5f;
  wd.step();  // g = 0.5 + 0.1·1 = 0.6
  EXPECT_FLOAT_EQ(c.value, 0.94f);
}

TEST(SGD, MomentumDampeningNesterov) {
  Scalar a{1.0f};
  SGD mom(a.params(), {.lr = 0.1, .momentum = 0.9});
  a.grad = 0.5f;
  mom.step();  // b = 0.5
  EXPECT_FLOAT_EQ(a.value, 0.95f);
  a.grad = 0.25f;
  mom.step();  // b = 0.9·0.5 + 0.25 = 0.7
  EXPECT_FLOAT_EQ(a.value, 0.88f);

  Scalar d{1.0f};
  SGD damp(d.params(), {.lr = 0.1, .momentum = 0.9, .dampening = 0.5});
  d.grad = 0.5f;
  damp.step();  // the first buffer is the gradient itself
  EXPECT_FLOAT_EQ(d.value, 0.95f);
  d.grad = 0.25f;
  damp.step();  // b = 0.45 + 0.5·0.25 = 0.575
  EXPECT_FLOAT_EQ(d.value, 0.8925f);

  Scalar n{1.0f};
  SGD nest(n.params(), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  n.grad = 0.5f;
  nest.step();  // b = 0.5, g = 0.5 + 0.9·0.5 = 0.95
  EXPECT_FLOAT_EQ(n.value, 0.905f);
  n.grad = 0.25f;
  nest.step();  // b = 0.7, g = 0.25 + 0.63 = 0.88
  EXPECT_FLOAT_EQ(n.value, 0.817f);

  EXPECT_THROW(SGD(n.params(), {.nesterov = true}), Error);
  EXPECT_THROW(SGD(n.params(), {.momentum = 0.9, .dampening = 0.1, .nesterov = true}), Error);
  EXPECT_THROW(SGD(n.params(), {.lr = -1}), Error);
  EXPECT_THROW(SGD(n.params(), {.momentum = 1.0}), Error);
}

TEST(AdamW, BiasCorrectedStepsWithDecoupledDecay) {
  Scalar a{1.0f};
  AdamW opt(a.params(), {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1});
  // Step 1: p = 0.99 − 0.1·0.5/(0.5 + 1e-8): bias correction makes the first step lr·sign(g).
  a.grad = 0.5f;
  opt.step();
  EXPECT_FLOAT_EQ(a.value, 0.890000002f);
  a.grad = -0.25f;
  opt.step();
  EXPECT_FLOAT_EQ(a.value, 0.8544662986878463f);
  a.grad = 1.0f;
  opt.step();
  EXPECT_FLOAT_EQ(a.value, 0.7801104766702113f);
  EXPECT_EQ(opt.steps(), 3u);

  // Weight decay is decoupled: with a zero gradient only the decay acts (m = v = 0 → no step).
  Scalar z{2.0f};
  AdamW decay(z.params(), {.lr = 0.5, .weight_decay = 0.2});
  decay.step();
  EXPECT_FLOAT_EQ(z.value, 2.0f * (1.0f - 0.5f * 0.2f));
  decay.set_lr(0.0);
  decay.step();
  EXPECT_FLOAT_EQ(z.value, 1.8f);

  EXPECT_THROW(AdamW(a.params(), {.beta1 = 1.0}), Error);
  EXPECT_THROW(AdamW(a.params(), {.eps = 0.0}), Error);
  EXPECT_THROW(decay.set_lr(std::numeric_limits<double>::quiet_NaN()), Error);
  std::vector<Parameter> mismatched{Parameter{"bad", {&a.value, 1}, {}, {1}}};
  EXPECT_THROW(AdamW(mismatched, {}), Error);
}

TEST(ClipGradNorm, ScalesToTheGlobalNorm) {
  Scalar a{0.0f}, b{0.0f};
  auto params = a.params();
  append(params, b.params());
  a.grad = 3.0f, b.grad = 4.0f;
  EXPECT_DOUBLE_EQ(clip_grad_norm(params, 10.0), 5.0);  // below the limit: unchanged
  EXPECT_EQ(a.grad, 3.0f);
  EXPECT_DOUBLE_EQ(clip_grad_norm(params, 1.0), 5.0);
  EXPECT_FLOAT_EQ(a.grad, float(3.0 / (5.0 + 1e-6)));
  EXPECT_FLOAT_EQ(b.grad, float(4.0 / (5.0 + 1e-6)));
  EXPECT_NEAR(std::hypot(a.grad, b.grad), 1.0, 1e-6);
  b.grad = std::numeric_limits<float>::quiet_NaN();
  try {
    clip_grad_norm(params, 1.0);
    ADD_FAILURE() << "a NaN gradient must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'p'"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(std::isnan(clip_grad_norm(params, 1.0, false)));
  EXPECT_THROW(clip_grad_norm(params, 0.0), Error);
}

TEST(WarmupCosine, WarmUpThenCosineToTheFloor) {
  const WarmupCosine lr{.base_lr = 1.0, .warmup_steps = 4, .total_steps = 12, .min_lr = 0.1};
  EXPECT_DOUBLE_EQ(lr(0), 0.25);
  EXPECT_DOUBLE_EQ(lr(1), 0.5);
  EXPECT_DOUBLE_EQ(lr(3), 1.0);
  EXPECT_DOUBLE_EQ(lr(4), 1.0);
  EXPECT_NEAR(lr(6), 0.8681980515339464, 1e-15);  // 0.1 + 0.45·(1 + cos(π/4))
  EXPECT_NEAR(lr(8), 0.55, 1e-15);
  EXPECT_DOUBLE_EQ(lr(12), 0.1);
  EXPECT_DOUBLE_EQ(lr(1000), 0.1);
  for (std::size_t t = 4; t < 12; ++t) EXPECT_GT(lr(t), lr(t + 1));
  const WarmupCosine none{.base_lr = 2.0, .warmup_steps = 0, .total_steps = 10};
  EXPECT_DOUBLE_EQ(none(0), 2.0);
  EXPECT_THROW((WarmupCosine{.base_lr = 1.0, .warmup_steps = 5, .total_steps = 4})(0), Error);
  EXPECT_THROW((WarmupCosine{.base_lr = 1.0, .min_lr = 2.0})(0), Error);
}

TEST(Optimizers, AdamWTrainsALoraLayerTowardsATarget) {
  // A least-squares fit: learn y_target = base(x) + (a fixed rank-2 change) with a rank-2 adapter.
  using Ref = cpu::ReferenceBackend;
  const std::size_t n = 8, k = 64, m = 32;
  RowMatrixXf w = RowMatrixXf::Random(n, k) * 0.1f;
  LoRA lora(QuantizedLinear<Ref, Q8_0>::from_float(w.data(), n, k), LoraConfig{.r = 2, .alpha = 2, .seed = 3});
  const RowMatrixXf x = RowMatrixXf::Random(m, k);
  const RowMatrixXf delta = (RowMatrixXf::Random(n, 2) * RowMatrixXf::Random(2, k)) * 0.2f;
  const RowMatrixXf target = lora.base().forward(x) + x * delta.transpose();
  AdamW opt(lora.parameters(), {.lr = 0.02, .weight_decay = 0.0});
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    const RowMatrixXf y = lora.forward(x);
    const RowMatrixXf dy = (y - target) / float(m);
    const double l = 0.5 * (y - target).squaredNorm() / double(m);
    if (step == 0) first = l;
    last = l;
    opt.zero_grad();
    lora.backward_params(x, dy);
    opt.step();
  }
  EXPECT_LT(last, first * 1e-3) << "first " << first << " last " << last;
}
