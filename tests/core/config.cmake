starling_test(config_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/config_test.cpp LIBS starling_config)
starling_test(environment_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/environment_test.cpp
  LIBS starling_config LABELS concurrency)
