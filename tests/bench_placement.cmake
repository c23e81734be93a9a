cmake_minimum_required(VERSION 3.25)
# Linux: --ipc_cpus=same pins both sides to one CPU, the run completes, the
# context says where they ran, and PingPong carries its percentiles in order.
execute_process(
  COMMAND "${BENCH}" --ipc_cpus=same --benchmark_filter=PingPong/Pipe/12$
          --benchmark_min_time=0.01 --benchmark_out=${OUT}
          --benchmark_out_format=json
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ipc_bench exited with ${rc}\n${out}\n${err}")
endif()
file(READ "${OUT}" json)
string(JSON placement GET "${json}" context ipc_placement)
if(NOT placement MATCHES "^client=([0-9]+) peer=([0-9]+)$"
   OR NOT CMAKE_MATCH_1 STREQUAL CMAKE_MATCH_2)
  message(FATAL_ERROR "ipc_placement is '${placement}', not one shared CPU")
endif()
string(JSON count LENGTH "${json}" benchmarks)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one result, got ${count}")
endif()
set(previous 0)
foreach(counter p50 p90 p99 p999 max)
  string(JSON value GET "${json}" benchmarks 0 ${counter})
  if(value LESS previous OR value LESS_EQUAL 0)
    message(FATAL_ERROR "${counter} = ${value} after ${previous}")
  endif()
  set(previous ${value})
endforeach()
message(STATUS "placement '${placement}', p50..max in order")
