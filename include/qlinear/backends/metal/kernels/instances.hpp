#pragma once
// The kernels the Metal library exports: for every scheme in qlinear::AllSchemes its decode,
// prefill and backward kernel, each under the name qlinear_<kind>_<scheme name>_<tile> that
// qlinear/backends/metal/kernel_names.hpp builds on the host. (The tests check that these names
// and AllSchemes agree both ways.)

#include "qlinear/backends/metal/kernels/kernels.hpp"
#include "qlinear/backends/metal/kernels/prelude.hpp"
#include "qlinear/backends/metal/kernels/tiles.hpp"

namespace qlinear {
namespace metal {
namespace kernels {

typedef decltype(qlinear_decode<Dec<0> >) decode_kernel_t;
typedef decltype(qlinear_prefill<Dec<0> >) prefill_kernel_t;
typedef decltype(qlinear_backward<Dec<0> >) backward_kernel_t;

#define QLINEAR_METAL_SCHEME_KERNELS(NAME, ID)                                                            \
  QLINEAR_KERNEL_INSTANCE("qlinear_decode_" NAME "_" QLINEAR_METAL_DECODE_TILE, decode_kernel_t,       \
                          qlinear_decode<Dec<ID> >)                                                     \
  QLINEAR_KERNEL_INSTANCE("qlinear_prefill_" NAME "_" QLINEAR_METAL_PREFILL_TILE, prefill_kernel_t,    \
                          qlinear_prefill<Dec<ID> >)                                                    \
  QLINEAR_KERNEL_INSTANCE("qlinear_backward_" NAME "_" QLINEAR_METAL_BACKWARD_TILE, backward_kernel_t, \
                          qlinear_backward<Dec<ID> >)

QLINEAR_METAL_SCHEME_KERNELS("f32", 0)
QLINEAR_METAL_SCHEME_KERNELS("f16", 1)
QLINEAR_METAL_SCHEME_KERNELS("bf16", 30)
QLINEAR_METAL_SCHEME_KERNELS("q4_0", 2)
QLINEAR_METAL_SCHEME_KERNELS("q4_1", 3)
QLINEAR_METAL_SCHEME_KERNELS("q5_0", 6)
QLINEAR_METAL_SCHEME_KERNELS("q5_1", 7)
QLINEAR_METAL_SCHEME_KERNELS("q8_0", 8)
QLINEAR_METAL_SCHEME_KERNELS("q2_K", 10)
QLINEAR_METAL_SCHEME_KERNELS("q3_K", 11)
QLINEAR_METAL_SCHEME_KERNELS("q4_K", 12)
QLINEAR_METAL_SCHEME_KERNELS("q5_K", 13)
QLINEAR_METAL_SCHEME_KERNELS("q6_K", 14)
QLINEAR_METAL_SCHEME_KERNELS("iq4_nl", 20)
QLINEAR_METAL_SCHEME_KERNELS("iq4_xs", 23)
QLINEAR_METAL_SCHEME_KERNELS("int8_per_tensor", 1000)
QLINEAR_METAL_SCHEME_KERNELS("int8_per_tensor_affine", 1001)
QLINEAR_METAL_SCHEME_KERNELS("int8_per_channel", 1002)
QLINEAR_METAL_SCHEME_KERNELS("int8_per_channel_affine", 1003)
QLINEAR_METAL_SCHEME_KERNELS("int4_g32", 1010)
QLINEAR_METAL_SCHEME_KERNELS("int4_g64", 1011)
QLINEAR_METAL_SCHEME_KERNELS("int4_g128", 1012)
QLINEAR_METAL_SCHEME_KERNELS("int4_g32_affine", 1013)
QLINEAR_METAL_SCHEME_KERNELS("int4_g64_affine", 1014)
QLINEAR_METAL_SCHEME_KERNELS("int4_g128_affine", 1015)
QLINEAR_METAL_SCHEME_KERNELS("nf4", 1020)
QLINEAR_METAL_SCHEME_KERNELS("nf4_double_quant", 1021)

#undef QLINEAR_METAL_SCHEME_KERNELS

}  // namespace kernels
}  // namespace metal
}  // namespace qlinear
