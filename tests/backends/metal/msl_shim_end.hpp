// Ends the region msl_shim.hpp opened: the address-space macros go, the attribute warning returns.
// (No include guard: it closes whichever shim region precedes it.)
#undef device
#undef thread
#undef threadgroup
#undef constant
#undef kernel
#pragma GCC diagnostic pop
