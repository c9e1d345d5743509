// The grid emulator (see grid_emulator.hpp): threads as fibers, switched at Metal's meeting points.
//
// Fibers: a hand-written context switch for x86-64 and AArch64 (save the callee-saved registers on
// the old stack, swap stack pointers, restore) costs tens of nanoseconds, where ucontext's
// swapcontext makes a sigprocmask system call per switch (ten times slower natively, fifty times
// under qemu-aarch64, which the NEON CI stage runs this binary under), in ELF and Mach-O
// spellings. Other architectures use ucontext. (The Mach-O variant has not been assembled yet.) The kernel's floating-point environment is never changed, so MXCSR / FPCR are not
// switched. Under AddressSanitizer every switch is announced (__sanitizer_*_switch_fiber) and a
// reused stack is unpoisoned first.

#include "grid_emulator.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <sstream>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define QLINEAR_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QLINEAR_EMU_ASAN 1
#endif
#endif
#if defined(QLINEAR_EMU_ASAN)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

// The switch's symbol, wrapped in the directives of the object format (ELF or Mach-O).
#if defined(__ELF__)
#define QLINEAR_EMU_ASM_BEGIN                                                                      \
  ".text\n.globl qlinear_emu_switch\n.hidden qlinear_emu_switch\n.type qlinear_emu_switch, %function\n" \
  ".p2align 4\nqlinear_emu_switch:\n"
#define QLINEAR_EMU_ASM_END \
  ".size qlinear_emu_switch, .-qlinear_emu_switch\n.section .note.GNU-stack,\"\",%progbits\n.text\n"
#define QLINEAR_EMU_ASM_FORMAT 1
#elif defined(__APPLE__) && defined(__MACH__)
#define QLINEAR_EMU_ASM_BEGIN \
  ".text\n.globl _qlinear_emu_switch\n.private_extern _qlinear_emu_switch\n.p2align 4\n_qlinear_emu_switch:\n"
#define QLINEAR_EMU_ASM_END ""
#define QLINEAR_EMU_ASM_FORMAT 1
#endif

#if defined(__x86_64__) && defined(QLINEAR_EMU_ASM_FORMAT)
#define QLINEAR_EMU_SWITCH_ASM 1
// qlinear_emu_switch(save, next): pushes rbp rbx r12-r15, stores rsp in *save, loads next as rsp,
// pops the same registers and returns into whatever that stack was switched out at.
asm(QLINEAR_EMU_ASM_BEGIN
    "  pushq %rbp\n"
    "  pushq %rbx\n"
    "  pushq %r12\n"
    "  pushq %r13\n"
    "  pushq %r14\n"
    "  pushq %r15\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  popq %r15\n"
    "  popq %r14\n"
    "  popq %r13\n"
    "  popq %r12\n"
    "  popq %rbx\n"
    "  popq %rbp\n"
    "  ret\n" QLINEAR_EMU_ASM_END);
#elif defined(__aarch64__) && defined(QLINEAR_EMU_ASM_FORMAT)
#define QLINEAR_EMU_SWITCH_ASM 1
// The same for AArch64: x19-x30 and d8-d15 in a 176-byte frame.
asm(QLINEAR_EMU_ASM_BEGIN
    "  sub sp, sp, #176\n"
    "  stp x19, x20, [sp, #0]\n"
    "  stp x21, x22, [sp, #16]\n"
    "  stp x23, x24, [sp, #32]\n"
    "  stp x25, x26, [sp, #48]\n"
    "  stp x27, x28, [sp, #64]\n"
    "  stp x29, x30, [sp, #80]\n"
    "  stp d8, d9, [sp, #96]\n"
    "  stp d10, d11, [sp, #112]\n"
    "  stp d12, d13, [sp, #128]\n"
    "  stp d14, d15, [sp, #144]\n"
    "  mov x9, sp\n"
    "  str x9, [x0]\n"
    "  mov sp, x1\n"
    "  ldp x19, x20, [sp, #0]\n"
    "  ldp x21, x22, [sp, #16]\n"
    "  ldp x23, x24, [sp, #32]\n"
    "  ldp x25, x26, [sp, #48]\n"
    "  ldp x27, x28, [sp, #64]\n"
    "  ldp x29, x30, [sp, #80]\n"
    "  ldp d8, d9, [sp, #96]\n"
    "  ldp d10, d11, [sp, #112]\n"
    "  ldp d12, d13, [sp, #128]\n"
    "  ldp d14, d15, [sp, #144]\n"
    "  add sp, sp, #176\n"
    "  ret\n" QLINEAR_EMU_ASM_END);
