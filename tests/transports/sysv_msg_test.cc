// SysVMsg: a queue's byte budget (MSGMNB) can hold fewer messages than a
// Stream window; the window still runs and the label says what it held.
#include <gtest/gtest.h>

#include <string>

#include "../support.h"

namespace ipcb_test {
namespace {

const ipcb_transport *Msg() { return ipcb_transport_find("SysVMsg"); }

TEST(SysVMsg, AStreamWindowDeeperThanTheQueueIsLabelled) {
  ipcb_limit mnb;
  ASSERT_EQ(ipcb_kernel_limit(IPCB_LIMIT_MSGMNB, &mnb), 0);
  const size_t bytes = 2048; // at most MSGMNB and msgmax on every system
  uint64_t held = mnb.value / bytes;
  if (held >= 64)
    GTEST_SKIP() << mnb.name << " is " << mnb.value << ": no shallow queue";
  int rc = 0;
  SessionPtr session = Open(Msg(), bytes, 1, 0, &rc, IPCB_STREAM, 64);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  std::string label = ipcb_session_label(session.get());
  std::string want = held ? "window 64, queue holds " + std::to_string(held)
                          : std::string("window 64, queue holds part");
  EXPECT_EQ(label.rfind(want, 0), 0u) << label;
  EXPECT_NE(label.find(std::string(mnb.name) + " = "), std::string::npos)
      << label;
  for (int i = 0; i < 200; i++)
    ASSERT_EQ(ipcb_stream_send(session.get()), 0)
        << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_stream_finish(session.get()), 0)
      << ipcb_session_error(session.get());
}

TEST(SysVMsg, AQueueThatHoldsTheWindowIsNotLabelled) {
  ipcb_limit mnb;
  ASSERT_EQ(ipcb_kernel_limit(IPCB_LIMIT_MSGMNB, &mnb), 0);
  int rc = 0;
  SessionPtr session = Open(Msg(), 8, 1, 0, &rc, IPCB_STREAM, 8);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_GE(mnb.value, 64u) << "a queue of " << mnb.value << " bytes";
  EXPECT_EQ(std::string(ipcb_session_label(session.get())), "window 8");
}

} // namespace
} // namespace ipcb_test
