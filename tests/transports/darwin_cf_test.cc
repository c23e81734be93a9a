// CFMessagePort on macOS (built here, run on a Mac): the Stream label names
// the port's queue limit, a send blocked on a silent peer ends with the
// watchdog's verdict, no bootstrap name outlives a session, and a killed
// peer is reported as dead, not as an I/O error.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <regex>
#include <string>

#include "darwin_support.h"

namespace ipcb_test {
namespace {

using Clock = std::chrono::steady_clock;

// The local port's queue holds MACH_PORT_QLIMIT_DEFAULT (5) messages, fewer
// than the window: the label says so, and the sender waits in mid-window.
TEST(CFMessagePort, AStreamWindowAboveThePortQueueNamesTheLimit) {
  const ipcb_transport *cf = Find("CFMessagePort");
  ASSERT_NE(cf, nullptr);
  int rc = 0;
  SessionPtr session = Open(cf, 64, 1, 0, &rc, IPCB_STREAM, 64);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  std::string label = ipcb_session_label(session.get());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      label, m,
      std::regex("queue holds ([0-9]+) \\(CFMessagePort's Mach port, "
                 "(MACH_PORT_QLIMIT_DEFAULT|mpl_qlimit) = \\1\\)")))
      << "the label names no queue limit: '" << label << "'";
  EXPECT_LT(std::stoul(m[1].str()), 64u) << label;
  EXPECT_NE(label.find("queue holds 5 (CFMessagePort's Mach port, "
                       "MACH_PORT_QLIMIT_DEFAULT = 5)"),
            std::string::npos)
      << "CoreFoundation sets no queue limit, so the default was expected: "
      << label;
  ASSERT_TRUE(StreamMessages(session.get(), 4 * 64));
}

// CoreFoundation's mach_msg() restarts a send after the watchdog's signal,
// with its timeout renewed, so a send blocked on a stopped peer's full
// queue must end by the transport's short attempts asking the watchdog:
// with the watchdog's verdict, soon after the deadline.
TEST(CFMessagePort, ASendBlockedOnASilentPeerEndsWithTheWatchdogsVerdict) {
  const ipcb_transport *cf = Find("CFMessagePort");
  ASSERT_NE(cf, nullptr);
  int rc = 0;
  SessionPtr session =
      Open(cf, 64, 0, kSilentPeerDeadlineNs, &rc, IPCB_STREAM, 64);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  kill(ipcb_session_peer_pid(session.get()), SIGSTOP);
  auto start = Clock::now();
  for (int i = 0; i < 64 && rc == 0; i++)
    rc = ipcb_stream_send(session.get());
  if (rc == 0)
    rc = ipcb_stream_finish(session.get());
  ExpectTimedOutAtTheDeadline(session.get(), rc, Clock::now() - start);
}

// Both names, the client's and the peer's, are gone from the user's
// bootstrap namespace once the session is closed. The names travel in the
// peer's argv (--ipc_rdv=<client name>,<peer name>).
TEST(CFMessagePort, NoBootstrapNameOutlivesTheSession) {
  const ipcb_transport *cf = Find("CFMessagePort");
  ASSERT_NE(cf, nullptr);
  int rc = 0;
  SessionPtr session = Open(cf, 64, 0, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_round_trip(session.get()), 0)
      << ipcb_session_error(session.get());
  std::string token;
  for (const std::string &arg : ArgsOf(ipcb_session_peer_pid(session.get())))
    if (arg.rfind("--ipc_rdv=", 0) == 0)
      token = arg.substr(10);
  size_t comma = token.find(',');
  ASSERT_NE(comma, std::string::npos)
      << "no --ipc_rdv=<client>,<peer> in the peer's argv: '" << token << "'";
  const std::string names[2] = {token.substr(0, comma),
                                token.substr(comma + 1)};
  ASSERT_NE(names[0].find(".client"), std::string::npos) << names[0];
  ASSERT_NE(names[1].find(".peer"), std::string::npos) << names[1];
  bool during[2] = {Registered(names[0]), Registered(names[1])};
  session.reset();
  for (int i = 0; i < 2; i++)
    EXPECT_FALSE(StillRegistered(names[i]))
        << names[i] << " is still registered after the session closed ("
        << (during[i] ? "it was still registered during the session: "
                        "launchd refused to withdraw a live name"
                      : "it was withdrawn during the session, then came "
                        "back")
        << ")";
}

// CFMessagePortSendRequest reports a dead port as
// kCFMessagePortTransportError (CFMessagePort.c): that is a dead peer, not
// an I/O error, whenever the kill lands.
TEST(CFMessagePort, APeerKilledMidRunIsReportedAsDead) {
  ExpectRandomKillsReportedAsDead(Find("CFMessagePort"), 12,
                                  [](int) { return size_t{4096}; });
}

} // namespace
} // namespace ipcb_test
