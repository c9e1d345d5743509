# The Metal backend's checks that need more than a test_*.cpp file (included from tests/CMakeLists.txt).
#  - backends_metal_tests (the test_*.cpp files here) gets the grid emulator, and is compiled
#    without floating-point contraction so the kernels' decoders and the schemes' scalar reference
#    round identically on every CPU (GCC contracts a*b+c into an FMA by default on AArch64).
#  - the generator of include/qlinear/backends/metal/metal_source.hpp, a target that rewrites it
#    in the source tree, and a test that fails while the checked-in file is stale;
#  - the embedded source itself, cut out of metal_source.hpp at configure time, compiled as C++14
#    against msl_shim.hpp, and a test that it instantiates exactly the kernels the host names;
#  - every kernel header compiled on its own as C++14 under the shim (MSL is C++14-based);
#  - the Objective-C++ host glue (backend.hpp) and its GPU tests syntax- and type-checked by clang
#    against stub Metal / Foundation declarations (objc_stub/), wherever clang is at hand;
#  - on Apple with QLINEAR_METAL_TESTS, the Objective-C++ backend and its GPU tests.

set(metal_dir ${CMAKE_CURRENT_LIST_DIR})
set(metal_bin ${CMAKE_BINARY_DIR}/tests/backends/metal)
set(metal_embedded ${PROJECT_SOURCE_DIR}/include/qlinear/backends/metal/metal_source.hpp)

if(TARGET backends_metal_tests)
  target_sources(backends_metal_tests PRIVATE ${metal_dir}/grid_emulator.cpp)
  target_include_directories(backends_metal_tests PRIVATE ${metal_dir})
  target_compile_options(backends_metal_tests PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-ffp-contract=off>)
  target_compile_definitions(backends_metal_tests PRIVATE QLINEAR_METAL_EMBEDDED_DUMP="${metal_bin}/embedded/qlinear_metal_source.metal")
endif()

# ---- the generator and the staleness test ----
add_executable(qlinear_embed_metal_source ${metal_dir}/embed_metal_source.cpp)
target_link_libraries(qlinear_embed_metal_source PRIVATE qlinear_test_flags)
target_compile_features(qlinear_embed_metal_source PRIVATE cxx_std_20)
if(NOT CMAKE_CROSSCOMPILING)
  # Regenerates the checked-in header: `cmake --build <dir> --target qlinear_update_metal_source`.
  add_custom_target(qlinear_update_metal_source
    COMMAND qlinear_embed_metal_source ${PROJECT_SOURCE_DIR}/include ${metal_embedded}
    COMMENT "Regenerating include/qlinear/backends/metal/metal_source.hpp from the kernel headers")
endif()
file(MAKE_DIRECTORY ${metal_bin}/generated)
add_test(NAME backends_metal.metal_source_fresh
  COMMAND qlinear_embed_metal_source ${PROJECT_SOURCE_DIR}/include ${metal_bin}/generated/metal_source.hpp
          --check ${metal_embedded})
set_tests_properties(backends_metal.metal_source_fresh PROPERTIES LABELS backends_metal)

# ---- the embedded source compiled as C++14 under the shim ----
# The raw-string pieces of metal_source.hpp, concatenated: exactly the text metal_source() returns
# (a test in backends_metal_tests compares the two).
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${metal_embedded})
file(READ ${metal_embedded} embedded_text)
set(embedded_source "")
set(piece_open "R\"qlmetal(")
set(piece_close ")qlmetal\"")
string(LENGTH "${piece_open}" piece_open_length)
while(TRUE)
  string(FIND "${embedded_text}" "${piece_open}" at)
  if(at EQUAL -1)
    break()
  endif()
  math(EXPR at "${at} + ${piece_open_length}")
  string(SUBSTRING "${embedded_text}" ${at} -1 embedded_text)
  string(FIND "${embedded_text}" "${piece_close}" end)
  if(end EQUAL -1)
    message(FATAL_ERROR "${metal_embedded}: a raw-string piece is not closed")
  endif()
  string(SUBSTRING "${embedded_text}" 0 ${end} piece)
  string(APPEND embedded_source "${piece}")
  string(SUBSTRING "${embedded_text}" ${end} -1 embedded_text)
endwhile()
if(embedded_source STREQUAL "")
  message(FATAL_ERROR "${metal_embedded} holds no Metal source pieces")
endif()
file(WRITE ${metal_bin}/embedded/qlinear_metal_source.metal.tmp "${embedded_source}")
configure_file(${metal_bin}/embedded/qlinear_metal_source.metal.tmp ${metal_bin}/embedded/qlinear_metal_source.metal COPYONLY)