#else
#include <ucontext.h>
#endif

#if defined(QLINEAR_EMU_SWITCH_ASM)
extern "C" void qlinear_emu_switch(void** save, void* next);
#endif

namespace qlinear::metal::emu {
namespace {

using qlinear_msl::Elem;
using qlinear_msl::MatrixRef;
using qlinear_msl::Site;
using qlinear_msl::SimdOp;

// ---- stacks --------------------------------------------------------------------------------

constexpr std::size_t stack_bytes = 256 * 1024;

struct Stack {
  void* mapping = nullptr;
  std::size_t mapped = 0;
  char* bottom = nullptr;  // lowest usable byte (above the guard page)
  std::size_t size = 0;
};

// Stacks are mapped once and reused for every fiber of every launch; a guard page below each
// turns an overflow into a fault rather than corruption.
class StackPool {
 public:
  ~StackPool() {
    for (Stack& s : free_) munmap(s.mapping, s.mapped);
  }
  Stack take() {
    if (!free_.empty()) {
      Stack s = free_.back();
      free_.pop_back();
      return s;
    }
    const std::size_t page = std::size_t(sysconf(_SC_PAGESIZE));
    Stack s;
    s.mapped = stack_bytes + page;
    s.mapping = mmap(nullptr, s.mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s.mapping == MAP_FAILED) throw EmulationError("grid emulator: cannot map a fiber stack");
    if (mprotect(s.mapping, page, PROT_NONE) != 0) throw EmulationError("grid emulator: cannot protect a stack guard");
    s.bottom = static_cast<char*>(s.mapping) + page;
    s.size = stack_bytes;
    return s;
  }
  void give(Stack s) {
#if defined(QLINEAR_EMU_ASAN)
    // An abandoned fiber leaves its frames' redzones poisoned.
    __asan_unpoison_memory_region(s.bottom, s.size);
#endif
    free_.push_back(s);
  }

