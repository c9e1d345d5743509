// The per-scheme GPU tests (scheme_suite.cuh) for the 256-weight GGUF k-quants.

#include "scheme_suite.cuh"

namespace qlinear::cuda_test {
INSTANTIATE_TYPED_TEST_SUITE_P(gguf_k, CudaScheme, GTestTypes<GgufKSchemes>::type, SchemeName);
}  // namespace qlinear::cuda_test
