cmake_minimum_required(VERSION 3.25)
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
    "--ipc_strict=maybe|--ipc_strict: 'maybe'|accepted: true, false"
    "--ipc_cpus=0|--ipc_cpus: '0'|accepted: C,P"
    "--ipc_cpus=0,4096|--ipc_cpus: '0,4096'|not one this process may use"
    "--ipc_qos=fast|--ipc_qos: 'fast'|accepted: user-interactive, user-initiated, default, utility, background"
    "--ipc_qos=|--ipc_qos: ''|accepted: user-interactive"
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
    "IPC_VERIFY=yes|IPC_VERIFY: 'yes'|accepted: true, false"
    "IPC_STRICT=yes|IPC_STRICT: 'yes'|accepted: true, false"
    "IPC_QOS=Utility|IPC_QOS: 'Utility'|accepted: user-interactive")
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
# The flags were taken; the filter that matches nothing is what exits 2.
if(NOT rc EQUAL 2 OR err MATCHES "IPC_WINDOW" OR NOT err MATCHES "matches no benchmark")
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
# --ipc_qos is macOS's placement knob. Linux has no QoS classes: a valid
# class is refused there, as --ipc_cpus is on macOS. On macOS the class is
# taken by both sides (a Pipe run succeeds, so the peer parsed it) and the
# context records it as requested, with the base priority in effect.
if(NOT CMAKE_HOST_SYSTEM_NAME STREQUAL "Darwin")
  foreach(given "--ipc_qos=utility" "IPC_QOS=user-interactive")
    string(REGEX REPLACE "=.*" "" source "${given}")
    if(given MATCHES "^--")
      set(command "${BENCH}" "${given}")
    else()
      set(command ${CMAKE_COMMAND} -E env "${given}" "${BENCH}")
    endif()
    execute_process(COMMAND ${command} --benchmark_filter=^none$
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 2 OR NOT err MATCHES "${source}: '[a-z-]+': this OS has no QoS classes")
      message(FATAL_ERROR "${given} on ${CMAKE_HOST_SYSTEM_NAME}: exit status "
              "${rc}, expected 2 and a refusal naming ${source}:\n${err}")
    endif()
  endforeach()
else()
  execute_process(COMMAND "${BENCH}" --ipc_qos=utility
                  "--benchmark_filter=^PingPong/Pipe/12$" --benchmark_min_time=0.01
                  --benchmark_format=json
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "--ipc_qos=utility: exit status ${rc}\n${err}")
  endif()
  string(JSON class GET "${out}" context ipc_thread_class)
  string(JSON error ERROR_VARIABLE no_error GET "${out}" benchmarks 0 error_message)
  if(NOT class MATCHES "^QoS utility \\(requested; in effect: base priority [0-9]+"
     OR no_error STREQUAL "NOTFOUND")
    message(FATAL_ERROR "--ipc_qos=utility: ipc_thread_class '${class}', "
            "PingPong/Pipe/12: '${error}'")
  endif()
endif()
