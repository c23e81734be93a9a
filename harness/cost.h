// The cost counters of a PingPong or Stream result: what one iteration cost
// both processes in CPU time, context switches and page faults.
#ifndef IPCB_HARNESS_COST_H
#define IPCB_HARNESS_COST_H

#include <benchmark/benchmark.h>

#include <string>

#include "session.h"

namespace ipcb {

// Counts what the exchanges between Start() and Stop() cost both sides.
// Start right before the timed loop and stop right after it (for Stream,
// before ipcb_stream_finish): the core reads both sides outside the loop.
class CostCount {
public:
  void Start(Session &session);
  // Adds the counters, per iteration, that could be counted. Why any was
  // not is in note(), for the result's label.
  void Stop(benchmark::State &state, Session &session);
  const std::string &note() const { return note_; }

private:
  bool started_ = false;
  std::string note_;
};

} // namespace ipcb

#endif // IPCB_HARNESS_COST_H
