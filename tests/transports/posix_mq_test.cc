// PosixMQ: the chunk is the running fs.mqueue.msgsize_max, and a message
// longer than the queue is deep still goes through.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "../support.h"

namespace ipcb_test {
namespace {

const ipcb_transport *Mq() { return ipcb_transport_find("PosixMQ"); }

size_t Sysctl(const char *path) {
  size_t value = 0;
  std::ifstream(path) >> value;
  return value;
}

TEST(PosixMQ, MaxMessageIsTheRunningMsgsizeMax) {
  ASSERT_NE(Mq(), nullptr);
  EXPECT_EQ(Mq()->max_message(), Sysctl("/proc/sys/fs/mqueue/msgsize_max"));
}

TEST(PosixMQ, AMessageOfMoreChunksThanTheQueueHoldsIsLabelledAndExact) {
  size_t chunk = Mq()->max_message();
  size_t depth = Sysctl("/proc/sys/fs/mqueue/msg_max");
  ASSERT_GT(chunk, 0u);
  size_t bytes = chunk * (depth + 3) + 1; // more chunks than the queue holds
  int rc = 0;
  SessionPtr session = Open(Mq(), bytes, /*verify=*/1, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  EXPECT_NE(std::string(ipcb_session_label(session.get()))
                .find(std::to_string(depth + 4) + " messages"),
            std::string::npos)
      << ipcb_session_label(session.get());
  for (int i = 0; i < 20; i++)
    ASSERT_EQ(ipcb_round_trip(session.get()), 0)
        << ipcb_session_error(session.get());
}

TEST(PosixMQ, OneChunkIsNotLabelled) {
  int rc = 0;
  SessionPtr session = Open(Mq(), Mq()->max_message(), 1, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  EXPECT_EQ(std::string(ipcb_session_label(session.get())), "");
  ASSERT_EQ(ipcb_round_trip(session.get()), 0)
      << ipcb_session_error(session.get());
}

// A Stream window deeper than the queue still runs (the sender waits in
// mid-window), and the label says how many messages the queue held.
TEST(PosixMQ, AStreamWindowDeeperThanTheQueueIsLabelled) {
  size_t depth = Sysctl("/proc/sys/fs/mqueue/msg_max");
  if (depth >= 64)
    GTEST_SKIP() << "fs.mqueue.msg_max is " << depth << ": no shallow queue";
  int rc = 0;
  SessionPtr session = Open(Mq(), 4096, 1, 0, &rc, IPCB_STREAM, 64);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  std::string want = "window 64, queue holds " + std::to_string(depth) +
                     " (fs.mqueue.msg_max = " + std::to_string(depth) + ")";
  EXPECT_EQ(std::string(ipcb_session_label(session.get())), want);
  ASSERT_TRUE(StreamMessages(session.get(), 200));
}

} // namespace
} // namespace ipcb_test
