// The benchmark families: what one Google Benchmark run of each does.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "cost.h"
#include "families.h"
#include "outcome.h"
#include "session.h"

namespace ipcb {
namespace {

struct HistogramFree {
  void operator()(ipcb_histogram *h) const { ipcb_histogram_free(h); }
};

// `label` first, then the session's, then why a cost was not counted.
void SetLabel(benchmark::State &state, Session &session, const CostCount &cost,
              std::string label = "") {
  std::string own = ipcb_session_label(session.get());
  if (!own.empty())
    label += (label.empty() ? "" : ", ") + own;
  if (!cost.note().empty())
    label += (label.empty() ? "" : ", ") +
             ("cost counters left out: " + cost.note());
  if (!label.empty())
    state.SetLabel(label);
}

} // namespace

ipcb_options Options(const Flags &flags, ipcb_pattern pattern, size_t bytes) {
  ipcb_options options{};
  options.pattern = pattern;
  options.bytes = bytes;
  options.window = flags.window;
  options.timeout_ns = flags.timeout_ns;
  options.verify = flags.verify;
  options.pin_peer = flags.pinned;
  options.peer_cpu = flags.peer_cpu;
  options.qos = flags.qos;
  return options;
}

// A peer started here, one untimed warm-up round trip, then the timed loop
// with one clock read per iteration for the percentiles. Any failure skips
// this benchmark only.
void RunPingPong(benchmark::State &state, const ipcb_transport *transport,
                 size_t bytes, const Flags &flags) {
  RunPingPongLabelled(state, transport, bytes, flags, "");
}

void RunPingPongLabelled(benchmark::State &state,
                         const ipcb_transport *transport, size_t bytes,
                         const Flags &flags, const std::string &label) {
  Session session(transport, Options(flags, IPCB_PINGPONG, bytes));
  std::unique_ptr<ipcb_histogram, HistogramFree> latency(ipcb_histogram_new());
  if (!session.ok() || !session.Step(ipcb_round_trip) || !latency) {
    Fail(state, session.code(), session.error());
    return;
  }
  CostCount cost;
  cost.Start(session);
  // Each iteration is timed in ticks, which cost less than a clock read
  // (Baseline/Null measures what is left); the whole loop, timed both ways,
  // gives the scale.
  const int64_t start_ns = ipcb_now_ns();
  const uint64_t start = ipcb_ticks();
  uint64_t last = start;
  for (auto _ : state) {
    if (!session.Step(ipcb_round_trip)) {
      Fail(state, session.code(), session.error());
      break;
    }
    uint64_t now = ipcb_ticks();
    ipcb_histogram_record(latency.get(), static_cast<int64_t>(now - last));
    last = now;
  }
  const double ns_per_tick =
      last > start ? static_cast<double>(ipcb_now_ns() - start_ns) /
                         static_cast<double>(last - start)
                   : 1.0;
  cost.Stop(state, session);
  // Both directions carry `bytes`, so a round trip moves 2 * bytes.
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 2 *
                          static_cast<int64_t>(bytes));
  static const struct {
    const char *name;
    double percentile;
  } kPercentiles[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p999", 99.9}};
  for (const auto &p : kPercentiles)
    state.counters[p.name] =
        ns_per_tick * static_cast<double>(ipcb_histogram_percentile(
                          latency.get(), p.percentile));
  state.counters["max"] =
      ns_per_tick * static_cast<double>(ipcb_histogram_max(latency.get()));
  SetLabel(state, session, cost, label);
}

// Time per message: each iteration sends one; every window-th waits for the
// peer's ack. The last, partial window is completed after the timed loop.
void RunStream(benchmark::State &state, const ipcb_transport *transport,
               size_t bytes, const Flags &flags) {
  Session session(transport, Options(flags, IPCB_STREAM, bytes));
  if (!session.ok() || !session.Step(ipcb_stream_send) ||
      !session.Step(ipcb_stream_finish)) {
    Fail(state, session.code(), session.error());
    return;
  }
  CostCount cost;
  cost.Start(session);
  for (auto _ : state) {
    if (!session.Step(ipcb_stream_send)) {
      Fail(state, session.code(), session.error());
      break;
    }
  }
  // Before the finish: its messages are not the loop's.
  cost.Stop(state, session);
  // The timer stopped with the loop, so this is untimed.
  if (!session.Step(ipcb_stream_finish))
    Fail(state, session.code(), session.error());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  SetLabel(state, session, cost);
}

// The 2017 measurement: each iteration spawns the peer, rendezvouses, sends
// a 1-byte request, receives `bytes` back, tears down and reaps.
void RunColdStart(benchmark::State &state, const ipcb_transport *transport,
                  size_t bytes, const Flags &flags) {
  ipcb_options options = Options(flags, IPCB_COLDSTART, bytes);
  std::string label;
  for (auto _ : state) {
    Session session(transport, options);
    if (!session.ok() || !session.Step(ipcb_round_trip)) {
      Fail(state, session.code(), session.error());
      break;
    }
    if (label.empty())
      label = ipcb_session_label(session.get());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(bytes));
  if (!label.empty())
    state.SetLabel(label);
}

} // namespace ipcb
