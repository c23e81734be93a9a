cmake_minimum_required(VERSION 3.24)
# Bad --ipc_* values: exit status 2 and a message naming flag, value and
# what is accepted, before any benchmark runs.
foreach(case
    "--ipc_sizes=12,lots|--ipc_sizes: '12,lots'|accepted:"
    "--ipc_sizes=|--ipc_sizes: ''|accepted:"
    "--ipc_timeout=soon|--ipc_timeout: 'soon'|accepted:"
    "--ipc_bogus=1|unknown flag --ipc_bogus|accepted:"
    "--ipc_window=0|--ipc_window: '0'|1 to 1024"
    "--ipc_window=-3|--ipc_window: '-3'|1 to 1024"
    "--ipc_window=+5|--ipc_window: '+5'|1 to 1024"
    "--ipc_verify=maybe|--ipc_verify: 'maybe'|accepted: true, false"
    "--ipc_verify=|--ipc_verify: ''|accepted: true, false"
    "--ipc_cpus=0|--ipc_cpus: '0'|accepted: C,P"
    "--ipc_cpus=0,4096|--ipc_cpus: '0,4096'|not one this process may use"
    "--benchmark_bogus=1|benchmark_bogus|")
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 flag)
  list(GET parts 1 expect)
  execute_process(COMMAND "${BENCH}" "${flag}" RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 2)
    message(FATAL_ERROR "${flag}: exit status ${rc}, expected 2\n${out}${err}")
  endif()
  string(FIND "${err}" "${expect}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${flag}: stderr lacks '${expect}':\n${err}")
  endif()
  if(out MATCHES "PingPong/")
    message(FATAL_ERROR "${flag}: benchmarks ran despite the bad flag")
  endif()
endforeach()
# The same through the environment: the variable's name, its value, what is
# accepted; a flag given on the command line overrides a bad variable.
foreach(case
    "IPC_SIZES=4 KiB|IPC_SIZES: '4 KiB'|accepted:"
    "IPC_TIMEOUT=0s|IPC_TIMEOUT: '0s'|accepted:"
    "IPC_WINDOW=2000|IPC_WINDOW: '2000'|1 to 1024"
    "IPC_CPUS=any|IPC_CPUS: 'any'|accepted: C,P"
    "IPC_VERIFY=yes|IPC_VERIFY: 'yes'|accepted: true, false")
  string(REPLACE "|" ";" parts "${case}")
  list(GET parts 0 variable)
  list(GET parts 1 expect)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env "${variable}" "${BENCH}"
                  --benchmark_filter=^none$ RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 2 OR err STREQUAL "")
    message(FATAL_ERROR "${variable}: exit status ${rc}, expected 2\n${err}")
  endif()
  string(FIND "${err}" "${expect}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${variable}: stderr lacks '${expect}':\n${err}")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -E env IPC_WINDOW=2000 "${BENCH}"
                --ipc_window=8 --benchmark_filter=^none$ RESULT_VARIABLE rc
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "--ipc_window=8 did not override IPC_WINDOW (${rc}):\n${err}")
endif()
execute_process(COMMAND "${BENCH}" --ipc_list RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "available")
  message(FATAL_ERROR "--ipc_list failed (${rc}):\n${out}")
endif()
# An anchored filter matches despite Google Benchmark's /real_time suffix.
execute_process(COMMAND "${BENCH}" "--benchmark_filter=PingPong/.*/12$"
                --benchmark_list_tests RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "PingPong/Pipe/12/real_time" OR
   out MATCHES "/4096" OR out MATCHES "(^|\n)Stream/")
  message(FATAL_ERROR "anchored filter listed the wrong set (${rc}):\n${out}")
endif()