 private:
  std::vector<Stack> free_;
};

StackPool& stack_pool() {
  static StackPool pool;
  return pool;
}

// ---- lanes and SIMD groups -------------------------------------------------------------------

enum class State { runnable, at_barrier, at_simd, done, failed };

class Threadgroup;

struct Lane {
  Threadgroup* group = nullptr;
  Thread builtins{};
  unsigned index = 0;  // thread_index_in_threadgroup
  unsigned sg = 0, lane = 0;
  State state = State::runnable;
  Site site{nullptr, 0};
  // A pending SIMD-group rendezvous.
  bool simd_barrier = false;
  SimdOp op = SimdOp::sum;
  Elem elem = Elem::f32;
  unsigned count = 0, arg = 0;
  std::uint32_t in[4]{}, out[4]{};
  // Simdgroup-matrix operations this lane performed since its SIMD group's log was last reset.
  std::size_t matrix_ops = 0;
  std::exception_ptr error;
  Stack stack;
#if defined(QLINEAR_EMU_SWITCH_ASM)
  void* sp = nullptr;
#else
  ucontext_t context{};
#endif
  void* asan_fake_stack = nullptr;
};

enum class MatrixOp { fill, load, store, mac };

const char* matrix_op_name(MatrixOp op) {
  switch (op) {
    case MatrixOp::fill: return "make_filled_simdgroup_matrix";
    case MatrixOp::load: return "simdgroup_load";
    case MatrixOp::store: return "simdgroup_store";
    case MatrixOp::mac: return "simdgroup_multiply_accumulate";
  }
  return "?";
}

// One simdgroup-matrix operation as the first lane performed it.
struct MatrixEntry {
  MatrixOp op;
  Site site;
  unsigned leader = 0;  // the lane that performed it
  const void* pointer = nullptr;
  ulong stride = 0;
  bool transpose = false;
  float value = 0.0f;
  std::array<unsigned long long, 3> inputs{};
  MatrixRef result;
};

struct SimdGroup {
  unsigned first = 0, size = 0;
  std::vector<MatrixEntry> log;
  std::deque<std::array<float, 64>> arena;  // matrix values; stable addresses, freed with the threadgroup
  unsigned long long next_tag = 1;
};

thread_local Lane* t_current = nullptr;

bool same_site(Site a, Site b) {
  return a.line == b.line && (a.file == b.file || (a.file && b.file && std::strcmp(a.file, b.file) == 0));
}
std::string where(Site s) {
  std::string f = s.file ? s.file : "?";
  const std::size_t slash = f.find_last_of('/');
  if (slash != std::string::npos) f = f.substr(slash + 1);
  return f + ":" + std::to_string(s.line);
}
const char* simd_op_name(const Lane& l) {
  if (l.simd_barrier) return "simdgroup_barrier";
  switch (l.op) {
    case SimdOp::sum: return "simd_sum";
    case SimdOp::shuffle: return "simd_shuffle";
    case SimdOp::shuffle_down: return "simd_shuffle_down";
    case SimdOp::shuffle_xor: return "simd_shuffle_xor";
  }
  return "?";
}

[[noreturn]] void lane_main();

// ---- one threadgroup -------------------------------------------------------------------------

class Threadgroup final : public qlinear_msl::Hooks {
 public:
  Threadgroup(Dim3 grid, Dim3 tg, ::metal::uint3 position, void* memory,
              const std::function<void(const Thread&)>& kernel, Stats& stats)
      : grid_(grid), tg_(tg), position_(position), kernel_(kernel), stats_(stats) {
    const unsigned n = unsigned(tg.count());
    lanes_.resize(n);
    for (unsigned i = 0; i < n; ++i) {
      Lane& l = lanes_[i];
      l.group = this;
      l.index = i;
      l.sg = i / simd_width;
      l.lane = i % simd_width;
      Thread& t = l.builtins;
      t.threadgroup_position_in_grid = position;
      t.threadgroups_per_grid = ::metal::uint3(grid.x, grid.y, grid.z);
      t.thread_position_in_threadgroup = ::metal::uint3(i % tg.x, (i / tg.x) % tg.y, i / (tg.x * tg.y));
      t.threads_per_threadgroup = ::metal::uint3(tg.x, tg.y, tg.z);
      t.thread_position_in_grid =
          ::metal::uint3(position.x * tg.x + t.thread_position_in_threadgroup.x,
                       position.y * tg.y + t.thread_position_in_threadgroup.y,
                       position.z * tg.z + t.thread_position_in_threadgroup.z);
      t.thread_index_in_threadgroup = i;
      t.simdgroup_index_in_threadgroup = ushort(l.sg);
      t.thread_index_in_simdgroup = ushort(l.lane);
      t.threads_per_simdgroup = ushort(simd_width);
      t.threadgroup_memory = memory;
    }
    groups_.resize((n + simd_width - 1) / simd_width);
    for (unsigned g = 0; g < groups_.size(); ++g) {
      groups_[g].first = g * simd_width;
      groups_[g].size = std::min(simd_width, n - g * simd_width);
    }
  }

  ~Threadgroup() {
    for (Lane& l : lanes_)
      if (l.stack.mapping) stack_pool().give(l.stack);
  }

