// Registers <Family>/<Transport>/<bytes> for every available transport.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "catalog.h"
#include "families.h"
#include "harness.h"
#include "outcome.h"

namespace ipcb {
namespace {

bool Available(const ipcb_transport *transport, std::string *why) {
  const char *text = "";
  if (ipcb_transport_probe(transport, &text) == 0)
    return true;
  *why = text;
  return false;
}

} // namespace

using RunFn = void (*)(benchmark::State &, const ipcb_transport *, size_t,
                       const Flags &);

void RegisterFamily(const char *family, RunFn run,
                    const ipcb_transport *transport,
                    const std::vector<size_t> &sizes, const Flags &flags) {
  for (size_t bytes : sizes) {
    std::string name = std::string(family) + "/" + transport->name + "/" +
                       std::to_string(bytes);
    benchmark::RegisterBenchmark(name.c_str(), [name, run, transport, bytes,
                                                flags](
                                                   benchmark::State &state) {
      Running running(name);
      run(state, transport, bytes, flags);
    })->UseRealTime();
  }
}

void RegisterBenchmarks(const Flags &flags) {
  // ColdStart reproduces the 2017 table: "Hello World" and 4 MiB.
  std::vector<size_t> cold_sizes =
      flags.sizes_given ? flags.sizes : std::vector<size_t>{12, 4 << 20};
  for (size_t i = 0; i < ipcb_transport_count(); i++) {
    const ipcb_transport *transport = ipcb_transport_at(i);
    std::string why;
    if (transport->caps & IPCB_CAP_BASELINE)
      continue;
    if (!Available(transport, &why)) {
      fprintf(stderr, "ipc_bench: %s is not available here: %s\n",
              transport->name, why.c_str());
      continue;
    }
    RegisterFamily("PingPong", RunPingPong, transport, flags.sizes, flags);
    RegisterFamily("Stream", RunStream, transport, flags.sizes, flags);
    RegisterFamily("ColdStart", RunColdStart, transport, cold_sizes, flags);
  }
}

void PrintTransportList() {
  printf("%-16s %-11s %-12s %s\n", "transport", "status", "limit", "summary");
  for (size_t i = 0; i < ipcb_transport_count(); i++) {
    const ipcb_transport *transport = ipcb_transport_at(i);
    std::string why;
    bool available = Available(transport, &why);
    char limit[32] = "none";
    size_t max = ipcb_transport_limit(transport);
    if (max && max < (size_t)1 << 60) // Linux's default shmmax is ~2^64
      ipcb_format_size(max, limit, sizeof limit);
    printf("%-16s %-11s %-12s %s%s\n", transport->name,
           available ? "available" : "unavailable", limit, transport->summary,
           (transport->caps & IPCB_CAP_CHUNKED) && max
               ? " (chunked above the limit)"
               : "");
    if (!available)
      printf("%-16s   why: %s\n", "", why.c_str());
  }
  PrintOtherPlatforms();
}

} // namespace ipcb
