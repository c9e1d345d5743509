#pragma once
// The block decoder of every scheme in qlinear::AllSchemes, Dec<SchemeId>.

#include "qlinear/backends/metal/kernels/decode_common.hpp"
#include "qlinear/backends/metal/kernels/decode_dense.hpp"
#include "qlinear/backends/metal/kernels/decode_gguf32.hpp"
#include "qlinear/backends/metal/kernels/decode_int4_nf4.hpp"
#include "qlinear/backends/metal/kernels/decode_kquants.hpp"