  // Runs every thread to completion, phase by phase; throws on misuse.
  void run(bool descending) {
    for (Lane& l : lanes_) start(l);
    qlinear_msl::Hooks*& hooks = qlinear_msl::current_hooks();
    qlinear_msl::Hooks* const saved = hooks;
    hooks = this;
    struct Restore {
      qlinear_msl::Hooks*& h;
      qlinear_msl::Hooks* saved;
      ~Restore() { h = saved; }
    } restore{hooks, saved};
    const unsigned n = unsigned(lanes_.size());
    for (;;) {
      for (unsigned k = 0; k < n; ++k) {
        Lane& l = lanes_[descending ? n - 1 - k : k];
        if (l.state == State::runnable) resume(l);
      }
      for (Lane& l : lanes_)
        if (l.state == State::failed) std::rethrow_exception(l.error);
      bool progressed = false;
      for (SimdGroup& g : groups_) progressed |= try_simd_rendezvous(g);
      if (progressed) continue;
      const auto done = std::count_if(lanes_.begin(), lanes_.end(), [](const Lane& l) { return l.state == State::done; });
      if (std::size_t(done) == lanes_.size()) {
        for (SimdGroup& g : groups_) check_matrix_agreement(g, "the end of the kernel");
        return;
      }
      if (try_barrier()) continue;
      deadlock();
    }
  }

  // ---- Hooks (called on a lane's fiber) ----

  void threadgroup_barrier(::metal::mem_flags, Site site) override {
    Lane& l = *t_current;
    l.site = site;
    block(l, State::at_barrier);
  }
  void simdgroup_barrier(::metal::mem_flags, Site site) override {
    Lane& l = *t_current;
    l.site = site;
    l.simd_barrier = true;
    l.count = 0;
    block(l, State::at_simd);
  }
  void simd_exchange(SimdOp op, Elem elem, unsigned count, const void* in, void* out, unsigned arg,
                     Site site) override {
    Lane& l = *t_current;
    l.site = site;
    l.simd_barrier = false;
    l.op = op;
    l.elem = elem;
    l.count = count;
    l.arg = arg;
    std::memcpy(l.in, in, 4 * count);
    block(l, State::at_simd);
    std::memcpy(out, l.out, 4 * count);
  }

  void matrix_fill(MatrixRef& d, float value, Site site) override {
    Lane& l = *t_current;
    SimdGroup& g = groups_[l.sg];
    MatrixEntry* e = leader_entry(l, g, MatrixOp::fill, site);
    if (e) {
      e->value = value;
      std::array<float, 64>& m = g.arena.emplace_back();
      m.fill(value);
      e->result = {m.data(), g.next_tag++};
    } else {
      e = &follower_entry(l, g, MatrixOp::fill, site);
      if (!(e->value == value) && !(value != value && e->value != e->value))
        misuse(l, std::string("make_filled_simdgroup_matrix with ") + std::to_string(value) + " where lane " +
                      std::to_string(e->leader) + " gave " + std::to_string(e->value));
    }
    d = e->result;
  }

  void matrix_load(MatrixRef& d, const float* src, ulong stride, ::metal::ulong2 origin, bool transpose,
                   Site site) override {
    Lane& l = *t_current;
    SimdGroup& g = groups_[l.sg];
    if (origin.x != 0 || origin.y != 0)
      misuse(l, "simdgroup_load with a non-zero matrix_origin (the emulator does not model it)");
    MatrixEntry* e = leader_entry(l, g, MatrixOp::load, site);
    if (e) {
      if (!src) misuse(l, "simdgroup_load from a null pointer");
      e->pointer = src;
      e->stride = stride;
      e->transpose = transpose;
      std::array<float, 64>& m = g.arena.emplace_back();
      for (unsigned r = 0; r < 8; ++r)
        for (unsigned c = 0; c < 8; ++c) m[r * 8 + c] = transpose ? src[c * stride + r] : src[r * stride + c];
      e->result = {m.data(), g.next_tag++};
    } else {
      e = &follower_entry(l, g, MatrixOp::load, site);
      if (e->pointer != src || e->stride != stride || e->transpose != transpose)
        misuse(l, "simdgroup_load from another address or layout than lane " + std::to_string(e->leader) +
                      " of its SIMD group");
    }
    d = e->result;
  }

