// The JSON context: enough to tell two machines' results apart.
#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <set>
#include <string>

#include "harness.h"
#include "ipcb/ipcb.h"
#include "revision.h" // IPCB_GIT_REVISION, written at build time

namespace ipcb {

void AddContext(const Flags &flags) {
  ipcb_sysinfo info;
  ipcb_sysinfo_read(&info);
  benchmark::AddCustomContext("ipcb_version", IPCB_VERSION);
  benchmark::AddCustomContext("ipcb_git_revision", IPCB_GIT_REVISION);
  benchmark::AddCustomContext("ipcb_build_type", IPCB_BUILD_TYPE);
  benchmark::AddCustomContext("benchmark_library_version",
                              BenchmarkLibraryVersion());
  benchmark::AddCustomContext("ipcb_percentile_clock", ipcb_ticks_source());
  benchmark::AddCustomContext("os", info.os);
  benchmark::AddCustomContext("os_release", info.release);
  benchmark::AddCustomContext("os_version", info.version);
  benchmark::AddCustomContext("os_distribution", info.distro);
  if (info.libc[0])
    benchmark::AddCustomContext("libc", info.libc);
  benchmark::AddCustomContext("machine", info.machine);
  benchmark::AddCustomContext("cpu_model", info.cpu_model);
  benchmark::AddCustomContext("logical_cpus",
                              std::to_string(info.logical_cpus));
  benchmark::AddCustomContext("page_size", std::to_string(info.page_size));
  benchmark::AddCustomContext("cache_line", std::to_string(info.cache_line));
  benchmark::AddCustomContext("ipc_verify", flags.verify ? "full" : "stamps");
  benchmark::AddCustomContext("ipc_timeout_ns",
                              std::to_string(flags.timeout_ns));
  benchmark::AddCustomContext("ipc_window", std::to_string(flags.window));
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) // the peer inherits it
    benchmark::AddCustomContext(
        "RLIMIT_NOFILE",
        files.rlim_cur == RLIM_INFINITY
            ? "unlimited"
            : std::to_string(static_cast<unsigned long long>(files.rlim_cur)));
  benchmark::AddCustomContext("ipc_placement", PlacementText(flags));
  // What the cost counters count here, and why any is left out: once, here,
  // rather than a zero in every result.
  char cost[512];
  ipcb_usage_available(cost, sizeof cost);
  benchmark::AddCustomContext("cost_counters", cost);
  // main() gave this thread the sessions' class (ApplyThreadClass): what is
  // read here is what both sides of every session run at.
  char thread_class[160];
  ipcb_describe_thread_class(thread_class, sizeof thread_class);
  benchmark::AddCustomContext("ipc_thread_class", thread_class);
  if (const char *method = ipcb_probe_bootstrap_method())
    benchmark::AddCustomContext("mach_bootstrap", method);
  // The kernel limits in force, under the names the OS gives them. macOS
  // names one value for two ids (MSGMNB caps a message too): record it once.
  std::set<std::string> limit_names;
  for (int id = 0; id < IPCB_LIMIT_COUNT; id++) {
    ipcb_limit limit;
    if (ipcb_kernel_limit(static_cast<ipcb_limit_id>(id), &limit) == 0 &&
        limit_names.insert(limit.name).second)
      benchmark::AddCustomContext(limit.name, std::to_string(limit.value));
  }
  // Each transport's native limit as read from the running kernel.
  for (size_t i = 0; i < ipcb_transport_count(); i++) {
    const ipcb_transport *transport = ipcb_transport_at(i);
    size_t max = ipcb_transport_limit(transport);
    benchmark::AddCustomContext(std::string("limit_") + transport->name,
                                max ? std::to_string(max) : "none");
  }
}

} // namespace ipcb
