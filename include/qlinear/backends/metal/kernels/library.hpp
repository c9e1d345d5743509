#pragma once
// The root of the Metal library source: the file the generator (tests/backends/metal/
// embed_metal_source.cpp) starts from, inlining the headers it includes, to produce
// qlinear/backends/metal/metal_source.hpp.

#include "qlinear/backends/metal/kernels/instances.hpp"
#include "qlinear/backends/metal/kernels/kernels.hpp"
#include "qlinear/backends/metal/kernels/prelude.hpp"
