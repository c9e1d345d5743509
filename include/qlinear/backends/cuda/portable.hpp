#pragma once
// The primitives the CUDA kernels are written in, for host and device alike: loads of 2, 4, 8
// and 16 bytes, exact small-integer and half conversions, warp-lane constants. Under nvcc's
// device pass they become vector loads and intrinsics; on the host they are memcpy and the
// scalar conversions of core/half.hpp, so a CPU test can run the same kernel bodies.

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qlinear/core/bit_cast.hpp"
#include "qlinear/core/config.hpp"
#include "qlinear/core/half.hpp"

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#endif

// Unrolls the loop that follows in the device pass (register arrays must be indexed by
// constants); nothing on the host, where -Wall would flag an unknown pragma.
#if defined(__CUDA_ARCH__)
#define QLINEAR_UNROLL _Pragma("unroll")
#else
#define QLINEAR_UNROLL
#endif

// Lets a __host__ __device__ template call __device__-only members of its policy argument (the
// tensor-core ops) without nvcc's cross-execution-space warning, as Eigen and Thrust do.
#if defined(__CUDACC__)
#define QLINEAR_HD_TEMPLATE _Pragma("nv_exec_check_disable")
#else
#define QLINEAR_HD_TEMPLATE
#endif

namespace qlinear::cuda {

static_assert(std::endian::native == std::endian::little,
              "qlinear's CUDA layouts read GGUF bytes as little-endian words");

/// Lanes in a warp (the kernels' reductions and index maths assume 32).
inline constexpr int warp_size = 32;
/// Weights in one chunk: the unit every kernel loads and decodes (every scheme's block is a
/// whole number of chunks; dense and int8 rows are padded to one).
inline constexpr int chunk_weights = 32;

/// Four 32-bit words loaded together (one 16-byte transaction on the device).
struct alignas(16) U32x4 {
  std::uint32_t w[4];
};
/// Two 32-bit words loaded together (one 8-byte transaction).
struct alignas(8) U32x2 {
  std::uint32_t w[2];
};

/// 16 bytes at p (16-byte aligned on the device). Usage: `U32x4 q = load_u32x4(row + 16 * c);`
QLINEAR_HD U32x4 load_u32x4(const std::uint8_t* p) {
#if defined(__CUDA_ARCH__)
  const uint4 v = __ldg(reinterpret_cast<const uint4*>(p));
  return U32x4{{v.x, v.y, v.z, v.w}};
#else
  U32x4 r;
  std::memcpy(&r, p, sizeof r);
  return r;
#endif
}
/// 8 bytes at p (8-byte aligned on the device).
QLINEAR_HD U32x2 load_u32x2(const std::uint8_t* p) {
#if defined(__CUDA_ARCH__)
  const uint2 v = __ldg(reinterpret_cast<const uint2*>(p));
  return U32x2{{v.x, v.y}};
#else
  U32x2 r;
  std::memcpy(&r, p, sizeof r);
  return r;
#endif
}
/// 4 bytes at p (4-byte aligned on the device).
QLINEAR_HD std::uint32_t load_u32(const std::uint8_t* p) {
#if defined(__CUDA_ARCH__)
  return __ldg(reinterpret_cast<const unsigned int*>(p));
#else
  std::uint32_t r;
  std::memcpy(&r, p, sizeof r);
  return r;
#endif
}
/// 2 bytes at p (2-byte aligned on the device).
QLINEAR_HD std::uint32_t load_u16(const std::uint8_t* p) {
#if defined(__CUDA_ARCH__)
  return __ldg(reinterpret_cast<const unsigned short*>(p));
#else
  std::uint16_t r;
  std::memcpy(&r, p, sizeof r);
  return r;
#endif
}
/// 1 byte at p.
QLINEAR_HD std::uint32_t load_u8(const std::uint8_t* p) {
#if defined(__CUDA_ARCH__)
  return __ldg(reinterpret_cast<const unsigned char*>(p));
#else
  return *p;
#endif
}
/// A float from global memory through the read-only path.
QLINEAR_HD float load_f32(const float* p) {
#if defined(__CUDA_ARCH__)
  return __ldg(p);
#else
  return *p;
#endif
}

/// Stores 16 bytes at p (16-byte aligned on the device; shared memory in the kernels).
QLINEAR_HD void store_u32x4(std::uint8_t* p, const U32x4& v) {
#if defined(__CUDA_ARCH__)
  *reinterpret_cast<uint4*>(p) = make_uint4(v.w[0], v.w[1], v.w[2], v.w[3]);
#else
  std::memcpy(p, &v, sizeof v);
#endif
}

/// Four floats at p (16-byte aligned on the device) into out[0..4).
QLINEAR_HD void load_f32x4(const float* p, float* out) {
#if defined(__CUDA_ARCH__)
  const float4 v = __ldg(reinterpret_cast<const float4*>(p));
  out[0] = v.x, out[1] = v.y, out[2] = v.z, out[3] = v.w;
#else
  std::memcpy(out, p, 4 * sizeof(float));
#endif
}

/// The float whose bits are b.
QLINEAR_HD float bits_to_float(std::uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(b);
#else
  return qlinear::bit_cast<float>(b);
#endif
}
/// The bits of f.
QLINEAR_HD std::uint32_t float_to_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  return qlinear::bit_cast<std::uint32_t>(f);
#endif
}

