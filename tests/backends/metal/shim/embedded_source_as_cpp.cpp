// The Metal source embedded in qlinear/backends/metal/metal_source.hpp, exactly as Apple's
// compiler receives it (cut out of the header at configure time by extra.cmake), compiled as
// C++14 against the Metal shim: a typo, a C++17-ism or a Metal name the shim lacks in what ships
// fails the build here. Its QLINEAR_KERNEL_INSTANCE lines record the kernel names they export.

#include "msl_shim.hpp"
#include "qlinear_metal_source.metal"
#include "msl_shim_end.hpp"
