# Install + export + package config, so `find_package(qlinear)` works after `cmake --install`.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/qlinear DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS qlinear EXPORT qlinearTargets)
install(EXPORT qlinearTargets NAMESPACE qlinear:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/qlinear)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/qlinearConfig.cmake.in
  ${PROJECT_BINARY_DIR}/qlinearConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/qlinear)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/qlinearConfigVersion.cmake
  COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/qlinearConfig.cmake ${PROJECT_BINARY_DIR}/qlinearConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/qlinear)