/// float(v) − bias for v < 2^23 and a small integer bias, exactly: v goes into the mantissa of
/// 2^23 and one subtraction removes both (a logic op and an add, where an int→float
/// conversion would run at a quarter of the rate on the GPU).
QLINEAR_HD float small_uint_to_float(std::uint32_t v, float bias = 0.0f) {
  return bits_to_float(0x4B000000u | v) - (8388608.0f + bias);
}

/// IEEE binary16 bits → float, exact for every input.
QLINEAR_HD float half_bits_to_float(std::uint32_t h) {
#if defined(__CUDA_ARCH__)
  return __half2float(__ushort_as_half(static_cast<unsigned short>(h)));
#else
  return f16_to_f32(static_cast<std::uint16_t>(h));
#endif
}
/// float → binary16 bits, round to nearest even (overflow gives inf, NaN stays NaN).
QLINEAR_HD std::uint32_t float_to_half_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __half_as_ushort(__float2half_rn(f));
#else
  return f32_to_f16(f);
#endif
}
/// bfloat16 bits → float (exact: the high half of the float).
QLINEAR_HD float bf16_bits_to_float(std::uint32_t b) { return bits_to_float(b << 16); }

/// Byte i (0..4N−1) of N words held in registers; i may be a run-time value: the word is
/// picked with selects, so the array stays in registers (indexing it would spill it).
template <int N>
QLINEAR_HD std::uint32_t byte_of(const std::uint32_t (&w)[N], int i) {
  std::uint32_t word = w[0];
  QLINEAR_UNROLL
  for (int k = 1; k < N; ++k) word = (i >> 2) == k ? w[k] : word;
  return (word >> (8 * (i & 3))) & 0xFFu;
}

/// Larger of |a| and m, ignoring NaN (fmaxf semantics), for row maxima that decide f16 scaling.
QLINEAR_HD float max_abs(float m, float a) {
  const float x = a < 0.0f ? -a : a;
  return x > m ? x : m;  // NaN compares false and is skipped
}

/// The power-of-two exponent e chosen for a row whose largest magnitude is `amax`: the row is
/// stored as f16 values × 2^e, with amax · 2^−e in [2^14, 2^15), far inside f16's range
/// (65504) and far above its subnormals. 0 for rows of zeros or non-finite maxima (their
/// values pass through, as inf or NaN). e is clamped so 2^e and 2^−e are normal floats.
QLINEAR_HD int f16_row_exponent(float amax) {
  const std::uint32_t b = float_to_bits(amax);
  const int biased = int((b >> 23) & 0xFFu);
  if (!(amax > 0.0f) || biased == 0xFF) return 0;
  // floor(log2(amax)): the biased exponent for normal floats, from the leading bit for subnormals.
  int e = biased - 127;
  if (biased == 0) {
    std::uint32_t m = b & 0x7FFFFFu;
    e = -127;
    while (m < 0x400000u) m <<= 1, --e;
  }
  int s = e - 14;
  if (s < -126) s = -126;
  if (s > 126) s = 126;
  return s;
}
/// 2^e as a float, for e in [−126, 127].
QLINEAR_HD float pow2(int e) { return bits_to_float(std::uint32_t(e + 127) << 23); }

/// x · 2^e, rounded once (ldexp), for combining the f16 row exponents in an epilogue.
QLINEAR_HD float scale_by_pow2(float x, int e) {
#if defined(__CUDA_ARCH__)
  return ldexpf(x, e);
#else
  return std::ldexp(x, e);
#endif
}

}  // namespace qlinear::cuda
