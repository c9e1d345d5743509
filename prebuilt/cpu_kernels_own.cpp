// Prebuilt CPU kernels (cpu_kernels.hpp): dense, int8 and NF4 schemes.
#include "cpu_kernels.hpp"

namespace qlinear::cpu {
QLINEAR_PREBUILD_WEIGHT_KERNELS(DenseF32);
QLINEAR_PREBUILD_WEIGHT_KERNELS(DenseF16);
QLINEAR_PREBUILD_WEIGHT_KERNELS(DenseBF16);
QLINEAR_PREBUILD_WEIGHT_KERNELS(Int8PerTensor);
QLINEAR_PREBUILD_WEIGHT_KERNELS(Int8PerTensorAffine);
QLINEAR_PREBUILD_WEIGHT_KERNELS(Int8PerChannel);
QLINEAR_PREBUILD_WEIGHT_KERNELS(Int8PerChannelAffine);
QLINEAR_PREBUILD_WEIGHT_KERNELS(NF4);
QLINEAR_PREBUILD_WEIGHT_KERNELS(NF4DoubleQuant);
QLINEAR_PREBUILD_ACTIVATION_KERNELS(I8Row);
template Selected<F32TileFn> select_f32_tile<>(Isa);  // the exact path's, shared by every scheme
template Bf16Kernels select_bf16_kernels<>(Isa);     // the bf16 path's (NF4)
}  // namespace qlinear::cpu
