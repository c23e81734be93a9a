// Vmsplice: the pipe references the sender's pages until they are read, so
// a sender that reused a buffer too early would change a message in flight;
// full windows of page-sized, fully verified messages would show it.
#include <gtest/gtest.h>

#include "../support.h"

namespace ipcb_test {
namespace {

TEST(Vmsplice, FullWindowsOfSplicedPagesStayFresh) {
  const ipcb_transport *vms = ipcb_transport_find("Vmsplice");
  ASSERT_NE(vms, nullptr);
  for (size_t bytes : {size_t{4096}, size_t{65536}}) {
    SCOPED_TRACE(testing::Message() << bytes << " B");
    int rc = 0;
    SessionPtr session =
        Open(vms, bytes, /*verify=*/1, 0, &rc, IPCB_STREAM, 64);
    ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
    ASSERT_EQ(ipcb_session_window(session.get()), 64u);
    ASSERT_TRUE(StreamMessages(session.get(), 64 * 6));
  }
}

TEST(Vmsplice, MessagesLargerThanThePipeGoThroughInRounds) {
  int rc = 0;
  // Above fs.pipe-max-size (1 MiB by default): several splice rounds.
  SessionPtr session =
      Open(ipcb_transport_find("Vmsplice"), (size_t{4} << 20) + 1, 1, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  for (int i = 0; i < 5; i++)
    ASSERT_EQ(ipcb_round_trip(session.get()), 0)
        << ipcb_session_error(session.get());
}

} // namespace
} // namespace ipcb_test