  void matrix_store(const MatrixRef& m, float* dst, ulong stride, ::metal::ulong2 origin, bool transpose,
                    Site site) override {
    Lane& l = *t_current;
    SimdGroup& g = groups_[l.sg];
    if (origin.x != 0 || origin.y != 0)
      misuse(l, "simdgroup_store with a non-zero matrix_origin (the emulator does not model it)");
    if (!m.data) misuse(l, "simdgroup_store of a matrix that was never filled, loaded or computed");
    MatrixEntry* e = leader_entry(l, g, MatrixOp::store, site);
    if (e) {
      if (!dst) misuse(l, "simdgroup_store to a null pointer");
      e->pointer = dst;
      e->stride = stride;
      e->transpose = transpose;
      e->inputs[0] = m.tag;
      for (unsigned r = 0; r < 8; ++r)
        for (unsigned c = 0; c < 8; ++c) (transpose ? dst[c * stride + r] : dst[r * stride + c]) = m.data[r * 8 + c];
    } else {
      e = &follower_entry(l, g, MatrixOp::store, site);
      if (e->pointer != dst || e->stride != stride || e->transpose != transpose)
        misuse(l, "simdgroup_store to another address or layout than lane " + std::to_string(e->leader) +
                      " of its SIMD group");
      if (e->inputs[0] != m.tag)
        misuse(l, "simdgroup_store of another matrix than lane " + std::to_string(e->leader) + " stored");
    }
  }

  void matrix_multiply_accumulate(MatrixRef& d, const MatrixRef& a, const MatrixRef& b, const MatrixRef& c,
                                  Site site) override {
    Lane& l = *t_current;
    SimdGroup& g = groups_[l.sg];
    if (!a.data || !b.data || !c.data)
      misuse(l, "simdgroup_multiply_accumulate on a matrix that was never filled, loaded or computed");
    MatrixEntry* e = leader_entry(l, g, MatrixOp::mac, site);
    if (e) {
      e->inputs = {a.tag, b.tag, c.tag};
      std::array<float, 64>& m = g.arena.emplace_back();
      for (unsigned r = 0; r < 8; ++r)
        for (unsigned col = 0; col < 8; ++col) {
          float s = c.data[r * 8 + col];
          for (unsigned k = 0; k < 8; ++k) s += a.data[r * 8 + k] * b.data[k * 8 + col];
          m[r * 8 + col] = s;
        }
      e->result = {m.data(), g.next_tag++};
    } else {
      e = &follower_entry(l, g, MatrixOp::mac, site);
      if (e->inputs[0] != a.tag || e->inputs[1] != b.tag || e->inputs[2] != c.tag)
        misuse(l, "simdgroup_multiply_accumulate on other matrices than lane " + std::to_string(e->leader) +
                      " of its SIMD group");
    }
    d = e->result;
  }

  // ---- fibers ----

  void fiber_started(Lane& l) {
#if defined(QLINEAR_EMU_ASAN)
    __sanitizer_finish_switch_fiber(l.asan_fake_stack, &scheduler_stack_bottom_, &scheduler_stack_size_);
#else
    (void)l;
#endif
  }
  // Back to the scheduler from a lane's fiber; returns when the scheduler resumes the lane.
  void leave(Lane& l, bool final) {
#if defined(QLINEAR_EMU_ASAN)
    __sanitizer_start_switch_fiber(final ? nullptr : &l.asan_fake_stack, scheduler_stack_bottom_,
                                   scheduler_stack_size_);
#else
    (void)final;
#endif
#if defined(QLINEAR_EMU_SWITCH_ASM)
    qlinear_emu_switch(&l.sp, scheduler_sp_);
#else
    swapcontext(&l.context, &scheduler_context_);
#endif
#if defined(QLINEAR_EMU_ASAN)
    __sanitizer_finish_switch_fiber(l.asan_fake_stack, &scheduler_stack_bottom_, &scheduler_stack_size_);
#endif
  }
  void run_kernel(Lane& l) { kernel_(l.builtins); }

