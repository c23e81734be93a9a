cmake_minimum_required(VERSION 3.25)
# Exit statuses a CI job can trust: 2 for a filter that does not compile or
# matches nothing (naming another platform's transports where it names
# them), 1 after a run in which a benchmark failed, 0 for a size a limit
# refused unless --ipc_strict; --benchmark_min_time in either spelling.

# Runs BENCH with the arguments; expects status `want` and, if given, each
# `needle` (a regular expression) on stderr.
function(expect want)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "ARGS;STDERR;NOT_OUTPUT")
  execute_process(COMMAND ${arg_ARGS} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL "${want}")
    message(FATAL_ERROR "${arg_ARGS}: exit status ${rc}, expected ${want}\n${err}")
  endif()
  foreach(needle IN LISTS arg_STDERR)
    if(NOT err MATCHES "${needle}")
      message(FATAL_ERROR "${arg_ARGS}: stderr lacks '${needle}':\n${err}")
    endif()
  endforeach()
  foreach(needle IN LISTS arg_NOT_OUTPUT)
    if("${out}${err}" MATCHES "${needle}")
      message(FATAL_ERROR "${arg_ARGS}: output has '${needle}':\n${out}${err}")
    endif()
  endforeach()
  set(out "${out}" PARENT_SCOPE)
endfunction()

expect(2 ARGS "${BENCH}" "--benchmark_filter=("
       STDERR "--benchmark_filter: '\\(' is no regular expression" "accepted:"
       NOT_OUTPUT "PingPong/")
expect(2 ARGS "${BENCH}" "--benchmark_filter=^none$"
       STDERR "--benchmark_filter: '\\^none\\$' matches no benchmark" "accepted:")
expect(2 ARGS ${CMAKE_COMMAND} -E env BENCHMARK_FILTER=^none$ "${BENCH}"
       --benchmark_list_tests STDERR "matches no benchmark")

# Another platform's transports: named, with their platform and the closest
# one here; --ipc_list shows them too.
if(CMAKE_HOST_SYSTEM_NAME STREQUAL "Darwin")
  expect(2 ARGS "${BENCH}" --benchmark_filter=Memfd
         STDERR "MemfdSeal exists on Linux only; on macOS the closest is MachOOL")
  set(row "MemfdSeal +Linux only +- +closest here: MachOOL")
else()
  expect(2 ARGS "${BENCH}" --benchmark_filter=OOL
         STDERR "MachOOL and MachOOLPhysical exist on macOS only; on Linux the closest is MemfdSeal")
  set(row "MachOOL +macOS only +- +closest here: MemfdSeal")
endif()
expect(0 ARGS "${BENCH}" --ipc_list)
if(NOT out MATCHES "${row}")
  message(FATAL_ERROR "--ipc_list lacks '${row}':\n${out}")
endif()
# Each of the other platform's transports names a closest one that is built
# here (the hand-written table keeps up with the transport folders).
string(REGEX MATCHALL "\n[A-Za-z0-9]+ +(available|unavailable)" here "${out}")
string(REGEX MATCHALL "\n[A-Za-z0-9]+ +(macOS|Linux) only[^\n]*" elsewhere "${out}")
if(elsewhere STREQUAL "")
  message(FATAL_ERROR "--ipc_list shows no transport of the other platform:\n${out}")
endif()
foreach(line IN LISTS elsewhere)
  string(REGEX MATCH "closest here: ([A-Za-z0-9]+)$" closest "${line}")
  if(NOT closest OR NOT here MATCHES "\n${CMAKE_MATCH_1} ")
    message(FATAL_ERROR "--ipc_list: no closest transport built here in '${line}'")
  endif()
endforeach()

# A size a limit refuses (RLIMIT_NOFILE below what a peer needs: IPCB_ELIMIT)
# is reported, and fails the run only with --ipc_strict or IPC_STRICT.
set(one "--benchmark_filter=^PingPong/Pipe/12$" --ipc_sizes=12
        --benchmark_min_time=0.01)
