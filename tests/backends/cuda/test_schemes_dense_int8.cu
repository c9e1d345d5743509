// The per-scheme GPU tests (scheme_suite.cuh) for the dense and int8 schemes.

#include "scheme_suite.cuh"

namespace qlinear::cuda_test {
INSTANTIATE_TYPED_TEST_SUITE_P(dense_int8, CudaScheme, GTestTypes<DenseInt8Schemes>::type, SchemeName);
}  // namespace qlinear::cuda_test
