# The CUDA test binary: built whenever CMake found nvcc (so CI compiles the kernels for every
# target architecture), run by ctest everywhere; its tests skip, saying why, without a GPU.
if(NOT CMAKE_CUDA_COMPILER)
  return()
endif()
file(GLOB qlinear_cuda_test_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.cu)
add_executable(backends_cuda_tests ${qlinear_cuda_test_sources})
target_link_libraries(backends_cuda_tests PRIVATE qlinear::qlinear GTest::gtest_main)
qlinear_cuda_target(backends_cuda_tests)
target_compile_definitions(backends_cuda_tests PRIVATE
  QLINEAR_SHARED_DIR="${QLINEAR_SHARED_DIR}" QLINEAR_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
target_include_directories(backends_cuda_tests PRIVATE ${PROJECT_SOURCE_DIR}/tests)
gtest_discover_tests(backends_cuda_tests DISCOVERY_TIMEOUT 60 PROPERTIES LABELS backends_cuda)