 private:
  void start(Lane& l) {
    l.stack = stack_pool().take();
    char* top = l.stack.bottom + l.stack.size;
#if defined(__x86_64__) && defined(QLINEAR_EMU_SWITCH_ASM)
    // As if qlinear_emu_switch had been called from lane_main's caller: six zero registers, then
    // the return address lane_main, then a zero where lane_main's own return address would sit
    // (so rsp is 8 mod 16 at its entry, as after a call).
    auto* sp = reinterpret_cast<std::uintptr_t*>(top);
    *--sp = 0;
    *--sp = reinterpret_cast<std::uintptr_t>(&lane_main);
    for (int i = 0; i < 6; ++i) *--sp = 0;
    l.sp = sp;
#elif defined(__aarch64__) && defined(QLINEAR_EMU_SWITCH_ASM)
    auto* sp = reinterpret_cast<std::uintptr_t*>(top - 176);
    std::memset(sp, 0, 176);
    sp[11] = reinterpret_cast<std::uintptr_t>(&lane_main);  // x30, the return address
    l.sp = sp;
#else
    getcontext(&l.context);
    l.context.uc_stack.ss_sp = l.stack.bottom;
    l.context.uc_stack.ss_size = l.stack.size;
    l.context.uc_link = nullptr;
    makecontext(&l.context, reinterpret_cast<void (*)()>(&lane_main), 0);
#endif
  }

  void resume(Lane& l) {
    t_current = &l;
    ++stats_.switches;
#if defined(QLINEAR_EMU_ASAN)
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, l.stack.bottom, l.stack.size);
#endif
#if defined(QLINEAR_EMU_SWITCH_ASM)
    qlinear_emu_switch(&scheduler_sp_, l.sp);
#else
    swapcontext(&scheduler_context_, &l.context);
#endif
#if defined(QLINEAR_EMU_ASAN)
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
    t_current = nullptr;
  }

  void block(Lane& l, State s) {
    l.state = s;
    leave(l, false);
  }

  // The entry a lane's next matrix operation starts (it is first), or nullptr if another lane of
  // its SIMD group already performed it.
  MatrixEntry* leader_entry(Lane& l, SimdGroup& g, MatrixOp op, Site site) {
    if (l.matrix_ops < g.log.size()) return nullptr;
    ++l.matrix_ops;
    ++stats_.matrix_ops;
    MatrixEntry& e = g.log.emplace_back();
    e.op = op;
    e.site = site;
    e.leader = l.lane;
    return &e;
  }
  MatrixEntry& follower_entry(Lane& l, SimdGroup& g, MatrixOp op, Site site) {
    MatrixEntry& e = g.log[l.matrix_ops];
    if (e.op != op || !same_site(e.site, site))
      misuse(l, std::string("its SIMD group's lanes disagree on simdgroup-matrix operation ") +
                    std::to_string(l.matrix_ops + 1) + ": " + matrix_op_name(op) + " at " + where(site) +
                    " here, " + matrix_op_name(e.op) + " at " + where(e.site) + " in the lane that ran first");
    ++l.matrix_ops;
    return e;
  }

  void check_matrix_agreement(SimdGroup& g, const char* at) {
    for (unsigned i = 0; i < g.size; ++i) {
      const Lane& l = lanes_[g.first + i];
      if (l.matrix_ops != g.log.size())
        throw EmulationError(context() + ": SIMD group " + std::to_string(l.sg) + ", lane " + std::to_string(l.lane) +
                             " performed " + std::to_string(l.matrix_ops) + " simdgroup-matrix operations by " + at +
                             " where another lane performed " + std::to_string(g.log.size()) +
                             ": every lane of a SIMD group must take part in each one");
    }
  }

  bool try_simd_rendezvous(SimdGroup& g) {
    for (unsigned i = 0; i < g.size; ++i)
      if (lanes_[g.first + i].state != State::at_simd) return false;
    const Lane& a = lanes_[g.first];
    for (unsigned i = 1; i < g.size; ++i) {
      const Lane& b = lanes_[g.first + i];
      if (a.simd_barrier != b.simd_barrier || (!a.simd_barrier && (a.op != b.op || a.elem != b.elem || a.count != b.count)) ||
          !same_site(a.site, b.site))
        throw EmulationError(context() + ": SIMD group " + std::to_string(a.sg) + " lanes meet at different " +
                             "SIMD-group functions: lane 0 at " + simd_op_name(a) + " (" + where(a.site) + "), lane " +
                             std::to_string(b.lane) + " at " + simd_op_name(b) + " (" + where(b.site) + ")");
      if (!a.simd_barrier && (a.op == SimdOp::shuffle_down || a.op == SimdOp::shuffle_xor) && a.arg != b.arg)
        throw EmulationError(context() + ": " + simd_op_name(a) + " at " + where(a.site) + " with delta/mask " +
                             std::to_string(a.arg) + " in lane 0 but " + std::to_string(b.arg) + " in lane " +
                             std::to_string(b.lane) + ": it must be the same in every lane");
    }
    check_matrix_agreement(g, (std::string(simd_op_name(a)) + " at " + where(a.site)).c_str());
    if (!a.simd_barrier) exchange(g);
    for (unsigned i = 0; i < g.size; ++i) lanes_[g.first + i].state = State::runnable;
    ++stats_.simd_ops;
    return true;
  }

