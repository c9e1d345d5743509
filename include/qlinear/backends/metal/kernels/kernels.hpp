#pragma once
// Every qlinear Metal kernel template (decode, prefill, backward) and every scheme's decoder.

#include "qlinear/backends/metal/kernels/decoders.hpp"
#include "qlinear/backends/metal/kernels/gemm.hpp"
#include "qlinear/backends/metal/kernels/gemm_transposed.hpp"
#include "qlinear/backends/metal/kernels/gemv.hpp"
