// The per-scheme GPU tests (scheme_suite.cuh) for the 32-weight GGUF formats.

#include "scheme_suite.cuh"

namespace qlinear::cuda_test {
INSTANTIATE_TYPED_TEST_SUITE_P(gguf_legacy, CudaScheme, GTestTypes<GgufLegacySchemes>::type, SchemeName);
}  // namespace qlinear::cuda_test
