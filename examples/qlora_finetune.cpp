// QLoRA in C++: fine-tune LoRA adapters over a frozen 4-bit (Q4_K or NF4) network until it
// reproduces a teacher whose answer is known: the same quantized base plus a fixed random
// low-rank correction of every layer (the change a rank-r adapter can represent exactly).
//
//   x ─ L1 (width) ─ SiLU ─ L2 (width) ─ SiLU ─ L3 (out) ─ y        two hidden layers
//
// Prints the training loss per step and the loss on a held-out batch before and after.
// Usage: qlora_finetune [--width 1024] [--out 256] [--steps 400] [--batch 64] [--rank 8]
//                       [--teacher-rank 4] [--lr 0.01] [--scheme q4_K|nf4] [--dropout 0]
//                       [--alpha-ratio 2 (alpha = ratio·r)] [--lr-b-ratio 1 (LoRA+)]
//                       [--seed 1] [--print-every 1] [--check-factor F]
// Without the fast CPU backend (cpu::Backend) the scalar reference runs the base: the default
// 1024-wide run then takes minutes; `--width 256 --steps 120 --lr 0.02` takes seconds.
// With --check-factor F it exits with status 1 unless the held-out loss fell by at least F×.

#include <qlinear/qlinear.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#if __has_include(<qlinear/backends/cpu/backend.hpp>)
#include <qlinear/backends/cpu/backend.hpp>
using Backend = qlinear::cpu::Backend;
constexpr const char* kBackendName = "cpu::Backend";
#else
using Backend = qlinear::cpu::ReferenceBackend;
constexpr const char* kBackendName = "cpu::ReferenceBackend (the fast CPU backend is not in this build)";
#endif

using namespace qlinear;
using Linear = AnyLinear<Backend>;  // the scheme is chosen on the command line

namespace {

struct Args {
  std::size_t width = 1024, out = 256, steps = 400, batch = 64, rank = 8, teacher_rank = 4, print_every = 1;
  double lr = 1e-2, check_factor = 0, dropout = 0, alpha_ratio = 2, lr_b_ratio = 1;
  std::string scheme = "q4_K";
  unsigned seed = 1;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--width") a.width = std::stoul(next());
    else if (k == "--out") a.out = std::stoul(next());
    else if (k == "--steps") a.steps = std::stoul(next());
    else if (k == "--batch") a.batch = std::stoul(next());
    else if (k == "--rank") a.rank = std::stoul(next());
    else if (k == "--teacher-rank") a.teacher_rank = std::stoul(next());
    else if (k == "--print-every") a.print_every = std::stoul(next());
    else if (k == "--lr") a.lr = std::stod(next());
    else if (k == "--dropout") a.dropout = std::stod(next());
    else if (k == "--alpha-ratio") a.alpha_ratio = std::stod(next());
    else if (k == "--lr-b-ratio") a.lr_b_ratio = std::stod(next());
    else if (k == "--check-factor") a.check_factor = std::stod(next());
    else if (k == "--scheme") a.scheme = next();
    else if (k == "--seed") a.seed = unsigned(std::stoul(next()));
    else {
      std::fprintf(stderr, "unknown option %s (see the comment at the top of qlora_finetune.cpp)\n", k.c_str());
      std::exit(2);
    }
  }
  if (a.width % 256 || a.out % 256) {
    std::fprintf(stderr, "--width and --out must be multiples of 256 (the k-quant block)\n");
    std::exit(2);
  }
  return a;
}

RowMatrixXf gaussian(Eigen::Index r, Eigen::Index c, double stddev, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, float(stddev));
  RowMatrixXf m(r, c);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = d(rng);
  return m;
}

float silu(float z) { return z / (1.0f + std::exp(-z)); }
float silu_grad(float z) {
  const float s = 1.0f / (1.0f + std::exp(-z));
  return s * (1.0f + z * (1.0f - s));
}

