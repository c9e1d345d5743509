#pragma once
// The Metal Shading Language names qlinear's kernels use, as C++14 (the dialect MSL is built on),
// so the kernel headers compile as ordinary C++: scalar and vector types, half, as_type, min/max,
// and the SIMD-group and threadgroup functions. The functions that need other threads
// (threadgroup_barrier, simd_sum, simd_shuffle, simdgroup matrices) forward to the grid emulator
// through qlinear_msl::Hooks; outside an emulated launch they abort with a message.
// This header defines no macros; msl_shim.hpp adds the address-space words for kernel source.
// Usage: `#include "msl_shim.hpp"` before kernel source (see kernels_as_cpp.hpp).

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;  // the same typedefs as glibc's <sys/types.h>
static_assert(sizeof(ulong) == 8 && sizeof(uint) == 4 && sizeof(ushort) == 2, "MSL's integer widths");

namespace metal {

/// A Metal vector of N (2, 3 or 4) elements: members x, y (z, w), subscripts, element-wise
/// arithmetic and broadcasting of scalars, as MSL's float2 / uint3 / ... behave. Sizes are MSL's
/// for N = 2 and 4 (8 and 16 bytes for 32-bit T), so buffers of float2 match the GPU's layout.
template <class T, int N>
struct vec;
template <class T>
struct vec<T, 2> {
  T x, y;
  vec() = default;
  vec(T s) : x(s), y(s) {}
  vec(T a, T b) : x(a), y(b) {}
  T& operator[](unsigned i) { return i == 0 ? x : y; }
  const T& operator[](unsigned i) const { return i == 0 ? x : y; }
};
template <class T>
struct vec<T, 3> {
  T x, y, z;
  vec() = default;
  vec(T s) : x(s), y(s), z(s) {}
  vec(T a, T b, T c) : x(a), y(b), z(c) {}
  T& operator[](unsigned i) { return i == 0 ? x : i == 1 ? y : z; }
  const T& operator[](unsigned i) const { return i == 0 ? x : i == 1 ? y : z; }
};
template <class T>
struct vec<T, 4> {
  T x, y, z, w;
  vec() = default;
  vec(T s) : x(s), y(s), z(s), w(s) {}
  vec(T a, T b, T c, T d) : x(a), y(b), z(c), w(d) {}
  T& operator[](unsigned i) { return i == 0 ? x : i == 1 ? y : i == 2 ? z : w; }
  const T& operator[](unsigned i) const { return i == 0 ? x : i == 1 ? y : i == 2 ? z : w; }
};
template <class T, int N>
vec<T, N>& operator+=(vec<T, N>& a, const vec<T, N>& b) {
  for (unsigned i = 0; i < unsigned(N); ++i) a[i] += b[i];
  return a;
}
template <class T, int N>
vec<T, N>& operator*=(vec<T, N>& a, const vec<T, N>& b) {
  for (unsigned i = 0; i < unsigned(N); ++i) a[i] *= b[i];
  return a;
}
template <class T, int N>
vec<T, N> operator+(vec<T, N> a, const vec<T, N>& b) {
  return a += b;
}
template <class T, int N>
vec<T, N> operator*(vec<T, N> a, const vec<T, N>& b) {
  return a *= b;
}
typedef vec<float, 2> float2;
typedef vec<float, 3> float3;
typedef vec<float, 4> float4;
typedef vec<int, 2> int2;
typedef vec<int, 4> int4;
typedef vec<uint, 2> uint2;
typedef vec<uint, 3> uint3;
typedef vec<uint, 4> uint4;
typedef vec<ushort, 2> ushort2;
typedef vec<ushort, 3> ushort3;
typedef vec<ulong, 2> ulong2;

/// IEEE binary16, widened exactly (NaN payloads and subnormals included) like the GPU's half.
struct half {
  ushort bits;
  operator float() const {
    const unsigned sign = unsigned(bits & 0x8000u) << 16;
    const unsigned exp = (bits >> 10) & 0x1Fu;
    unsigned mant = bits & 0x3FFu, out;
    if (exp == 0x1F) {
      out = sign | 0x7F800000u | (mant << 13);
    } else if (exp != 0) {
      out = sign | ((exp + 112) << 23) | (mant << 13);
    } else if (mant == 0) {
      out = sign;
    } else {  // subnormal: shift the leading 1 into the implicit bit
      unsigned e = 113;
      while (!(mant & 0x400u)) mant <<= 1, --e;
      out = sign | (e << 23) | ((mant & 0x3FFu) << 13);
    }
    float f;
    std::memcpy(&f, &out, 4);
    return f;
  }
};
static_assert(sizeof(half) == 2, "half is 16 bits");

/// Reinterprets the bits of a value as another type of the same size.
template <class To, class From>
To as_type(const From& v) {
  static_assert(sizeof(To) == sizeof(From), "as_type needs types of the same size");
  To t;
  std::memcpy(&t, &v, sizeof(To));
  return t;
}

template <class T>
T min(T a, T b) {
  return b < a ? b : a;
}
template <class T>
T max(T a, T b) {
  return a < b ? b : a;
}
template <class T>
T clamp(T v, T lo, T hi) {
  return min(max(v, lo), hi);
}

enum class mem_flags : unsigned { mem_none = 0, mem_device = 1, mem_threadgroup = 2, mem_texture = 4 };

template <class T, int Cols, int Rows>
struct simdgroup_matrix;

}  // namespace metal

