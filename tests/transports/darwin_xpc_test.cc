// XPC on macOS (built here, run on a Mac): libxpc's private endpoint calls
// are there, messages of every size make the round trip intact, a Stream
// window fits the bridge, a killed peer is reported as dead, the rendezvous
// leaves no bootstrap name behind, and a stranger at it never gets the
// listener's port.
#include <gtest/gtest.h>

#include <dlfcn.h>

#include <string>

#include "darwin_support.h"

namespace ipcb_test {
namespace {

// The rendezvous rests on two calls libxpc exports without a header; the
// probe says whether they are there, and on the macOS versions run here
// they must be, or the transport would only ever be skipped.
TEST(XPC, TheProbeFindsLibxpcsEndpointCalls) {
  const ipcb_transport *xpc = Find("XPC");
  ASSERT_NE(xpc, nullptr);
  EXPECT_NE(dlsym(RTLD_DEFAULT, "xpc_endpoint_copy_listener_port_4sim"),
            nullptr);
  EXPECT_NE(dlsym(RTLD_DEFAULT, "xpc_endpoint_create_mach_port_4sim"), nullptr);
  const char *why = nullptr;
  EXPECT_EQ(ipcb_transport_probe(xpc, &why), 0) << (why ? why : "");
}

// Inline-sized and out-of-line-sized data alike, with every byte checked.
TEST(XPC, MessagesOfSeveralSizesMakeTheRoundTripIntact) {
  const ipcb_transport *xpc = Find("XPC");
  ASSERT_NE(xpc, nullptr);
  for (size_t bytes : {size_t{1}, size_t{64}, size_t{4096}, size_t{65536},
                       size_t{1} << 20, size_t{16} << 20}) {
    int rc = 0;
    SessionPtr session = Open(xpc, bytes, 1, 0, &rc);
    ASSERT_EQ(rc, 0) << bytes << " B: " << ipcb_session_error(session.get());
    for (int i = 0; i < 8; i++)
      ASSERT_EQ(ipcb_round_trip(session.get()), 0)
          << bytes << " B, round trip " << i << ": "
          << ipcb_session_error(session.get());
  }
}

// A whole window in flight at once: the bridge's ring must hold it.
TEST(XPC, AStreamWindowFitsTheBridge) {
  const ipcb_transport *xpc = Find("XPC");
  ASSERT_NE(xpc, nullptr);
  int rc = 0;
  SessionPtr session = Open(xpc, 256, 1, 0, &rc, IPCB_STREAM, 64);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_TRUE(StreamMessages(session.get(), 4 * 64));
}

// The receiver waits on a compare-and-wait word, not in libxpc: that the
// watchdog's signal ends that wait at the deadline is
// AllTransports/Faults.SilentPeerTimesOut/XPC.

// XPC_ERROR_CONNECTION_INVALID, or the watchdog, whichever comes first:
// either way a dead peer, not an I/O error, whenever the kill lands.
TEST(XPC, APeerKilledMidRunIsReportedAsDead) {
  ExpectRandomKillsReportedAsDead(Find("XPC"), 13,
                                  [](int) { return size_t{4096}; });
}

// The anonymous listener has no name; the one name of the run is the Mach
// rendezvous's (--ipc_rdv=<name> in the peer's argv), and it is gone once
// the session is open, not only once it is closed.
TEST(XPC, TheRendezvousNameIsGoneOnceTheSessionIsOpen) {
  const ipcb_transport *xpc = Find("XPC");
  ASSERT_NE(xpc, nullptr);
  int rc = 0;
  SessionPtr session = Open(xpc, 64, 0, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  std::string name;
  for (const std::string &arg : ArgsOf(ipcb_session_peer_pid(session.get())))
    if (arg.rfind("--ipc_rdv=", 0) == 0)
      name = arg.substr(10);
  ASSERT_NE(name.find("org.ipcb."), std::string::npos)
      << "no --ipc_rdv=<bootstrap name> in the peer's argv: '" << name << "'";
  EXPECT_FALSE(StillRegistered(name))
      << name << " is still registered with the session open";
  ASSERT_EQ(ipcb_round_trip(session.get()), 0)
      << ipcb_session_error(session.get());
  session.reset();
  EXPECT_FALSE(StillRegistered(name))
      << name << " is registered again after the session closed";
}

// The listener's port is the one key to the session: a third process that
// looks the rendezvous name up and sends a hello first must never be
// answered (it would get the port and could connect in the peer's place),
// and the real peer still connects and exchanges.
TEST(XPC, AStrangerAtTheRendezvousNeverGetsTheListenersPort) {
  intruder_trial trial;
  ASSERT_NO_FATAL_FAILURE(ExpectStrangerNeverAnswered("XPC", "hello", &trial));
  EXPECT_FALSE(trial.registered_after_close)
      << trial.name << " is still registered after teardown";
}

} // namespace
} // namespace ipcb_test
