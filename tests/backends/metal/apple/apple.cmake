# The Metal backend on the GPU (Apple only, -DQLINEAR_METAL_TESTS=ON; `cmake --preset metal`).
# Objective-C++ with ARC, linked against Metal and Foundation. Never run in this project's CI,
# which has no Apple machines.
enable_language(OBJCXX)
add_executable(backends_metal_gpu_tests ${CMAKE_CURRENT_LIST_DIR}/test_metal_backend.mm)
set_target_properties(backends_metal_gpu_tests PROPERTIES CXX_STANDARD 20 OBJCXX_STANDARD 20 OBJCXX_STANDARD_REQUIRED ON)
target_compile_options(backends_metal_gpu_tests PRIVATE -fobjc-arc)
target_link_libraries(backends_metal_gpu_tests PRIVATE qlinear::qlinear qlinear_test_flags GTest::gtest_main
  "-framework Metal" "-framework Foundation")
gtest_discover_tests(backends_metal_gpu_tests DISCOVERY_TIMEOUT 120 PROPERTIES LABELS "backends_metal;gpu")
