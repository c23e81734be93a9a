// Baseline/*: the floors every result is read against, measured in the same
// run with the same fixture: Null (harness, core and stamps, no IPC),
// CacheLine (one shared line flipped between two processes),
// Memcpy/<bytes> (one copy between two private buffers, in this process) and
// PercentileClock (what timing one PingPong iteration costs).
#include <benchmark/benchmark.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "families.h"
#include "harness.h"
#include "outcome.h"

namespace ipcb {
namespace {

// The 2017 "Hello World": small enough that Null and CacheLine measure
// per-round-trip cost, not bytes, and that it fits CacheLine's one line.
constexpr size_t kFloorBytes = 12;

// The buffers are written before the loop, so no first-touch page fault is
// timed; the copy runs from whatever cache level n bytes fit in, as the
// copies of a transport do.
void RunMemcpy(benchmark::State &state, size_t bytes) {
  std::vector<unsigned char> src(bytes, 0x5a), dst(bytes, 0);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(bytes));
}

// What PingPong adds to each round trip for its percentiles: one counter
// read and one histogram record. Part of every PingPong time and of Null.
void RunPercentileClock(benchmark::State &state) {
  ipcb_histogram *latency = ipcb_histogram_new();
  if (!latency) {
    Fail(state, -ENOMEM, "out of memory for the histogram");
    return;
  }
  uint64_t last = ipcb_ticks();
  for (auto _ : state) {
    uint64_t now = ipcb_ticks();
    ipcb_histogram_record(latency, static_cast<int64_t>(now - last));
    last = now;
  }
  benchmark::DoNotOptimize(ipcb_histogram_count(latency));
  ipcb_histogram_free(latency);
  state.SetLabel(std::string("one read of the ") + ipcb_ticks_source() +
                 " and one histogram record");
}

} // namespace

void RegisterBaselines(const Flags &flags) {
  benchmark::RegisterBenchmark("Baseline/PercentileClock",
                               [](benchmark::State &state) {
                                 Running running("Baseline/PercentileClock");
                                 RunPercentileClock(state);
                               })
      ->UseRealTime();
  for (size_t i = 0; i < ipcb_transport_count(); i++) {
    const ipcb_transport *transport = ipcb_transport_at(i);
    const char *why = "";
    if (!(transport->caps & IPCB_CAP_BASELINE))
      continue;
    if (ipcb_transport_probe(transport, &why) != 0) {
      fprintf(stderr, "ipc_bench: Baseline/%s is not available here: %s\n",
              transport->name, why);
      continue;
    }
    std::string name = std::string("Baseline/") + transport->name;
    benchmark::RegisterBenchmark(name.c_str(), [name, transport, flags](
                                                   benchmark::State &state) {
      Running running(name);
      RunPingPongLabelled(state, transport, kFloorBytes, flags,
                          "round trip of " + std::to_string(kFloorBytes) +
                              " B each way");
    })->UseRealTime();
  }
  for (size_t bytes : flags.sizes) {
    std::string name = "Baseline/Memcpy/" + std::to_string(bytes);
    benchmark::RegisterBenchmark(name.c_str(), [bytes](
                                                   benchmark::State &state) {
      RunMemcpy(state, bytes);
    })->UseRealTime();
  }
}

} // namespace ipcb
