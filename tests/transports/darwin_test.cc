// The macOS transports' quirks: MachMsg's chunking above the inline cap,
// MachOOLPhysical's copy-map limit, a Stream window at the Mach port queue's
// limit, and what the context records instead of pinning.
#include <gtest/gtest.h>

#include <string>

#include "../support.h"

namespace ipcb_test {
namespace {

const ipcb_transport *Find(const char *name) {
  const ipcb_transport *transport = ipcb_transport_find(name);
  EXPECT_NE(transport, nullptr) << name << " is not in the registry";
  return transport;
}

// Above the inline cap a message travels as several Mach messages, each
// header written over the previous chunk's tail: every byte must survive.
TEST(MachMsg, AMessageAboveTheInlineCapIsChunkedAndExact) {
  const ipcb_transport *machmsg = Find("MachMsg");
  ASSERT_NE(machmsg, nullptr);
  size_t cap = machmsg->max_message();
  size_t bytes = cap + cap / 2 + 1; // two chunks, the second not full
  int rc = 0;
  SessionPtr session = Open(machmsg, bytes, /*verify=*/1, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  std::string label = ipcb_session_label(session.get());
  EXPECT_NE(label.find("chunked: 2 messages"), std::string::npos) << label;
  for (int i = 0; i < 3; i++)
    ASSERT_EQ(ipcb_pingpong(session.get()), 0)
        << ipcb_session_error(session.get());
}

TEST(MachOOLPhysical, AMessageAboveTheCopyMapLimitNamesIt) {
  const ipcb_transport *physical = Find("MachOOLPhysical");
  ASSERT_NE(physical, nullptr);
  int rc = 0;
  SessionPtr session = Open(physical, physical->max_message() + 1, 0, 0, &rc);
  EXPECT_EQ(rc, IPCB_ELIMIT) << ipcb_session_error(session.get());
  EXPECT_NE(std::string(ipcb_session_error(session.get()))
                .find("ipc_kmsg_max_vm_space"),
            std::string::npos)
      << ipcb_session_error(session.get());
}

// The largest window ipc_bench accepts fills a Mach port's queue, whose
// limit the transports raise for Stream.
TEST(MachMsg, TheLargestStreamWindowRuns) {
  const ipcb_transport *machmsg = Find("MachMsg");
  ASSERT_NE(machmsg, nullptr);
  int rc = 0;
  SessionPtr session = Open(machmsg, 64, 1, 0, &rc, IPCB_STREAM, 1024);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  for (int i = 0; i < 3 * 1024; i++)
    ASSERT_EQ(ipcb_stream_send(session.get()), 0)
        << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_stream_finish(session.get()), 0)
      << ipcb_session_error(session.get());
}

TEST(DarwinContext, RendezvousMethodAndQoSAreKnown) {
  const char *method = ipcb_bootstrap_method();
  ASSERT_NE(method, nullptr);
  EXPECT_TRUE(std::string(method) == "bootstrap_check_in" ||
              std::string(method) == "bootstrap_register2")
      << method;
  char thread_class[64];
  ipcb_thread_class(thread_class, sizeof thread_class);
  EXPECT_EQ(std::string(thread_class), "QoS user-interactive");
}

} // namespace
} // namespace ipcb_test
