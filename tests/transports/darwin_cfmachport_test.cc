// CFMachPort on macOS (built here, run on a Mac): every byte survives the run
// loop's receive, below and above its 3 KiB buffer and above the inline cap;
// a Stream window fits the port's queue; a killed peer is reported as dead;
// and a session gives back every Mach port name it made.
#include <gtest/gtest.h>

#include <mach/mach.h>

#include <chrono>
#include <string>

#include "darwin_support.h"

namespace ipcb_test {
namespace {

// The run loop receives into 3 KiB and receives again, into a buffer it
// allocates, what does not fit (CFRunLoop.c, __CFRunLoopServiceMachPort);
// above the inline cap a message is several Mach messages, each handed to
// the callout on its own. With verify, every byte is checked each way.
TEST(CFMachPort, MessagesOfEverySizeRoundTripExactly) {
  const ipcb_transport *cf = Find("CFMachPort");
  ASSERT_NE(cf, nullptr);
  size_t cap = cf->max_message();
  ASSERT_GT(cap, 0u) << "CFMachPort names no inline cap";
  const size_t sizes[] = {1, 2900, 3072, 3073, 65536, cap, cap + cap / 2 + 1};
  for (size_t bytes : sizes) {
    int rc = 0;
    SessionPtr session = Open(cf, bytes, /*verify=*/1, 0, &rc);
    ASSERT_EQ(rc, 0) << bytes
                     << " bytes: " << ipcb_session_error(session.get());
    std::string label = ipcb_session_label(session.get());
    bool chunked = label.find("chunked: 2 messages") != std::string::npos;
    EXPECT_EQ(chunked, bytes > cap) << bytes << " bytes: '" << label << "'";
    for (int i = 0; i < 3; i++)
      ASSERT_EQ(ipcb_round_trip(session.get()), 0)
          << bytes << " bytes, round trip " << i << ": "
          << ipcb_session_error(session.get());
  }
}

// The receive port's queue is sized for the window (up to
// MACH_PORT_QLIMIT_MAX), so the label names no queue limit and the sender
// never waits in mid-window.
TEST(CFMachPort, AStreamWindowFitsThePortsQueue) {
  const ipcb_transport *cf = Find("CFMachPort");
  ASSERT_NE(cf, nullptr);
  int rc = 0;
  SessionPtr session = Open(cf, 4096, 1, 0, &rc, IPCB_STREAM, 64);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  std::string label = ipcb_session_label(session.get());
  EXPECT_EQ(label.find("queue holds"), std::string::npos)
      << "rx was not sized for the window: '" << label << "'";
  ASSERT_TRUE(StreamMessages(session.get(), 4 * 64));
}

// The run loop's receive is restarted after the watchdog's signal, so only
// the pump's timer can end a receive that a stopped peer never answers: that
// it does, at the deadline, is
// AllTransports/Faults.SilentPeerTimesOut/CFMachPort.

// CoreFoundation watches no dead name on a bare receive right (CFMachPort.c,
// _CFMachPortCreateWithPort2): the pump's timer must hear the watchdog,
// whether the kill lands in a send, a receive or a message in between.
TEST(CFMachPort, APeerKilledMidRunIsReportedAsDead) {
  ExpectRandomKillsReportedAsDead(
      Find("CFMachPort"), 21,
      [](int trial) {
        return trial % 2 ? size_t{4096}
                         : size_t{64}; // the realloc'd buffer and not
      },
      std::chrono::seconds(1));
}

// The task's Mach port names, of every kind.
long PortNames() {
  mach_port_name_array_t names = nullptr;
  mach_port_type_array_t types = nullptr;
  mach_msg_type_number_t n = 0, nt = 0;
  if (mach_port_names(mach_task_self(), &names, &n, &types, &nt) !=
      KERN_SUCCESS)
    return -1;
  vm_deallocate(mach_task_self(), (vm_address_t)names, n * sizeof *names);
  vm_deallocate(mach_task_self(), (vm_address_t)types, nt * sizeof *types);
  return (long)n;
}

// CoreFoundation releases no right it did not make, so teardown must: the
// receive right and the send right of each session, once the wrapper is
// invalidated. The run loop's own ports (the mode's port set, its timer)
// are made once per thread, by the first sessions.
TEST(CFMachPort, ASessionGivesBackEveryPortName) {
  const ipcb_transport *cf = Find("CFMachPort");
  ASSERT_NE(cf, nullptr);
  auto session_round = [cf] {
    int rc = 0;
    SessionPtr session = Open(cf, 4096, 0, 0, &rc);
    ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
    ASSERT_EQ(ipcb_round_trip(session.get()), 0)
        << ipcb_session_error(session.get());
  };
  for (int i = 0; i < 2; i++)
    session_round();
  long before = PortNames();
  ASSERT_GT(before, 0);
  const int kSessions = 8;
  for (int i = 0; i < kSessions; i++)
    session_round();
  long after = PortNames();
  EXPECT_LT(after - before, kSessions)
      << "port names grew from " << before << " to " << after << " over "
      << kSessions << " sessions: about one a session was kept";
}

} // namespace
} // namespace ipcb_test
