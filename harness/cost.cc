// The cost counters: the core's usage of both sides over the timed loop,
// divided by the iterations. Names are documented in README.md ("Reading the
// output").
#include "cost.h"

#include <string>

namespace ipcb {
namespace {

void Add(benchmark::State &state, const char *name, int64_t total) {
  state.counters[name] = benchmark::Counter(static_cast<double>(total),
                                            benchmark::Counter::kAvgIterations);
}

} // namespace

void CostCount::Start(Session &session) {
  started_ = true;
  if (ipcb_cost_start(session.get()) != 0)
    note_ = ipcb_session_error(session.get());
}

void CostCount::Stop(benchmark::State &state, Session &session) {
  ipcb_usage client, peer;
  if (!started_)
    return;
  started_ = false;
  // A peer that cannot be counted leaves the client's own counters in.
  if (ipcb_cost_stop(session.get(), &client, &peer) != 0 && note_.empty())
    note_ = ipcb_session_error(session.get());
  if (state.error_occurred()) { // the benchmark's own error says it all
    note_.clear();
    return;
  }
  // A counter that either side could not read is left out, never zero; the
  // context's "cost_counters" says what this platform counts.
  const unsigned both = client.have & peer.have;
  if (client.have & IPCB_USAGE_CPU)
    Add(state, "cpu_client_ns", client.cpu_ns);
  if (peer.have & IPCB_USAGE_CPU)
    Add(state, "cpu_peer_ns", peer.cpu_ns);
  if (both & IPCB_USAGE_SWITCHES)
    Add(state, "ctx_switches", client.switches + peer.switches);
  if (both & IPCB_USAGE_VOLUNTARY)
    Add(state, "ctx_voluntary", client.voluntary + peer.voluntary);
  if (both & IPCB_USAGE_FAULTS)
    Add(state, "page_faults", client.faults + peer.faults);
  if (both & IPCB_USAGE_COW_FAULTS)
    Add(state, "cow_faults", client.cow_faults + peer.cow_faults);
}

} // namespace ipcb
