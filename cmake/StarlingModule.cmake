# starling_add_module(<name> <source>...): the native module `<name>.so`, written to
# ${PROJECT_BINARY_DIR}/cservice so that a node finds it with
# cpath = "<that directory>/?.so" (docs/API.md, "Native modules"). One of the sources defines
# the entry point: STARLING_MODULE("<name>", <service type>). The target is named <name>.
function(starling_add_module name)
  if(NOT ARGN)
    message(FATAL_ERROR "starling_add_module(${name}): no sources")
  endif()
  add_library(${name} MODULE ${ARGN})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    SUFFIX ".so"
    LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/cservice)
  target_link_libraries(${name} PRIVATE Starling::module)
endfunction()
