// The cost counters: each must fail when its counter is wrong. Ratios and
// counts only, never an absolute time: the machines are shared and noisy.
#include <gtest/gtest.h>

#include <algorithm>

#include "cost_support.h"
#include "support.h"

namespace ipcb_test {
namespace {

constexpr int64_t kRunNs = 300 * 1000 * 1000;

const ipcb_transport *Find(const char *name) {
  const ipcb_transport *transport = ipcb_transport_find(name);
  const char *why = "";
  if (!transport || ipcb_transport_probe(transport, &why) != 0)
    return nullptr;
  return transport;
}

TEST(Cost, ThePlatformSaysWhatItCounts) {
  char text[512];
  unsigned have = ipcb_usage_available(text, sizeof text);
  EXPECT_NE(have & IPCB_USAGE_CPU, 0u) << text;
  EXPECT_NE(have & IPCB_USAGE_SWITCHES, 0u) << text;
  EXPECT_NE(have & IPCB_USAGE_FAULTS, 0u) << text;
  EXPECT_NE(text[0], '\0');
}

// Null's peer waits, idle, for a message that never comes, while the
// client does the whole round trip's work in place. Idle is not nothing:
// the peer wakes about 70 times a second (its nap, its watchdog), and on a
// virtual machine each wake-up of an idle CPU costs tens of microseconds:
// 0.6% of a CPU in a release build here, 3.4% under AddressSanitizer.
TEST(Cost, NullsPeerIsIdleWhileTheClientWorks) {
  const ipcb_transport *null_tr = Find("Null");
  ASSERT_NE(null_tr, nullptr);
  LoopCost c;
  ASSERT_TRUE(MeasureCost(null_tr, IPCB_PINGPONG, 12, kRunNs, {}, &c));
  ASSERT_TRUE(c.client.have & c.peer.have & IPCB_USAGE_CPU);
  const double client = c.PerIteration(c.client.cpu_ns);
  const double peer = c.PerIteration(c.peer.cpu_ns);
  EXPECT_GT(client, 0.6 * c.wall_ns) << "wall " << c.wall_ns << " ns";
  EXPECT_LT(client, 1.05 * c.wall_ns) << "wall " << c.wall_ns << " ns";
  EXPECT_LT(peer, 0.05 * client) << "client " << client << " ns";
  EXPECT_GE(peer, 0.0);
}

// Two spinners on two CPUs each burn one CPU for the whole loop. Another
// program on the machine takes CPU time from them, never adds any, so the
// best of three runs is the one to judge.
TEST(Cost, ShmSpinOnTwoCpusCostsTwiceTheWallTime) {
  const ipcb_transport *spin = Find("ShmSpin");
  ASSERT_NE(spin, nullptr);
  int first, second;
  if (!TwoCpus(&first, &second))
    GTEST_SKIP() << "needs two CPUs to pin to (--ipc_cpus=split)";
  double best = 0;
  for (int run = 0; run < 3 && best < 1.6; run++) {
    LoopCost c;
    ASSERT_TRUE(
        MeasureCost(spin, IPCB_PINGPONG, 12, kRunNs, {first, second}, &c));
    ASSERT_TRUE(c.client.have & c.peer.have & IPCB_USAGE_CPU);
    const double both = c.PerIteration(c.client.cpu_ns + c.peer.cpu_ns);
    EXPECT_LT(both, 2.05 * c.wall_ns) << "wall " << c.wall_ns << " ns";
    best = std::max(best, both / c.wall_ns);
  }
  EXPECT_GT(best, 1.6) << "both sides' CPU time over the wall time";
}

// On one CPU a pipe round trip is two hand-overs: the client blocks in its
// read, the peer in its next one.
TEST(Cost, APipeRoundTripOnOneCpuIsTwoSwitches) {
  const ipcb_transport *pipe_tr = Find("Pipe");
  ASSERT_NE(pipe_tr, nullptr);
  int first, second;
  if (!TwoCpus(&first, &second))
    GTEST_SKIP() << "needs a CPU to pin both sides to (--ipc_cpus=same)";
  LoopCost c;
  ASSERT_TRUE(
      MeasureCost(pipe_tr, IPCB_PINGPONG, 12, kRunNs, {first, first}, &c));
  ASSERT_TRUE(c.client.have & c.peer.have & IPCB_USAGE_SWITCHES);
  const double switches = c.PerIteration(c.client.switches + c.peer.switches);
  EXPECT_GE(switches, 1.5) << c.iterations << " round trips";
  EXPECT_LE(switches, 3.0) << c.iterations << " round trips";
}

// The reads at both ends of the loop fall outside what they count: an
// interval with no exchange in it costs the peer (blocked, or spinning
// between the reads) and the client almost nothing, while reading a peer
// that never blocks takes 20 ms of polling. 200 us is 0.04% of the shortest
// loop Google Benchmark's default --benchmark_min_time (0.5 s) allows.
TEST(Cost, CountingNoExchangeCountsAlmostNothing) {
  for (const char *name : {"Pipe", "ShmSpin"}) {
    const ipcb_transport *transport = Find(name);
    ASSERT_NE(transport, nullptr) << name;
    LoopCost c;
    ASSERT_TRUE(MeasureCost(transport, IPCB_PINGPONG, 12, 0, {}, &c));
    ASSERT_EQ(c.iterations, 0u) << name;
    ASSERT_TRUE(c.client.have & c.peer.have & IPCB_USAGE_CPU) << name;
    EXPECT_LT(c.client.cpu_ns, 200 * 1000) << name;
    EXPECT_LT(c.peer.cpu_ns, 200 * 1000) << name;
    EXPECT_GE(c.peer.cpu_ns, 0) << name;
    EXPECT_LE(c.client.switches + c.peer.switches, 4) << name;
  }
}

} // namespace
} // namespace ipcb_test
