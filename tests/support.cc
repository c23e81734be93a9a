#include "support.h"

namespace ipcb_test {

std::vector<const ipcb_transport *> Transports(bool with_baselines) {
  std::vector<const ipcb_transport *> out;
  for (size_t i = 0; i < ipcb_transport_count(); i++) {
    const ipcb_transport *t = ipcb_transport_at(i);
    if ((t->caps & IPCB_CAP_BASELINE) && !with_baselines)
      continue;
    if (ipcb_transport_probe(t, nullptr) != 0)
      continue;
    out.push_back(t);
  }
  return out;
}

SessionPtr Open(const ipcb_transport *transport, size_t bytes, int verify,
                int64_t timeout_ns, int *rc, ipcb_pattern pattern,
                unsigned window) {
  ipcb_options options{};
  options.pattern = pattern;
  options.window = window;
  options.bytes = bytes;
  options.verify = verify;
  options.timeout_ns = timeout_ns;
  ipcb_session *session = nullptr;
  *rc = ipcb_session_open(transport, &options, &session);
  return SessionPtr(session);
}

testing::AssertionResult StreamMessages(ipcb_session *session, unsigned n) {
  for (unsigned i = 0; i < n; i++)
    if (ipcb_stream_send(session) != 0)
      return testing::AssertionFailure()
             << "message " << i << ": " << ipcb_session_error(session);
  if (ipcb_stream_finish(session) != 0)
    return testing::AssertionFailure()
           << "finishing the window: " << ipcb_session_error(session);
  return testing::AssertionSuccess();
}

void ExpectTimedOutAtTheDeadline(const ipcb_session *session, int rc,
                                 std::chrono::steady_clock::duration waited) {
  EXPECT_EQ(rc, IPCB_ETIMEDOUT) << ipcb_session_error(session);
  EXPECT_NE(
      std::string(ipcb_session_error(session)).find("timed out after 0.3 s"),
      std::string::npos)
      << ipcb_session_error(session);
  EXPECT_GE(waited, std::chrono::nanoseconds(kSilentPeerDeadlineNs));
  EXPECT_LT(waited, std::chrono::seconds(2));
}

} // namespace ipcb_test
