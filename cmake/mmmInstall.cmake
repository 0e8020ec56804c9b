# Install rules: headers, the exported INTERFACE target and a relocatable package config,
# so that `find_package(mmm CONFIG)` works after `cmake --install`.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(MMM_CMAKE_DIR "${CMAKE_INSTALL_DATADIR}/cmake/mmm")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/mmm" DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS mmm EXPORT mmmTargets)
install(EXPORT mmmTargets NAMESPACE mmm:: DESTINATION "${MMM_CMAKE_DIR}")
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/mmmConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/mmmConfig.cmake" INSTALL_DESTINATION "${MMM_CMAKE_DIR}")
# Header-only, so any architecture may use it.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/mmmConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES "${PROJECT_BINARY_DIR}/mmmConfig.cmake" "${PROJECT_BINARY_DIR}/mmmConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/mmmDependencies.cmake" DESTINATION "${MMM_CMAKE_DIR}")