set(limited sh -c "ulimit -n 16 && exec \"$@\"" sh)
expect(0 ARGS ${limited} "${BENCH}" ${one}
       STDERR "1 benchmark refused by a limit" "\n  PingPong/Pipe/12: IPCB_ELIMIT: ")
expect(1 ARGS ${limited} "${BENCH}" ${one} --ipc_strict
       STDERR "1 benchmark refused by a limit \\(failures under --ipc_strict\\)")
expect(1 ARGS ${limited} ${CMAKE_COMMAND} -E env IPC_STRICT=1 "${BENCH}" ${one})
expect(0 ARGS "${BENCH}" ${one} --ipc_strict NOT_OUTPUT "refused|failed")

# A benchmark that fails for real: POSIX shared memory cannot grow past
# RLIMIT_FSIZE (SIGXFSZ ignored, so ftruncate fails with EFBIG). The run
# goes on to the next benchmark, then exits 1 with one line naming the
# failed one and why.
if(CMAKE_HOST_SYSTEM_NAME STREQUAL "Linux")
  expect(1 ARGS sh -c "trap '' XFSZ && ulimit -f 8 && exec \"$@\"" sh "${BENCH}"
         "--benchmark_filter=^PingPong/(PosixShm|TCP)/4096$" --ipc_sizes=4KiB
         --benchmark_min_time=0.01
         STDERR "ipc_bench: 1 benchmark failed:\n  PingPong/PosixShm/4096: [^\n]*ftruncate")
  if(NOT out MATCHES "PingPong/TCP/4096/real_time +[0-9]")
    message(FATAL_ERROR "the benchmark after the failed one did not run:\n${out}")
  endif()
endif()

# --benchmark_min_time in both spellings, quietly, on the linked release; a
# value neither takes is refused before anything runs.
foreach(value 0.01 0.01s)
  expect(0 ARGS "${BENCH}" "--benchmark_filter=^Baseline/Null$"
         --benchmark_min_time=${value} --benchmark_format=json
         NOT_OUTPUT "LOG\\(0\\)" "should have a suffix" "unrecognized"
                    "expected to be a double")
  string(JSON version GET "${out}" context benchmark_library_version)
  if(NOT version MATCHES "^[0-9]+\\.[0-9]+")
    message(FATAL_ERROR "benchmark_library_version is '${version}'")
  endif()
endforeach()
foreach(value 0.01ms -1 s "")
  expect(2 ARGS "${BENCH}" --benchmark_min_time=${value}
         STDERR "--benchmark_min_time: '${value}': not a duration; accepted: seconds \\(0.5 or 0.5s\\)"
         NOT_OUTPUT "PingPong/")
endforeach()
expect(2 ARGS ${CMAKE_COMMAND} -E env BENCHMARK_MIN_TIME=soon "${BENCH}"
       STDERR "BENCHMARK_MIN_TIME: 'soon': not a duration")

# Google Benchmark's own checks of its output flags would exit 0 or 1;
# ipc_bench refuses them first, as bad input.
expect(2 ARGS "${BENCH}" --benchmark_format=JSON
       STDERR "--benchmark_format: 'JSON' is not one of console, json, csv")
expect(2 ARGS "${BENCH}" --benchmark_out_format=xml
       STDERR "--benchmark_out_format: 'xml' is not one of")
expect(2 ARGS "${BENCH}" --benchmark_color=
       STDERR "--benchmark_color: empty")
expect(2 ARGS "${BENCH}" --benchmark_out=/nonexistent-ipcb-dir/r.json
       STDERR "--benchmark_out: cannot write '/nonexistent-ipcb-dir/r.json'")
# An empty BENCHMARK_MIN_TIME counts as unset: the default minimum time,
# not 0 s (which would run a benchmark once).
expect(0 ARGS ${CMAKE_COMMAND} -E env BENCHMARK_MIN_TIME= "${BENCH}"
       --benchmark_filter=Baseline/PercentileClock --benchmark_format=json)
string(JSON iterations GET "${out}" benchmarks 0 iterations)
if(iterations LESS 1000)
  message(FATAL_ERROR "an empty BENCHMARK_MIN_TIME ran ${iterations} iterations")
endif()
