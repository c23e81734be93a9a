#include "darwin_support.h"

#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <signal.h>
#include <sys/sysctl.h>

#include <cstring>
#include <random>
#include <thread>

namespace ipcb_test {

using Clock = std::chrono::steady_clock;

const ipcb_transport *Find(const char *name) {
  const ipcb_transport *transport = ipcb_transport_find(name);
  EXPECT_NE(transport, nullptr) << name << " is not in the registry";
  return transport;
}

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

bool StillRegistered(const std::string &name) {
  for (int i = 0; i < 100 && Registered(name); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return Registered(name);
}

void ExpectRandomKillsReportedAsDead(
    const ipcb_transport *transport, unsigned seed,
    const std::function<size_t(int trial)> &bytes,
    std::optional<std::chrono::microseconds> reported_within) {
  ASSERT_NE(transport, nullptr);
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 20; trial++) {
    int rc = 0;
    SessionPtr session = Open(transport, bytes(trial), 0, 0, &rc);
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
    auto killed = Clock::now(); // about when the killer starts counting
    while ((rc = ipcb_round_trip(session.get())) == 0 &&
           Clock::now() < deadline)
      ;
    long waited_us =
        (long)std::chrono::duration_cast<std::chrono::microseconds>(
            Clock::now() - killed)
            .count();
    killer.join();
    EXPECT_EQ(rc, IPCB_EPEERDIED)
        << "trial " << trial << ", killed after " << delay_us
        << " us: " << ipcb_session_error(session.get());
    if (reported_within) {
      EXPECT_LT(waited_us - delay_us, (long)reported_within->count())
          << "trial " << trial << ": the death took " << waited_us - delay_us
          << " us to be reported";
    }
  }
}

void ExpectStrangerNeverAnswered(const char *transport, const char *mode,
                                 intruder_trial *trial) {
  ASSERT_EQ(intruder_trial_run(transport, mode, trial), 0) << trial->err;
  EXPECT_EQ(trial->attach_rc, 0)
      << ipcb_code_name(trial->attach_rc) << ": " << trial->err;
  EXPECT_EQ(trial->exchange_rc, 0)
      << ipcb_code_name(trial->exchange_rc) << ": " << trial->err;
  EXPECT_EQ(trial->intruder_status, 0)
      << (trial->intruder_status == 10 ? "the client answered the stranger"
                                       : "the stranger did not end cleanly");
}

} // namespace ipcb_test