add_library(qlinear_metal_shim_source OBJECT ${metal_dir}/shim/embedded_source_as_cpp.cpp)
target_include_directories(qlinear_metal_shim_source PRIVATE ${metal_dir} ${metal_bin}/embedded)
set_target_properties(qlinear_metal_shim_source PROPERTIES CXX_STANDARD 14 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
target_compile_options(qlinear_metal_shim_source PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic>)
set_source_files_properties(${metal_dir}/shim/embedded_source_as_cpp.cpp PROPERTIES
  OBJECT_DEPENDS ${metal_bin}/embedded/qlinear_metal_source.metal)
add_executable(backends_metal_shim_check ${metal_dir}/shim/check_kernel_names.cpp $<TARGET_OBJECTS:qlinear_metal_shim_source>)
target_include_directories(backends_metal_shim_check PRIVATE ${metal_dir})
target_link_libraries(backends_metal_shim_check PRIVATE qlinear::qlinear qlinear_test_flags)
add_test(NAME backends_metal.embedded_source_names COMMAND backends_metal_shim_check)
set_tests_properties(backends_metal.embedded_source_names PROPERTIES LABELS backends_metal)

if(QLINEAR_BUILD_COMPILE_CHECKS)  # compile-only checks (tests/CMakeLists.txt)
# ---- every kernel header on its own, C++14, under the shim ----
file(GLOB metal_kernel_headers RELATIVE ${PROJECT_SOURCE_DIR}/include CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/include/qlinear/backends/metal/kernels/*.hpp)
set(metal_kernel_header_sources)
foreach(h ${metal_kernel_headers})
  string(MAKE_C_IDENTIFIER ${h} id)
  set(src ${metal_bin}/kernel_headers/${id}.cpp)
  file(CONFIGURE OUTPUT ${src} CONTENT "#include \"msl_shim.hpp\"\n#include <${h}>\n#include <${h}>\n#include \"msl_shim_end.hpp\"\n")
  list(APPEND metal_kernel_header_sources ${src})
endforeach()
add_library(qlinear_metal_kernel_header_check OBJECT ${metal_kernel_header_sources})
target_include_directories(qlinear_metal_kernel_header_check PRIVATE ${metal_dir} ${PROJECT_SOURCE_DIR}/include)
set_target_properties(qlinear_metal_kernel_header_check PROPERTIES CXX_STANDARD 14 CXX_STANDARD_REQUIRED ON CXX_EXTENSIONS OFF)
target_compile_options(qlinear_metal_kernel_header_check PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic>)

# ---- the host glue checked by clang against stub Metal declarations (not Apple's SDK) ----
# (On Apple the real SDK compiles it: QLINEAR_METAL_TESTS below.)
if(NOT APPLE AND NOT CMAKE_CROSSCOMPILING)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    set(metal_objc_checker ${CMAKE_CXX_COMPILER})
  else()
    find_program(QLINEAR_CLANGXX NAMES clang++ clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14)
    set(metal_objc_checker ${QLINEAR_CLANGXX})
  endif()
  if(metal_objc_checker)
    get_target_property(metal_eigen_include Eigen3::Eigen INTERFACE_INCLUDE_DIRECTORIES)
    set(metal_objc_includes -I${metal_dir}/objc_stub -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/tests)
    foreach(d ${metal_eigen_include})
      list(APPEND metal_objc_includes -I${d})
    endforeach()
    file(GLOB_RECURSE metal_objc_inputs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/include/qlinear/*.hpp
      ${metal_dir}/objc_stub/*.h ${metal_dir}/apple/*.mm)
    add_custom_command(OUTPUT ${metal_bin}/host_glue_checked.stamp
      COMMAND ${metal_objc_checker} -x objective-c++ -std=c++20 -fobjc-arc -fblocks -fobjc-runtime=macosx-10.15
              -D__APPLE__=1 -DQLINEAR_SHARED_DIR="${QLINEAR_SHARED_DIR}" -fsyntax-only -Wall -Wextra -Werror
              ${metal_objc_includes} ${metal_dir}/apple/test_metal_backend.mm
      COMMAND ${CMAKE_COMMAND} -E touch ${metal_bin}/host_glue_checked.stamp
      DEPENDS ${metal_objc_inputs}
      COMMENT "Checking the Metal backend's Objective-C++ with clang against stub Metal declarations"
      VERBATIM)
    add_custom_target(qlinear_metal_host_glue_check ALL DEPENDS ${metal_bin}/host_glue_checked.stamp)
  else()
    message(STATUS "qlinear: no clang++, so the Metal host glue's Objective-C++ syntax check is skipped")
  endif()
endif()
endif()

# ---- Apple: the Objective-C++ backend on the GPU ----
option(QLINEAR_METAL_TESTS "Build the Metal backend's GPU tests (macOS with Xcode; the `metal` preset sets it)" OFF)
if(QLINEAR_METAL_TESTS)
  if(NOT APPLE)
    message(FATAL_ERROR "QLINEAR_METAL_TESTS needs macOS with Xcode (Metal and Objective-C++); on this system the "
                        "Metal kernels are tested by the grid emulator in backends_metal_tests")
  endif()
  include(${metal_dir}/apple/apple.cmake)
endif()