  void exchange(SimdGroup& g) {
    Lane* lanes = &lanes_[g.first];
    const Lane& a = lanes[0];
    if (a.op == SimdOp::sum) {
      for (unsigned c = 0; c < a.count; ++c) {
        std::uint32_t total;
        if (a.elem == Elem::f32) {
          // Pairwise, as a reduction tree across lanes would add.
          std::vector<float> v(g.size);
          for (unsigned i = 0; i < g.size; ++i) std::memcpy(&v[i], &lanes[i].in[c], 4);
          for (std::size_t width = 1; width < v.size(); width *= 2)
            for (std::size_t i = 0; i + width < v.size(); i += 2 * width) v[i] = v[i] + v[i + width];
          std::memcpy(&total, &v[0], 4);
        } else {
          total = 0;  // int and uint wrap the same way in two's complement
          for (unsigned i = 0; i < g.size; ++i) total += lanes[i].in[c];
        }
        for (unsigned i = 0; i < g.size; ++i) lanes[i].out[c] = total;
      }
      return;
    }
    for (unsigned i = 0; i < g.size; ++i) {
      Lane& l = lanes[i];
      unsigned src = 0;
      switch (l.op) {
        case SimdOp::shuffle: src = l.arg; break;
        case SimdOp::shuffle_down: src = i + l.arg < g.size ? i + l.arg : i; break;
        case SimdOp::shuffle_xor: src = i ^ l.arg; break;
        case SimdOp::sum: break;
      }
      if (src >= g.size)
        throw EmulationError(context() + ": " + simd_op_name(l) + " at " + where(l.site) + " in lane " +
                             std::to_string(i) + " reads lane " + std::to_string(src) + " of a SIMD group of " +
                             std::to_string(g.size) + " lanes");
      std::memcpy(l.out, lanes[src].in, 4 * l.count);
    }
  }

  bool try_barrier() {
    for (const Lane& l : lanes_)
      if (l.state != State::at_barrier) return false;
    const Lane& a = lanes_[0];
    for (const Lane& b : lanes_)
      if (!same_site(a.site, b.site))
        throw EmulationError(context() + ": threads wait at different threadgroup barriers: thread 0 at " +
                             where(a.site) + ", thread " + std::to_string(b.index) + " at " + where(b.site));
    for (SimdGroup& g : groups_) {
      check_matrix_agreement(g, ("the threadgroup_barrier at " + where(a.site)).c_str());
      g.log.clear();
    }
    for (Lane& l : lanes_) {
      l.matrix_ops = 0;
      l.state = State::runnable;
    }
    ++stats_.barriers;
    return true;
  }

  [[noreturn]] void deadlock() {
    std::ostringstream out;
    out << context() << ": threads are stuck (a barrier or SIMD-group function not reached by every thread "
        << "that must reach it):";
    for (const SimdGroup& g : groups_) {
      out << "\n  SIMD group " << lanes_[g.first].sg << ":";
      unsigned i = 0;
      while (i < g.size) {
        const Lane& l = lanes_[g.first + i];
        unsigned j = i + 1;
        while (j < g.size && lanes_[g.first + j].state == l.state &&
               (l.state == State::done || (same_site(lanes_[g.first + j].site, l.site) &&
                                           lanes_[g.first + j].simd_barrier == l.simd_barrier)))
          ++j;
        out << " lanes " << i << "-" << (j - 1) << " ";
        switch (l.state) {
          case State::done: out << "returned"; break;
          case State::at_barrier: out << "wait at threadgroup_barrier (" << where(l.site) << ")"; break;
          case State::at_simd: out << "wait in " << simd_op_name(l) << " (" << where(l.site) << ")"; break;
          default: out << "?"; break;
        }
        out << ";";
        i = j;
      }
    }
    throw EmulationError(out.str());
  }

