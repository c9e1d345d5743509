#pragma once
// qlinear: header-only quantized linear layers. The umbrella header: everything that needs no
// GPU toolkit. Configuration first, then formats, backends, layers (as Eigen/Core does).
//
// Usage:
//   #include <qlinear/qlinear.hpp>
//   auto layer = qlinear::QuantizedLinear<qlinear::cpu::ReferenceBackend, qlinear::Q4_K>::from_float(w, n, k);
//   qlinear::RowMatrixXf y = layer.forward(x);

#include "qlinear/core/config.hpp"
#include "qlinear/core/error.hpp"
#include "qlinear/core/half.hpp"
#include "qlinear/core/matrix_view.hpp"
#include "qlinear/core/eigen.hpp"

#include "qlinear/schemes/scheme.hpp"
#include "qlinear/schemes/quantized_tensor.hpp"
#include "qlinear/schemes/registry.hpp"

#include "qlinear/backends/backend.hpp"
#include "qlinear/backends/cpu/reference.hpp"
#include "qlinear/backends/cpu/backend.hpp"

#include "qlinear/layers/quantized_linear.hpp"
#include "qlinear/layers/any_linear.hpp"
#include "qlinear/layers/fused_linear.hpp"
