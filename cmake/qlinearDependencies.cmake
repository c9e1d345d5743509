# Finds qlinear's dependencies, naming the Debian package when one is missing.
find_package(Threads REQUIRED)

# Debian's Eigen 3.4.0 config rejects version ranges: find it without a version, compare ourselves.
find_package(Eigen3 NO_MODULE QUIET)
if(NOT Eigen3_FOUND)
  message(FATAL_ERROR "qlinear needs Eigen 3.4: install it with `apt-get install libeigen3-dev`")
endif()
if(Eigen3_VERSION VERSION_LESS 3.4)
  message(FATAL_ERROR "qlinear needs Eigen >= 3.4, found ${Eigen3_VERSION}")
endif()

# The safetensors reader parses its JSON header with nlohmann/json (header-only).
find_package(nlohmann_json 3 QUIET)
if(NOT nlohmann_json_FOUND)
  message(STATUS "nlohmann_json not found (`apt-get install nlohmann-json3-dev`): "
                 "qlinear/io/safetensors.hpp will be unavailable")
endif()
