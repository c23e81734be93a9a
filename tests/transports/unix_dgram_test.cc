// UnixDgram: the datagram limit is found by trial and is the chunk size.
#include <gtest/gtest.h>

#include <string>

#include "../support.h"

namespace ipcb_test {
namespace {

const ipcb_transport *Dgram() { return ipcb_transport_find("UnixDgram"); }

TEST(UnixDgram, LimitIsFoundAndShown) {
  ASSERT_NE(Dgram(), nullptr);
  size_t limit = Dgram()->max_message();
  // Linux: at least the default 208 KiB send buffer; macOS: the 2 KiB default.
  EXPECT_GE(limit, 2048u);
  EXPECT_LE(limit, size_t{64} << 20);
}

TEST(UnixDgram, MessageAtTheLimitIsOneDatagram) {
  size_t limit = Dgram()->max_message();
  int rc = 0;
  SessionPtr session = Open(Dgram(), limit, 1, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  EXPECT_EQ(std::string(ipcb_session_label(session.get())), "");
  for (int i = 0; i < 20; i++)
    ASSERT_EQ(ipcb_round_trip(session.get()), 0)
        << ipcb_session_error(session.get());
}

TEST(UnixDgram, OneByteOverTheLimitIsTwoChunks) {
  size_t limit = Dgram()->max_message();
  int rc = 0;
  SessionPtr session = Open(Dgram(), limit + 1, 1, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  std::string label = ipcb_session_label(session.get());
  EXPECT_NE(label.find("chunked: 2 messages"), std::string::npos) << label;
  for (int i = 0; i < 20; i++)
    ASSERT_EQ(ipcb_round_trip(session.get()), 0)
        << ipcb_session_error(session.get());
}

} // namespace
} // namespace ipcb_test
