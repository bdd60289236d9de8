# The node configuration file and the node environment (shared/spec/config.md).
add_library(starling_config
  ${CMAKE_CURRENT_LIST_DIR}/environment.cpp
  ${CMAKE_CURRENT_LIST_DIR}/config.cpp)
target_include_directories(starling_config PUBLIC ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(starling_config PUBLIC starling_base PkgConfig::LUA fmt::fmt)
