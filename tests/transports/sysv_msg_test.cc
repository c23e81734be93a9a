// SysVMsg: a queue's byte budget (MSGMNB), or on macOS the system's message
// headers (MSGTQL), can hold fewer messages than a Stream window; the window
// still runs and the label says what it held.
#include <gtest/gtest.h>

#include <cerrno>
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
  ASSERT_TRUE(StreamMessages(session.get(), 200));
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

// macOS counts message headers for all queues together (xnu MSGTQL, 40);
// Linux has no such limit and says so.
TEST(SysVMsg, TheSystemWideMessageLimitIsNamedWhereItExists) {
  ipcb_limit tql;
  int rc = ipcb_kernel_limit(IPCB_LIMIT_MSGTQL, &tql);
#ifdef __APPLE__
  ASSERT_EQ(rc, 0);
  EXPECT_EQ(tql.value, 40u);
  EXPECT_EQ(std::string(tql.name), "MSGTQL");
  EXPECT_NE(std::string(tql.how).find("fixed"), std::string::npos) << tql.how;
#else
  EXPECT_EQ(rc, -ENOENT);
  EXPECT_EQ(std::string(tql.name), "none");
#endif
}

// Small messages: MSGMNB would hold 256 of 8 bytes, MSGTQL holds fewer,
// and the label names MSGTQL. The window still runs: msgsnd waits.
TEST(SysVMsg, AWindowAboveTheSystemWideMessageLimitIsLabelled) {
  ipcb_limit tql;
  if (ipcb_kernel_limit(IPCB_LIMIT_MSGTQL, &tql) != 0)
    GTEST_SKIP() << "no system-wide message limit here";
  ASSERT_LT(tql.value, 64u) << tql.name;
  int rc = 0;
  SessionPtr session = Open(Msg(), 8, 1, 0, &rc, IPCB_STREAM, 64);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  std::string label = ipcb_session_label(session.get());
  std::string want = "window 64, queue holds " + std::to_string(tql.value) +
                     " (" + tql.name + " = " + std::to_string(tql.value) + ")";
  EXPECT_EQ(label.rfind(want, 0), 0u) << label;
  ASSERT_TRUE(StreamMessages(session.get(), 200));
}

} // namespace
} // namespace ipcb_test
