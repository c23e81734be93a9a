cmake_minimum_required(VERSION 3.25)
# Runs ipc_bench briefly and checks the JSON: every transport of the build
# has a PingPong result with a real time and no error.
execute_process(
  COMMAND "${BENCH}" --benchmark_min_time=0.01 --ipc_sizes=12,4KiB
          --benchmark_out=${OUT} --benchmark_out_format=json
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ipc_bench exited with ${rc}\n${out}\n${err}")
endif()
file(READ "${OUT}" json)
# What makes two runs comparable: the machine, the build, the placement and
# scheduling class, and the kernel limits in force.
foreach(key os os_release cpu_model logical_cpus page_size cache_line
        ipcb_git_revision ipcb_build_type ipc_verify ipc_window ipc_placement
        ipc_thread_class cost_counters)
  string(JSON value ERROR_VARIABLE missing GET "${json}" context ${key})
  if(NOT missing STREQUAL "NOTFOUND" OR value STREQUAL "")
    message(FATAL_ERROR "the context has no ${key}")
  endif()
endforeach()
# Both systems' classes, as read back: macOS the requested QoS (user-
# interactive unless --ipc_qos says otherwise) and the base priority in
# effect, Linux the policy.
string(JSON class GET "${json}" context ipc_thread_class)
if(CMAKE_HOST_SYSTEM_NAME STREQUAL "Darwin")
  set(expect "^QoS user-interactive \\(requested; in effect: base priority [0-9]+")
else()
  set(expect "^SCHED_[A-Z]+")
endif()
if(NOT class MATCHES "${expect}")
  message(FATAL_ERROR "ipc_thread_class is '${class}', expected ${expect}")
endif()
string(JSON placement GET "${json}" context ipc_placement)
if(NOT placement STREQUAL "not pinned")
  message(FATAL_ERROR "ipc_placement is '${placement}' without --ipc_cpus")
endif()
string(JSON count LENGTH "${json}" benchmarks)
set(seen "")
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON name GET "${json}" benchmarks ${i} name)
  string(JSON error ERROR_VARIABLE no_error GET "${json}" benchmarks ${i} error_message)
  if(no_error STREQUAL "NOTFOUND")
    message(FATAL_ERROR "${name} failed: ${error}")
  endif()
  string(JSON real_time GET "${json}" benchmarks ${i} real_time)
  if(real_time LESS_EQUAL 0)
    message(FATAL_ERROR "${name} has no real time")
  endif()
  # Every PingPong and Stream result (and the two-process baselines) says
  # what an iteration cost both sides; a counter the platform lacks is left
  # out, never zero.
  set(costs cpu_client_ns cpu_peer_ns ctx_switches page_faults)
  # A kernel without CONFIG_SCHED_INFO has no per-thread CPU time of the
  # peer, and the context says so.
  string(JSON counted GET "${json}" context cost_counters)
  if(counted MATCHES "peer's CPU time is not counted")
    list(REMOVE_ITEM costs cpu_peer_ns)
  endif()
  if(CMAKE_HOST_SYSTEM_NAME STREQUAL "Darwin")
    list(APPEND costs cow_faults)
  else()
    list(APPEND costs ctx_voluntary)
  endif()
  if(name MATCHES "^(PingPong|Stream)/|^Baseline/(Null|CacheLine)/")
    foreach(counter IN LISTS costs)
      string(JSON value ERROR_VARIABLE missing GET "${json}" benchmarks ${i} ${counter})
      if(NOT missing STREQUAL "NOTFOUND" OR value LESS 0)
        message(FATAL_ERROR "${name} has no ${counter} (or a negative one): ${missing}")
      endif()
    endforeach()
  elseif(name MATCHES "^ColdStart/|^Baseline/Memcpy/")
    string(JSON value ERROR_VARIABLE missing GET "${json}" benchmarks ${i} cpu_peer_ns)
    if(missing STREQUAL "NOTFOUND")
      message(FATAL_ERROR "${name} has cpu_peer_ns, but it has no peer loop")
    endif()
  endif()
  # Baselines have no PingPong: Baseline/<Name> stands for them.
  if(name MATCHES "^(PingPong/|Baseline/)([A-Za-z0-9]+)")
    list(APPEND seen "${CMAKE_MATCH_2}")
  endif()
endforeach()
foreach(transport IN LISTS TRANSPORTS)
  if(NOT transport IN_LIST seen)
    message(FATAL_ERROR "no PingPong result for ${transport}\n${err}")
  endif()
endforeach()
message(STATUS "${count} results, transports: ${seen}")
