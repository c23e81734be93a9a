// ShmFutex: a peer asleep in FUTEX_WAIT is stopped by SIGTERM at once (the
// wait returns EINTR), not by the SIGKILL that follows a 1 s grace, and the
// ring is an anonymous memfd that leaves no name behind.
#include <gtest/gtest.h>

#include <chrono>

#include "../hygiene.h"
#include "../support.h"

namespace ipcb_test {
namespace {

void StopsASleepingPeerPromptly(const char *name) {
  const ipcb_transport *transport = ipcb_transport_find(name);
  ASSERT_NE(transport, nullptr);
  auto before = KernelObjects();
  int rc = 0;
  SessionPtr session = Open(transport, 4096, 1, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  for (int i = 0; i < 10; i++)
    ASSERT_EQ(ipcb_pingpong(session.get()), 0)
        << ipcb_session_error(session.get());
  EXPECT_EQ(KernelObjects(), before) << "the ring must have no name";
  auto start = std::chrono::steady_clock::now();
  session.reset(); // the peer sleeps, waiting for the next request
  EXPECT_LT(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(500));
}

TEST(ShmFutex, StopsASleepingPeerPromptlyAndLeavesNoName) {
  StopsASleepingPeerPromptly("ShmFutex");
}

TEST(ShmFutex, WindowsOfSixtyFourStayFresh) {
  int rc = 0;
  SessionPtr session =
      Open(ipcb_transport_find("ShmFutex"), 4096, 1, 0, &rc, IPCB_STREAM, 64);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  for (int i = 0; i < 64 * 10; i++)
    ASSERT_EQ(ipcb_stream_send(session.get()), 0)
        << "message " << i << ": " << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_stream_finish(session.get()), 0)
      << ipcb_session_error(session.get());
}

} // namespace
} // namespace ipcb_test
