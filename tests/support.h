// Helpers shared by the test files: transport lists and a session owner.
#ifndef IPCB_TESTS_SUPPORT_H
#define IPCB_TESTS_SUPPORT_H

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "ipcb/ipcb.h"

// IPCB_TEST_UNDER_TSAN: built with ThreadSanitizer (gcc or clang).
#if defined(__SANITIZE_THREAD__)
#define IPCB_TEST_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IPCB_TEST_UNDER_TSAN 1
#endif
#endif

namespace ipcb_test {

// Every transport of the registry that can run here (baselines included
// when `with_baselines`).
std::vector<const ipcb_transport *> Transports(bool with_baselines = false);

// For INSTANTIATE_TEST_SUITE_P names: the transport's name.
struct TransportName {
  std::string
  operator()(const testing::TestParamInfo<const ipcb_transport *> &info) const {
    return info.param->name;
  }
};

struct SessionCloser {
  void operator()(ipcb_session *s) const { ipcb_session_close(s); }
};
using SessionPtr = std::unique_ptr<ipcb_session, SessionCloser>;

// Opens a session; `rc` receives the open's result.
SessionPtr Open(const ipcb_transport *transport, size_t bytes, int verify,
                int64_t timeout_ns, int *rc,
                ipcb_pattern pattern = IPCB_PINGPONG, unsigned window = 0);

// Sends n Stream messages, then finishes the window: success, or which
// message failed and why.
testing::AssertionResult StreamMessages(ipcb_session *session, unsigned n);

// The deadline the silent-peer tests give a session, and their verdict: a
// call that a stopped peer left waiting ends with IPCB_ETIMEDOUT, says so
// ("timed out after 0.3 s"), and returns at the deadline, not much later.
constexpr int64_t kSilentPeerDeadlineNs = 300 * 1000 * 1000;
void ExpectTimedOutAtTheDeadline(const ipcb_session *session, int rc,
                                 std::chrono::steady_clock::duration waited);

} // namespace ipcb_test

#endif // IPCB_TESTS_SUPPORT_H
