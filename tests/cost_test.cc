// The cost counters: each must fail when its counter is wrong. Ratios and
// counts only, never an absolute time: the machines are shared and noisy.
// Another program on the machine takes CPU time from a side and adds
// switches, never the reverse, so a bound that load can break is judged on
// the best of three runs.
#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <string>

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

// Measures up to three times, until `verdict` has nothing to say of a run:
// success, or what it said of the last one.
testing::AssertionResult
BestOfThree(const ipcb_transport *transport, size_t bytes, int64_t run_ns,
            Placement where,
            const std::function<std::string(const LoopCost &)> &verdict) {
  std::string said;
  for (int run = 0; run < 3; run++) {
    LoopCost c;
    testing::AssertionResult measured =
        MeasureCost(transport, IPCB_PINGPONG, bytes, run_ns, where, &c);
    if (!measured)
      return measured;
    said = verdict(c);
    if (said.empty())
      return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << transport->name << ": " << said;
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
// the peer wakes about 50 times a second (its nap, its watchdog), and on a
// virtual machine each wake-up of an idle CPU costs tens of microseconds:
// 0.3% of a CPU here.
TEST(Cost, NullsPeerIsIdleWhileTheClientWorks) {
  const ipcb_transport *null_tr = Find("Null");
  ASSERT_NE(null_tr, nullptr);
  EXPECT_TRUE(BestOfThree(null_tr, 12, kRunNs, {}, [](const LoopCost &c) {
    std::ostringstream out;
    if (!(c.client.have & c.peer.have & IPCB_USAGE_CPU))
      return std::string("no CPU time");
    const double client = c.PerIteration(c.client.cpu_ns);
    const double peer = c.PerIteration(c.peer.cpu_ns);
    if (client < 0.6 * c.wall_ns || client > 1.05 * c.wall_ns || peer < 0 ||
        peer > 0.05 * c.wall_ns)
      out << "client " << client << " ns, peer " << peer << " ns, wall "
          << c.wall_ns << " ns a round trip";
    return out.str();
  }));
}

// Two spinners on two CPUs each burn one CPU for the whole loop. Where the
// OS cannot pin (macOS), two busy threads get two cores of their own.
TEST(Cost, ShmSpinOnTwoCpusCostsTwiceTheWallTime) {
  const ipcb_transport *spin = Find("ShmSpin");
  ASSERT_NE(spin, nullptr);
  int first, second;
  if (!TwoCpus(&first, &second))
    GTEST_SKIP() << "needs two CPUs";
  Placement split{};
  if (CanPin())
    split = {first, second};
  EXPECT_TRUE(BestOfThree(spin, 12, kRunNs, split, [](const LoopCost &c) {
    std::ostringstream out;
    if (!(c.client.have & c.peer.have & IPCB_USAGE_CPU))
      return std::string("no CPU time");
    const double both = c.PerIteration(c.client.cpu_ns + c.peer.cpu_ns);
    if (both < 1.6 * c.wall_ns || both > 2.05 * c.wall_ns)
      out << "both sides' CPU " << both << " ns against a wall time of "
          << c.wall_ns << " ns a round trip";
    return out.str();
  }));
}

// On one CPU a pipe round trip is two hand-overs. The client's write wakes
// the peer, which takes the CPU from it (involuntary); the peer blocks in
// its next read (voluntary).
TEST(Cost, APipeRoundTripOnOneCpuIsTwoSwitches) {
  const ipcb_transport *pipe_tr = Find("Pipe");
  ASSERT_NE(pipe_tr, nullptr);
  int first, second;
  if (!TwoCpus(&first, &second) || !CanPin())
    GTEST_SKIP() << "needs a CPU to pin both sides to (--ipc_cpus=same)";
  EXPECT_TRUE(
      BestOfThree(pipe_tr, 12, kRunNs, {first, first}, [](const LoopCost &c) {
        std::ostringstream out;
        const unsigned need = IPCB_USAGE_SWITCHES | IPCB_USAGE_VOLUNTARY;
        if ((c.client.have & c.peer.have & need) != need)
          return std::string("no switches counted");
        const double all = c.PerIteration(c.client.switches + c.peer.switches);
        const double voluntary =
            c.PerIteration(c.client.voluntary + c.peer.voluntary);
        if (all < 1.5 || all > 3.0 || voluntary < 0.75 || voluntary > all)
          out << all << " switches, " << voluntary << " voluntary, a round "
              << "trip over " << c.iterations;
        return out.str();
      }));
}

// The reads at both ends of the loop fall outside what they count: an
// interval with no exchange in it costs the peer (blocked, or spinning
// between the reads) and the client almost nothing. 200 us is 0.04% of the
// shortest loop Google Benchmark's default --benchmark_min_time (0.5 s)
// allows.
TEST(Cost, CountingNoExchangeCountsAlmostNothing) {
  for (const char *name : {"Pipe", "ShmSpin"}) {
    const ipcb_transport *transport = Find(name);
    ASSERT_NE(transport, nullptr) << name;
    EXPECT_TRUE(BestOfThree(transport, 12, 0, {}, [](const LoopCost &c) {
      std::ostringstream out;
      if (c.iterations != 0 || !(c.client.have & c.peer.have & IPCB_USAGE_CPU))
        return std::string("no CPU time, or exchanges in the interval");
      if (c.client.cpu_ns > 200 * 1000 || c.peer.cpu_ns > 200 * 1000 ||
          c.peer.cpu_ns < 0 || c.client.switches + c.peer.switches > 4)
        out << "client " << c.client.cpu_ns << " ns, peer " << c.peer.cpu_ns
            << " ns, " << c.client.switches + c.peer.switches << " switches";
      return out.str();
    })) << name;
  }
}

} // namespace
} // namespace ipcb_test
