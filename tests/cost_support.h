// Measuring what PingPong round trips or Stream messages cost both sides,
// as the benchmarks do: the counters read around the loop.
#ifndef IPCB_TESTS_COST_SUPPORT_H
#define IPCB_TESTS_COST_SUPPORT_H

#include <gtest/gtest.h>

#include <cstdint>

#include "ipcb/ipcb.h"

namespace ipcb_test {

struct LoopCost {
  uint64_t iterations = 0; // round trips, or Stream messages
  double wall_ns = 0;      // per iteration
  ipcb_usage client{}, peer{};
  double PerIteration(int64_t total) const {
    return static_cast<double>(total) / static_cast<double>(iterations);
  }
};

// Placement of the two sides: -1 leaves a side where the OS puts it.
struct Placement {
  int client_cpu = -1, peer_cpu = -1;
};

// Iterations of `pattern` (PingPong or Stream) with messages of `bytes`
// for about `run_ns` after one warm-up, on a thread of its own (so that
// pinning it leaves the test's thread alone), with both sides' usage
// counted over the loop.
testing::AssertionResult MeasureCost(const ipcb_transport *transport,
                                     ipcb_pattern pattern, size_t bytes,
                                     int64_t run_ns, Placement where,
                                     LoopCost *out);

// The first two CPUs this process may run on; false when it has fewer.
bool TwoCpus(int *first, int *second);
// Whether the OS pins threads to CPUs (not macOS).
bool CanPin();

} // namespace ipcb_test

#endif // IPCB_TESTS_COST_SUPPORT_H
