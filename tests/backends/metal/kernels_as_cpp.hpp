#pragma once
// qlinear's Metal kernel headers compiled as C++ (under msl_shim.hpp), for the grid emulator and
// the decoder tests. Include it after every other header of the test file.

#include "msl_shim.hpp"
// clang-format off
#include "qlinear/backends/metal/kernels/kernels.hpp"
// clang-format on
#include "msl_shim_end.hpp"
