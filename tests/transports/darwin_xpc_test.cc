// XPC on macOS (built here, run on a Mac): libxpc's private endpoint calls
// are there, messages of every size make the round trip intact, a Stream
// window fits the bridge, a silent peer ends at the deadline, a killed peer
// is reported as dead, the rendezvous leaves no bootstrap name behind, and
// a stranger at it never gets the listener's port.
#include <gtest/gtest.h>

#include <dlfcn.h>
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <signal.h>
#include <sys/sysctl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../support.h"
#include "intruder_darwin.h"

namespace ipcb_test {
namespace {

using Clock = std::chrono::steady_clock;

const ipcb_transport *XPC() {
  const ipcb_transport *transport = ipcb_transport_find("XPC");
  EXPECT_NE(transport, nullptr) << "XPC is not in the registry";
  return transport;
}

// The rendezvous rests on two calls libxpc exports without a header; the
// probe says whether they are there, and on the macOS versions run here
// they must be, or the transport would only ever be skipped.
TEST(XPC, TheProbeFindsLibxpcsEndpointCalls) {
  const ipcb_transport *xpc = XPC();
  ASSERT_NE(xpc, nullptr);
  EXPECT_NE(dlsym(RTLD_DEFAULT, "xpc_endpoint_copy_listener_port_4sim"),
            nullptr);
  EXPECT_NE(dlsym(RTLD_DEFAULT, "xpc_endpoint_create_mach_port_4sim"), nullptr);
  const char *why = nullptr;
  EXPECT_EQ(ipcb_transport_probe(xpc, &why), 0) << (why ? why : "");
}

// Inline-sized and out-of-line-sized data alike, with every byte checked.
TEST(XPC, MessagesOfSeveralSizesMakeTheRoundTripIntact) {
  const ipcb_transport *xpc = XPC();
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
  const ipcb_transport *xpc = XPC();
  ASSERT_NE(xpc, nullptr);
  int rc = 0;
  SessionPtr session = Open(xpc, 256, 1, 0, &rc, IPCB_STREAM, 64);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_TRUE(StreamMessages(session.get(), 4 * 64));
}

// The receiver waits on a compare-and-wait word, not in libxpc: the
// watchdog's signal must end that wait at the deadline.
TEST(XPC, ARoundTripWithASilentPeerEndsAtTheDeadline) {
  const ipcb_transport *xpc = XPC();
  ASSERT_NE(xpc, nullptr);
  int rc = 0;
  SessionPtr session = Open(xpc, 64, 0, kSilentPeerDeadlineNs, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_round_trip(session.get()), 0)
      << ipcb_session_error(session.get());
  kill(ipcb_session_peer_pid(session.get()), SIGSTOP);
  auto start = Clock::now();
  rc = ipcb_round_trip(session.get());
  ExpectTimedOutAtTheDeadline(session.get(), rc, Clock::now() - start);
}

// XPC_ERROR_CONNECTION_INVALID, or the watchdog, whichever comes first:
// either way a dead peer, not an I/O error, whenever the kill lands.
TEST(XPC, APeerKilledMidRunIsReportedAsDead) {
  const ipcb_transport *xpc = XPC();
  ASSERT_NE(xpc, nullptr);
  std::mt19937 rng(13);
  for (int trial = 0; trial < 20; trial++) {
    int rc = 0;
    SessionPtr session = Open(xpc, 4096, 0, 0, &rc);
    ASSERT_EQ(rc, 0) << "trial " << trial << ": "
                     << ipcb_session_error(session.get());
    ASSERT_EQ(ipcb_round_trip(session.get()), 0)
        << "trial " << trial << ": " << ipcb_session_error(session.get());
    int peer = ipcb_session_peer_pid(session.get());
    int delay_us = (int)(rng() % 20000);
    std::thread killer([peer, delay_us] {
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
      kill(peer, SIGKILL);
    });
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while ((rc = ipcb_round_trip(session.get())) == 0 &&
           Clock::now() < deadline)
      ;
    killer.join();
    EXPECT_EQ(rc, IPCB_EPEERDIED)
        << "trial " << trial << ", killed after " << delay_us
        << " us: " << ipcb_session_error(session.get());
  }
}

// The peer's argv as the kernel keeps it (KERN_PROCARGS2: argc, the exec
// path, padding, then the arguments).
std::vector<std::string> ArgsOf(pid_t pid) {
  int mib[3] = {CTL_KERN, KERN_PROCARGS2, pid};
  size_t size = 0;
  if (sysctl(mib, 3, nullptr, &size, nullptr, 0) != 0)
    return {};
  std::vector<char> buf(size);
  if (sysctl(mib, 3, buf.data(), &size, nullptr, 0) != 0 || size < sizeof(int))
    return {};
  int argc = 0;
  memcpy(&argc, buf.data(), sizeof argc);
  size_t at = sizeof argc;
  while (at < size && buf[at]) // the exec path
    at++;
  while (at < size && !buf[at]) // its padding
    at++;
  std::vector<std::string> args;
  while (at < size && (int)args.size() < argc) {
    std::string arg(buf.data() + at);
    at += arg.size() + 1;
    args.push_back(arg);
  }
  return args;
}

bool Registered(const std::string &name) {
  mach_port_t port = MACH_PORT_NULL;
  if (bootstrap_look_up(bootstrap_port, name.c_str(), &port) != KERN_SUCCESS)
    return false;
  mach_port_deallocate(mach_task_self(), port);
  return true;
}

// launchd deletes a name once it has taken its port's death notice, which
// is asynchronous: a name still there after a second has stayed.
bool StillRegistered(const std::string &name) {
  for (int i = 0; i < 100 && Registered(name); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return Registered(name);
}

// The anonymous listener has no name; the one name of the run is the Mach
// rendezvous's (--ipc_rdv=<name> in the peer's argv), and it is gone once
// the session is open, not only once it is closed.
TEST(XPC, TheRendezvousNameIsGoneOnceTheSessionIsOpen) {
  const ipcb_transport *xpc = XPC();
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
  ASSERT_EQ(intruder_trial_run("XPC", "hello", &trial), 0) << trial.err;
  EXPECT_EQ(trial.attach_rc, 0)
      << ipcb_code_name(trial.attach_rc) << ": " << trial.err;
  EXPECT_EQ(trial.exchange_rc, 0)
      << ipcb_code_name(trial.exchange_rc) << ": " << trial.err;
  EXPECT_EQ(trial.intruder_status, 0)
      << (trial.intruder_status == 10 ? "the client answered the stranger"
                                      : "the stranger did not end cleanly");
  EXPECT_FALSE(trial.registered_after_close)
      << trial.name << " is still registered after teardown";
}

} // namespace
} // namespace ipcb_test
