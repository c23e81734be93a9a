// TCP: the listening socket does not outlive the attach.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include "../support.h"

namespace ipcb_test {
namespace {

int ListeningSockets() {
  int n = 0;
  for (int fd = 0; fd < 1024; fd++) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 &&
        listening)
      n++;
  }
  return n;
}

TEST(TCP, ListeningSocketIsClosedOnceThePeerIsConnected) {
  const ipcb_transport *tcp = ipcb_transport_find("TCP");
  ASSERT_NE(tcp, nullptr);
  int before = ListeningSockets();
  int rc = 0;
  SessionPtr session = Open(tcp, 12, 1, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  EXPECT_EQ(ListeningSockets(), before);
  EXPECT_EQ(ipcb_round_trip(session.get()), 0)
      << ipcb_session_error(session.get());
}

} // namespace
} // namespace ipcb_test