/// One layer of the teacher: dense f32 weights = dequantized student base + U·V.
struct TeacherLayer {
  RowMatrixXf W;
  Eigen::VectorXf b;
  RowMatrixXf forward(const RowMatrixXf& x) const {
    RowMatrixXf y = x * W.transpose();
    y.rowwise() += b.transpose();
    return y;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // one line per step, also into a pipe or a log
  const Args args = parse(argc, argv);
  const SchemeId scheme = scheme_from_name(args.scheme);
  std::mt19937 rng(args.seed);
  const std::size_t dims[4] = {args.width, args.width, args.width, args.out};

  // The frozen quantized base, and the teacher: the same base plus a low-rank correction sized
  // to change each layer's output by about half its norm.
  std::vector<LoRA<Linear>> student;
  std::vector<TeacherLayer> teacher;
  for (int l = 0; l < 3; ++l) {
    const std::size_t in = dims[l], out = dims[l + 1];
    const RowMatrixXf w = gaussian(Eigen::Index(out), Eigen::Index(in), 1.0 / std::sqrt(double(in)), rng);
    const RowMatrixXf bias = gaussian(Eigen::Index(out), 1, 0.1, rng);
    Linear base = Linear::from_float(scheme, w.data(), out, in, std::span<const float>(bias.data(), out));
    const RowMatrixXf U = gaussian(Eigen::Index(out), Eigen::Index(args.teacher_rank),
                                   0.5 / std::sqrt(double(args.teacher_rank)), rng);
    const RowMatrixXf V = gaussian(Eigen::Index(args.teacher_rank), Eigen::Index(in), 1.0 / std::sqrt(double(in)), rng);
    teacher.push_back({base.dequantize() + U * V, Eigen::Map<const Eigen::VectorXf>(bias.data(), Eigen::Index(out))});
    student.emplace_back(std::move(base), LoraConfig{.r = args.rank, .alpha = float(args.alpha_ratio * double(args.rank)),
                                                     .dropout = float(args.dropout), .seed = args.seed + unsigned(l)});
  }
  std::printf("QLoRA: %s base, widths %zu-%zu-%zu-%zu, LoRA r=%zu on every layer, teacher rank %zu, backend %s\n",
              args.scheme.c_str(), dims[0], dims[1], dims[2], dims[3], args.rank, args.teacher_rank, kBackendName);
  std::size_t trainable = 0, total = 0, base_bytes = 0;
  for (const auto& s : student)
    trainable += s.trainable_params_count(), total += s.num_parameters(), base_bytes += s.base().memory_bytes();
  std::printf("trainable parameters %zu of %zu (%.2f%%); frozen base %.2f MiB at %.3f bits/weight\n", trainable,
              total, 100.0 * double(trainable) / double(total), double(base_bytes) / 1048576.0,
              student[0].base().bits_per_weight());

  auto teacher_forward = [&](const RowMatrixXf& x) {
    RowMatrixXf h = x;
    for (int l = 0; l < 3; ++l) {
      h = teacher[std::size_t(l)].forward(h);
      if (l < 2) h = h.unaryExpr(&silu);
    }
    return h;
  };
  auto mse = [](const RowMatrixXf& a, const RowMatrixXf& b) { return double((a - b).squaredNorm()) / double(a.size()); };
  auto student_forward = [&](const RowMatrixXf& x) {
    RowMatrixXf h = x;
    for (int l = 0; l < 3; ++l) {
      h = student[std::size_t(l)].forward(h);
      if (l < 2) h = h.unaryExpr(&silu);
    }
    return h;
  };
  auto held_out_loss = [&](const RowMatrixXf& x, const RowMatrixXf& t) {
    for (auto& s : student) s.eval();
    const double l = mse(student_forward(x), t);
    for (auto& s : student) s.train();
    return l;
  };

  const RowMatrixXf x_val = gaussian(Eigen::Index(4 * args.batch), Eigen::Index(args.width), 1.0, rng);
  const RowMatrixXf t_val = teacher_forward(x_val);
  const double start = held_out_loss(x_val, t_val);
  std::printf("held-out loss before: %.6g\n", start);

  std::vector<Parameter> params, params_a, params_b;
  for (auto& s : student) append(params, s.parameters());
  for (const auto& p : params) (p.name.find("lora_B") != std::string::npos ? params_b : params_a).push_back(p);
  // LoRA+ (Hayou et al.): B may learn faster than A (--lr-b-ratio); 1 is plain LoRA.
  train::AdamW opt(params_a, {.lr = args.lr, .weight_decay = 0.0});
  train::AdamW opt_b(params_b, {.lr = args.lr * args.lr_b_ratio, .weight_decay = 0.0});
  const train::WarmupCosine schedule{.base_lr = args.lr, .warmup_steps = std::max<std::size_t>(1, args.steps / 20),
                                     .total_steps = args.steps, .min_lr = args.lr * 0.05};
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t step = 0; step < args.steps; ++step) {
    const RowMatrixXf x = gaussian(Eigen::Index(args.batch), Eigen::Index(args.width), 1.0, rng);
    const RowMatrixXf target = teacher_forward(x);
    // Forward, keeping the pre-activations for the backward pass.
    const RowMatrixXf a1 = student[0].forward(x);
    const RowMatrixXf h1 = a1.unaryExpr(&silu);
    const RowMatrixXf a2 = student[1].forward(h1);
    const RowMatrixXf h2 = a2.unaryExpr(&silu);
    const RowMatrixXf y = student[2].forward(h2);
    const double loss = mse(y, target);
    // Backward: dL/dy, then through each layer (dx runs over the quantized weights).
    const RowMatrixXf dy = (2.0f / float(y.size())) * (y - target);
    opt.zero_grad();
    opt_b.zero_grad();
    const RowMatrixXf dh2 = student[2].backward(h2, dy);
    const RowMatrixXf da2 = dh2.cwiseProduct(a2.unaryExpr(&silu_grad));
    const RowMatrixXf dh1 = student[1].backward(h1, da2);
    const RowMatrixXf da1 = dh1.cwiseProduct(a1.unaryExpr(&silu_grad));
    student[0].backward_params(x, da1);
    const double gnorm = train::clip_grad_norm(params, 1.0);
    opt.set_lr(schedule(step));
    opt_b.set_lr(schedule(step) * args.lr_b_ratio);
    opt.step();
    opt_b.step();
    if (args.print_every && (step % args.print_every == 0 || step + 1 == args.steps))
      std::printf("step %4zu  loss %.6g  grad-norm %.3g  lr %.3g\n", step, loss, gnorm, opt.lr());
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double end = held_out_loss(x_val, t_val);
  const double factor = start / end;
  std::printf("held-out loss after %zu steps: %.6g (fell %.1fx) in %.2f s (%.1f ms/step)\n", args.steps, end, factor,
              secs, 1e3 * secs / double(std::max<std::size_t>(1, args.steps)));
  if (args.check_factor > 0 && !(factor >= args.check_factor)) {
    std::printf("FAILED: the loss fell %.2fx, less than the required %.2fx\n", factor, args.check_factor);
    return 1;
  }
  return 0;
}
