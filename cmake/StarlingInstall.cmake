# cmake --install: the `starling` binary, the runtime (libstarling.a), the headers under
# include/starling, lualib/ and service/ under share/starling, a CMake package
# (find_package(Starling): Starling::node, Starling::module, Starling::runtime,
# Starling::starling and starling_add_module) and pkg-config files (starling.pc for an
# executable of one's own, starling-module.pc for a module). docs/API.md says how to use them.
include(CMakePackageConfigHelpers)

set(starling_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/Starling)

install(TARGETS starling starling_runtime starling_node starling_module_api
  EXPORT StarlingTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/starling
  FILES_MATCHING PATTERN "*.hpp")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lualib ${PROJECT_SOURCE_DIR}/service
  DESTINATION ${CMAKE_INSTALL_DATADIR}/starling)

install(EXPORT StarlingTargets NAMESPACE Starling:: DESTINATION ${starling_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/StarlingConfig.cmake.in
  ${PROJECT_BINARY_DIR}/StarlingConfig.cmake
  INSTALL_DESTINATION ${starling_cmake_dir}
  PATH_VARS CMAKE_INSTALL_DATADIR)
# 0.x: a minor version may change the module ABI (core/module_abi.hpp).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/StarlingConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/StarlingConfig.cmake
  ${PROJECT_BINARY_DIR}/StarlingConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/StarlingModule.cmake
  DESTINATION ${starling_cmake_dir})

# The .pc files find the prefix from their own place, so an installed tree can be moved.
file(RELATIVE_PATH starling_pc_prefix "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
foreach(pc starling starling-module)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
