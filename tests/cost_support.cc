#include "cost_support.h"

#include <cerrno>
#include <string>
#include <thread>

#include "support.h"

namespace ipcb_test {
namespace {

int Iteration(ipcb_session *session, ipcb_pattern pattern) {
  return pattern == IPCB_STREAM ? ipcb_stream_send(session)
                                : ipcb_round_trip(session);
}

int WarmUp(ipcb_session *session, ipcb_pattern pattern) {
  int rc = Iteration(session, pattern);
  return rc == 0 && pattern == IPCB_STREAM ? ipcb_stream_finish(session) : rc;
}

std::string Measure(const ipcb_transport *transport, ipcb_pattern pattern,
                    size_t bytes, int64_t run_ns, Placement where,
                    LoopCost *out) {
  if (where.client_cpu >= 0 && ipcb_pin_self(where.client_cpu) != 0)
    return "cannot pin the client to CPU " + std::to_string(where.client_cpu);
  ipcb_options options{};
  options.pattern = pattern;
  options.bytes = bytes;
  options.pin_peer = where.peer_cpu >= 0;
  options.peer_cpu = where.peer_cpu;
  ipcb_session *raw = nullptr;
  int rc = ipcb_session_open(transport, &options, &raw);
  SessionPtr session(raw);
  if (rc == 0)
    rc = WarmUp(session.get(), pattern);
  if (rc == 0)
    rc = ipcb_cost_start(session.get());
  const int64_t start = ipcb_now_ns();
  int64_t now = start;
  while (rc == 0 && now - start < run_ns) {
    rc = Iteration(session.get(), pattern);
    out->iterations++;
    now = ipcb_now_ns();
  }
  if (rc == 0)
    rc = ipcb_cost_stop(session.get(), &out->client, &out->peer);
  if (rc == 0 && pattern == IPCB_STREAM)
    rc = ipcb_stream_finish(session.get());
  if (rc != 0)
    return std::string(transport->name) + ": " + ipcb_code_name(rc) + ": " +
           ipcb_session_error(session.get());
  if (out->iterations > 0)
    out->wall_ns =
        static_cast<double>(now - start) / static_cast<double>(out->iterations);
  return "";
}

} // namespace

testing::AssertionResult MeasureCost(const ipcb_transport *transport,
                                     ipcb_pattern pattern, size_t bytes,
                                     int64_t run_ns, Placement where,
                                     LoopCost *out) {
  *out = LoopCost{};
  std::string failure;
  std::thread runner([&] {
    failure = Measure(transport, pattern, bytes, run_ns, where, out);
  });
  runner.join();
  if (!failure.empty())
    return testing::AssertionFailure() << failure;
  return testing::AssertionSuccess();
}

bool TwoCpus(int *first, int *second) {
  int cpus[2];
  if (ipcb_allowed_cpus(cpus, 2) < 2)
    return false;
  *first = cpus[0];
  *second = cpus[1];
  return true;
}

bool CanPin() { return ipcb_pin_self(-1) != -ENOTSUP; }

} // namespace ipcb_test
