# Runs one Lua test case: cmake -DSTARLING=<binary> -DSOURCE_DIR=<repository root>
#   -DCASE=<topic> -DWORK_DIR=<scratch directory> [-DTIMEOUT=<seconds>]
#   [-DSANITIZER=address|thread] [-DCSERVICE=<directory>] -P run_case.cmake
#
# Writes a single-node config into WORK_DIR whose start service is
# tests/lua/cases/<topic>.lua and whose log service is tests/lua/services/testlogger.lua
# (snax files: tests/lua/snax/, then WORK_DIR/snax/; lines `--! <line>` of the case file are
# appended to the config),
# runs the node from WORK_DIR and succeeds only if it exited with status 0, printed
# `TEST OK <topic>`, printed no `TEST FAIL` and logged no `KILL` line after the verdict
# (skynet.abort() retires everything silently). Otherwise prints the whole output and
# fails. The output is printed on success too (visible with ctest -V). The config's
# `test_sanitizer` says which sanitizer the binary was built with ("" for none), for cases
# whose memory figures mean nothing under one. `test_starling` is the binary, for cases that
# start more nodes (tests/lua/lib/nodes.lua). The config's `cpath` is CSERVICE/?.so, by
# default the cservice/ directory beside the binary's bin/ (where the build puts the demo and
# test modules, pong.so, ...).
#
# Cases named redis*.lua run the node under tests/support/with_redis.sh, which starts
# throwaway redis-server instances and exports their ports (REDIS_PORT, REDIS_CLUSTER_PORTS,
# REDIS_CTL; a case reads them with `--! test_redis_port = "$REDIS_PORT"`). A line
# `-- with_redis: <options>` of the case file passes options to it (e.g. `--cluster 3`).
# Without redis-server such a case fails. Cases named mysql*.lua run under
# tests/support/with_mariadb.sh in the same way (MYSQL_PORT; `--! test_mysql_port = "$MYSQL_PORT"`).

foreach(var STARLING SOURCE_DIR CASE WORK_DIR)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_case.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT DEFINED TIMEOUT)
  set(TIMEOUT 120)
endif()

if(NOT DEFINED CSERVICE OR CSERVICE STREQUAL "")
  get_filename_component(bin_dir "${STARLING}" DIRECTORY)
  get_filename_component(CSERVICE "${bin_dir}/../cservice" ABSOLUTE)
endif()

set(src "${SOURCE_DIR}")
set(lua "${SOURCE_DIR}/tests/lua")
set(case_file "${lua}/cases/${CASE}.lua")
if(NOT EXISTS "${case_file}")
  message(FATAL_ERROR "run_case.cmake: no case file ${case_file}")
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/svc" "${WORK_DIR}/snax")

# Long brackets keep the paths literal. Keys test_* are read by testlib and the cases.
set(config "-- written by tests/lua/run_case.cmake for case ${CASE}
thread = 2
harbor = 0
bootstrap = \"snlua bootstrap\"
logservice = \"snlua\"
logger = \"testlogger\"
start = \"${CASE}\"
lualoader = [==[${src}/lualib/loader.lua]==]
lua_path = [==[${src}/lualib/?.lua;${src}/lualib/?/init.lua;${lua}/lib/?.lua]==]
lua_cpath = [==[${src}/luaclib/?.so]==]
cpath = [==[${CSERVICE}/?.so]==]
luaservice = [==[${src}/service/?.lua;${lua}/services/?.lua;${lua}/services/?/init.lua;${lua}/cases/?.lua;${WORK_DIR}/svc/?.lua]==]
snax = [==[${lua}/snax/?.lua;${WORK_DIR}/snax/?.lua]==]
test_case = \"${CASE}\"
test_src = [==[${lua}]==]
test_tmp = [==[${WORK_DIR}]==]
test_sanitizer = \"${SANITIZER}\"
test_starling = [==[${STARLING}]==]
test_vectors = [==[${src}/tests/vectors]==]
")
# A case may add config lines of its own: lines `--! <line>` of the case file are appended
# (so `--! snax = nil` removes a key set above).
file(STRINGS "${case_file}" extra_lines REGEX "^--! ")
foreach(line IN LISTS extra_lines)
  string(SUBSTRING "${line}" 4 -1 line)
  string(APPEND config "${line}\n")
endforeach()
file(WRITE "${WORK_DIR}/config" "${config}")

set(node_command "${STARLING}" "${WORK_DIR}/config")
set(process_timeout ${TIMEOUT})
if(CASE MATCHES "^redis")
  file(STRINGS "${case_file}" fixture_line REGEX "^-- with_redis:" LIMIT_COUNT 1)
  string(REGEX REPLACE "^-- with_redis:[ ]*" "" fixture_options "${fixture_line}")
  separate_arguments(fixture_options UNIX_COMMAND "${fixture_options}")
  # The fixture enforces the timeout itself, so that it can still stop its servers.
  set(node_command "${SOURCE_DIR}/tests/support/with_redis.sh" ${fixture_options}
    --timeout ${TIMEOUT} -- ${node_command})
  math(EXPR process_timeout "${TIMEOUT} + 30")
endif()

if(CASE MATCHES "^mysql")
  # A throwaway MariaDB server (MYSQL_PORT); without MariaDB a SKIP line (ctest skips the case).
  set(node_command "${SOURCE_DIR}/tests/support/with_mariadb.sh" --timeout ${TIMEOUT} -- ${node_command})
  math(EXPR process_timeout "${TIMEOUT} + 60")
endif()

execute_process(
  COMMAND ${node_command}
  WORKING_DIRECTORY "${WORK_DIR}"
  TIMEOUT ${process_timeout}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)

set(problems "")
if(NOT "${rc}" STREQUAL "0")
  string(APPEND problems "  exit status: ${rc} (want 0)\n")
endif()
string(FIND "${out}" "TEST OK ${CASE}\n" ok_at)
if(ok_at EQUAL -1)
  string(APPEND problems "  no `TEST OK ${CASE}` line\n")
else()
  string(SUBSTRING "${out}" ${ok_at} -1 after_verdict)
  if(after_verdict MATCHES "\\] KILL ")
    string(APPEND problems "  a KILL line after the verdict (abort must retire services silently)\n")
  endif()
endif()
string(FIND "${out}" "TEST FAIL" fail_at)
if(NOT fail_at EQUAL -1)
  string(APPEND problems "  a `TEST FAIL` line\n")
endif()

if(problems STREQUAL "")
  message("${out}")
  message("lua.${CASE}: passed")
else()
  message("${out}")
  message(FATAL_ERROR "lua.${CASE} failed:\n${problems}config: ${WORK_DIR}/config")
endif()
