// The per-scheme GPU tests (scheme_suite.cuh) for the int4 and NF4 schemes.

#include "scheme_suite.cuh"

namespace qlinear::cuda_test {
INSTANTIATE_TYPED_TEST_SUITE_P(int4_nf4, CudaScheme, GTestTypes<Int4Nf4Schemes>::type, SchemeName);
}  // namespace qlinear::cuda_test