namespace qlinear_msl {

/// Where a SIMD-group or threadgroup function was called from: all threads taking part in one
/// must call it from the same place.
struct Site {
  const char* file;
  int line;
};

enum class SimdOp { sum, shuffle, shuffle_down, shuffle_xor };
/// Element type of a value a SIMD-group function exchanges.
enum class Elem { f32, i32, u32 };

/// One thread's handle on a SIMD-group matrix: the 64 values (row-major, immutable, owned by the
/// emulator) and the tag of the operation that made them. Two lanes hold "the same" matrix exactly
/// when their tags agree.
struct MatrixRef {
  const float* data = nullptr;
  unsigned long long tag = 0;
};

/// What the grid emulator implements for the functions above.
class Hooks {
 public:
  virtual void threadgroup_barrier(metal::mem_flags flags, Site site) = 0;
  virtual void simdgroup_barrier(metal::mem_flags flags, Site site) = 0;
  /// `in` holds `count` elements of type `elem`; the result goes to `out`. `arg` is the lane,
  /// delta or mask of a shuffle.
  virtual void simd_exchange(SimdOp op, Elem elem, unsigned count, const void* in, void* out, unsigned arg,
                             Site site) = 0;
  virtual void matrix_fill(MatrixRef& d, float value, Site site) = 0;
  virtual void matrix_load(MatrixRef& d, const float* src, ulong elements_per_row, metal::ulong2 origin,
                           bool transpose, Site site) = 0;
  virtual void matrix_store(const MatrixRef& m, float* dst, ulong elements_per_row, metal::ulong2 origin,
                            bool transpose, Site site) = 0;
  virtual void matrix_multiply_accumulate(MatrixRef& d, const MatrixRef& a, const MatrixRef& b, const MatrixRef& c,
                                          Site site) = 0;

 protected:
  ~Hooks() = default;
};

/// The hooks of the launch running on this thread (null outside one).
inline Hooks*& current_hooks() {
  static thread_local Hooks* h = nullptr;
  return h;
}
inline Hooks& hooks(const char* what) {
  Hooks* h = current_hooks();
  if (!h) {
    std::fprintf(stderr, "qlinear msl shim: %s called outside a grid-emulator launch\n", what);
    std::abort();
  }
  return *h;
}

template <class T>
struct ElemOf;
template <>
struct ElemOf<float> {
  static const Elem elem = Elem::f32;
  static const unsigned count = 1;
};
template <>
struct ElemOf<int> {
  static const Elem elem = Elem::i32;
  static const unsigned count = 1;
};
template <>
struct ElemOf<uint> {
  static const Elem elem = Elem::u32;
  static const unsigned count = 1;
};
template <class T, int N>
struct ElemOf<metal::vec<T, N> > {
  static const Elem elem = ElemOf<T>::elem;
  static const unsigned count = unsigned(N);
};

template <class T>
T& elem_ref(T& v, unsigned) {
  return v;
}
template <class T, int N>
T& elem_ref(metal::vec<T, N>& v, unsigned i) {
  return v[i];
}

template <class T>
T exchange(SimdOp op, const T& v, unsigned arg, Site site, const char* what) {
  T in = v, out = v;
  unsigned char raw_in[16] = {}, raw_out[16] = {};
  for (unsigned i = 0; i < ElemOf<T>::count; ++i) std::memcpy(raw_in + 4 * i, &elem_ref(in, i), 4);
  hooks(what).simd_exchange(op, ElemOf<T>::elem, ElemOf<T>::count, raw_in, raw_out, arg, site);
  for (unsigned i = 0; i < ElemOf<T>::count; ++i) std::memcpy(&elem_ref(out, i), raw_out + 4 * i, 4);
  return out;
}

}  // namespace qlinear_msl

