cmake_minimum_required(VERSION 3.25)
# Model-checks wake_protocol.pml for one protocol: spin writes a verifier
# (pan.c), the C compiler builds it, and its report must say "errors: 0"
# (EXPECT=ok) or report the lost wake-up as an invalid end state
# (EXPECT=lost_wakeup).
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
function(run)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${WORK}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(out "${out}${err}" PARENT_SCOPE)
  set(rc "${rc}" PARENT_SCOPE)
endfunction()
run("${SPIN}" -a -D${PROTOCOL} "${MODEL}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "spin -a failed (${rc}):\n${out}")
endif()
run("${CC}" -O1 -o pan pan.c)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building the verifier failed (${rc}):\n${out}")
endif()
run("${WORK}/pan")
message("${out}")
if(NOT out MATCHES "errors: ([0-9]+)")
  message(FATAL_ERROR "no verdict in the verifier's report")
endif()
set(errors "${CMAKE_MATCH_1}")
if(EXPECT STREQUAL "ok" AND NOT errors EQUAL 0)
  message(FATAL_ERROR "${PROTOCOL}: the model checker found ${errors} error(s)")
elseif(EXPECT STREQUAL "lost_wakeup" AND
       (errors EQUAL 0 OR NOT out MATCHES "invalid end state"))
  message(FATAL_ERROR "${PROTOCOL}: the known lost wake-up was not found")
endif()