  [[noreturn]] void misuse(const Lane& l, const std::string& what) {
    throw EmulationError(context() + ", SIMD group " + std::to_string(l.sg) + ", lane " + std::to_string(l.lane) +
                         ": " + what);
  }

  std::string context() const {
    return "threadgroup (" + std::to_string(position_.x) + ", " + std::to_string(position_.y) + ", " +
           std::to_string(position_.z) + ") of a " + std::to_string(grid_.x) + " x " + std::to_string(grid_.y) +
           " x " + std::to_string(grid_.z) + " grid";
  }

  Dim3 grid_, tg_;
  ::metal::uint3 position_;
  const std::function<void(const Thread&)>& kernel_;
  Stats& stats_;
  std::vector<Lane> lanes_;
  std::vector<SimdGroup> groups_;
#if defined(QLINEAR_EMU_SWITCH_ASM)
  void* scheduler_sp_ = nullptr;
#else
  ucontext_t scheduler_context_{};
#endif
  const void* scheduler_stack_bottom_ = nullptr;
  std::size_t scheduler_stack_size_ = 0;
};

[[noreturn]] void lane_main() {
  Lane& l = *t_current;
  Threadgroup& g = *l.group;
  g.fiber_started(l);
  try {
    g.run_kernel(l);
    l.state = State::done;
  } catch (...) {
    l.error = std::current_exception();
    l.state = State::failed;
  }
  g.leave(l, true);
  std::abort();  // a finished fiber is never resumed
}

}  // namespace

Stats launch(Dim3 grid, Dim3 threadgroup, std::size_t threadgroup_bytes,
             const std::function<void(const Thread&)>& kernel) {
  const std::uint64_t threads = threadgroup.count();
  if (threads == 0 || threads > max_threads_per_threadgroup)
    throw EmulationError("grid emulator: a threadgroup of " + std::to_string(threadgroup.x) + " x " +
                         std::to_string(threadgroup.y) + " x " + std::to_string(threadgroup.z) +
                         " threads (Metal allows 1 to 1024)");
  Stats stats;
  if (grid.count() == 0) return stats;
  // Threadgroup memory between two guard zones, NaN-filled (0xFF bytes) for every threadgroup.
  constexpr std::size_t guard = 64;
  constexpr unsigned char guard_byte = 0x5A;
  std::vector<unsigned char> memory(threadgroup_bytes + 2 * guard);
  std::uint64_t index = 0;
  for (std::uint32_t z = 0; z < grid.z; ++z)
    for (std::uint32_t y = 0; y < grid.y; ++y)
      for (std::uint32_t x = 0; x < grid.x; ++x, ++index) {
        std::memset(memory.data(), guard_byte, guard);
        std::memset(memory.data() + guard, 0xFF, threadgroup_bytes);
        std::memset(memory.data() + guard + threadgroup_bytes, guard_byte, guard);
        {
          Threadgroup tg(grid, threadgroup, ::metal::uint3(x, y, z), memory.data() + guard, kernel, stats);
          tg.run(index % 2 == 1);
        }
        for (std::size_t i = 0; i < guard; ++i)
          if (memory[i] != guard_byte || memory[guard + threadgroup_bytes + i] != guard_byte)
            throw EmulationError("threadgroup (" + std::to_string(x) + ", " + std::to_string(y) + ", " +
                                 std::to_string(z) + "): the kernel wrote outside its " +
                                 std::to_string(threadgroup_bytes) + " bytes of threadgroup memory");
        ++stats.threadgroups;
        stats.threads += threads;
      }
  return stats;
}

}  // namespace qlinear::metal::emu