namespace metal {

inline void threadgroup_barrier(mem_flags flags, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  qlinear_msl::hooks("threadgroup_barrier").threadgroup_barrier(flags, {file, line});
}
inline void simdgroup_barrier(mem_flags flags, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  qlinear_msl::hooks("simdgroup_barrier").simdgroup_barrier(flags, {file, line});
}

/// Sum of v over the SIMD group, returned to every lane.
template <class T>
T simd_sum(T v, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return qlinear_msl::exchange(qlinear_msl::SimdOp::sum, v, 0, {file, line}, "simd_sum");
}
/// v of lane `lane`.
template <class T>
T simd_shuffle(T v, ushort lane, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return qlinear_msl::exchange(qlinear_msl::SimdOp::shuffle, v, lane, {file, line}, "simd_shuffle");
}
/// v of lane (this lane + delta); lanes past the end keep their own v.
template <class T>
T simd_shuffle_down(T v, ushort delta, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return qlinear_msl::exchange(qlinear_msl::SimdOp::shuffle_down, v, delta, {file, line}, "simd_shuffle_down");
}
/// v of lane (this lane ^ mask).
template <class T>
T simd_shuffle_xor(T v, ushort mask, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return qlinear_msl::exchange(qlinear_msl::SimdOp::shuffle_xor, v, mask, {file, line}, "simd_shuffle_xor");
}

/// An 8 x 8 matrix held by a whole SIMD group (only float 8 x 8, the one qlinear uses).
template <class T, int Cols, int Rows>
struct simdgroup_matrix {
  static_assert(sizeof(T) == 4 && Cols == 8 && Rows == 8, "the shim emulates simdgroup_float8x8 only");
  qlinear_msl::MatrixRef ref;
};
typedef simdgroup_matrix<float, 8, 8> simdgroup_float8x8;

template <class T, int Cols, int Rows>
simdgroup_matrix<T, Cols, Rows> make_filled_simdgroup_matrix(T value, const char* file = __builtin_FILE(),
                                                              int line = __builtin_LINE()) {
  simdgroup_matrix<T, Cols, Rows> m;
  qlinear_msl::hooks("make_filled_simdgroup_matrix").matrix_fill(m.ref, float(value), {file, line});
  return m;
}
/// Loads d (row r, column c) = src[r · elements_per_row + c] (or src[c · elements_per_row + r]
/// with transpose_matrix).
inline void simdgroup_load(simdgroup_float8x8& d, const float* src, ulong elements_per_row = 8,
                           ulong2 matrix_origin = ulong2(0), bool transpose_matrix = false,
                           const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  qlinear_msl::hooks("simdgroup_load")
      .matrix_load(d.ref, src, elements_per_row, matrix_origin, transpose_matrix, {file, line});
}
inline void simdgroup_store(simdgroup_float8x8 m, float* dst, ulong elements_per_row = 8,
                            ulong2 matrix_origin = ulong2(0), bool transpose_matrix = false,
                            const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  qlinear_msl::hooks("simdgroup_store")
      .matrix_store(m.ref, dst, elements_per_row, matrix_origin, transpose_matrix, {file, line});
}
/// d = a · b + c.
inline void simdgroup_multiply_accumulate(simdgroup_float8x8& d, const simdgroup_float8x8& a,
                                          const simdgroup_float8x8& b, const simdgroup_float8x8& c,
                                          const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  qlinear_msl::hooks("simdgroup_multiply_accumulate").matrix_multiply_accumulate(d.ref, a.ref, b.ref, c.ref, {file, line});
}

}  // namespace metal

/// Names of the kernels the compiled source instantiated (QLINEAR_KERNEL_INSTANCE records them).
inline std::vector<std::string>& qlinear_msl_kernel_names() {
  static std::vector<std::string> names;
  return names;
}
inline bool qlinear_msl_register_kernel(const char* name) {
  qlinear_msl_kernel_names().push_back(name);
  return true;
}
