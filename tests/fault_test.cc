// Faults: a peer killed mid-exchange, a peer that stops answering, a size
// over a limit that cannot be chunked.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support.h"

namespace ipcb_test {
namespace {

using Clock = std::chrono::steady_clock;

class Faults : public testing::TestWithParam<const ipcb_transport *> {};

// Gone, or a zombie that nobody has reaped yet (an orphan's new parent may
// be slow to, or never, reap it here).
bool ProcessGone(pid_t pid) {
  if (kill(pid, 0) != 0)
    return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, comm, state;
  stat >> pid_field >> comm >> state;
  return state == "Z";
}

TEST_P(Faults, PeerKilledMidExchangeIsReportedWithinOneSecond) {
  int rc = 0;
  SessionPtr session = Open(GetParam(), 4096, 0, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_round_trip(session.get()), 0);
  std::atomic<int64_t> killed_at{0};
  int peer = ipcb_session_peer_pid(session.get());
  std::thread killer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    killed_at = Clock::now().time_since_epoch().count();
    kill(peer, SIGKILL);
  });
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while ((rc = ipcb_round_trip(session.get())) == 0 && Clock::now() < deadline)
    ;
  int64_t noticed = Clock::now().time_since_epoch().count();
  killer.join();
  EXPECT_EQ(rc, IPCB_EPEERDIED) << ipcb_session_error(session.get());
  EXPECT_NE(std::string(ipcb_session_error(session.get())).find("SIGKILL"),
            std::string::npos)
      << ipcb_session_error(session.get());
  EXPECT_LT(std::chrono::nanoseconds(noticed - killed_at.load()),
            std::chrono::seconds(1));
  EXPECT_EQ(ipcb_round_trip(session.get()), IPCB_EPEERDIED) << "fault sticks";
}

TEST_P(Faults, SilentPeerTimesOut) {
  int rc = 0;
  SessionPtr session = Open(GetParam(), 64, 0, kSilentPeerDeadlineNs, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_round_trip(session.get()), 0);
  kill(ipcb_session_peer_pid(session.get()), SIGSTOP);
  auto start = Clock::now();
  rc = ipcb_round_trip(session.get());
  ExpectTimedOutAtTheDeadline(session.get(), rc, Clock::now() - start);
  // Closing kills the stopped peer: SIGKILL ends a stopped process too.
}

// The client dies without a chance to clean up: its peer must notice, remove
// what the client left (the hygiene check at the end looks), and exit.
TEST_P(Faults, ClientKilledPeerExitsWithinOneSecond) {
#ifdef __APPLE__
  // The client here is a fork without exec; CoreFoundation, already used by
  // this process, aborts a forked child that calls it, and so does
  // libdispatch (under libxpc) once the parent has used it.
  const std::string name = GetParam()->name;
  if (name == "CFMessagePort" || name == "CFMachPort" || name == "XPC")
    GTEST_SKIP() << "CoreFoundation and libdispatch cannot run in a forked "
                    "child";
#endif
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  pid_t client = fork();
  ASSERT_GE(client, 0);
  if (client == 0) { // the client: open, exchange, report the peer, wait
    int rc = 0;
    SessionPtr session = Open(GetParam(), 4096, 0, 0, &rc);
    int peer = rc == 0 && ipcb_round_trip(session.get()) == 0
                   ? ipcb_session_peer_pid(session.get())
                   : -1;
    if (write(report[1], &peer, sizeof peer) != sizeof peer)
      _exit(3);
    for (;;)
      pause();
  }
  close(report[1]);
  int peer = -1;
  ASSERT_EQ(read(report[0], &peer, sizeof peer), (ssize_t)sizeof peer);
  close(report[0]);
  ASSERT_GT(peer, 0) << "the client could not open a session";
  kill(client, SIGKILL);
  waitpid(client, nullptr, 0);
  auto deadline = Clock::now() + std::chrono::seconds(1);
  while (!ProcessGone(peer) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(ProcessGone(peer)) << "peer " << peer << " outlived its client";
}

INSTANTIATE_TEST_SUITE_P(AllTransports, Faults, testing::ValuesIn(Transports()),
                         TransportName());

// "Threads:" of /proc/<pid>/status, or -1 where there is no /proc.
int ThreadsOf(const std::string &pid) {
  std::ifstream status("/proc/" + pid + "/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Threads:", 0) == 0)
      return std::stoi(line.substr(8));
  return -1;
}

// Where a timer can signal one thread (Linux), the watchdog is that timer:
// a second thread would make every read and write of both processes slower.

TEST(Watchdog, NeedsNoSecondThreadWhereTheSliceIsATimer) {
  if (ThreadsOf("self") < 0)
    GTEST_SKIP() << "no /proc: the watchdog is a thread here";
#ifdef IPCB_TEST_UNDER_TSAN
  GTEST_SKIP() << "ThreadSanitizer defers signal handlers: a thread here";
#endif
  const ipcb_transport *pipe = ipcb_transport_find("Pipe");
  ASSERT_NE(pipe, nullptr);
  int before = ThreadsOf("self"), rc = 0;
  SessionPtr session = Open(pipe, 12, 0, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_round_trip(session.get()), 0);
  EXPECT_EQ(ThreadsOf("self"), before);
  EXPECT_EQ(ThreadsOf(std::to_string(ipcb_session_peer_pid(session.get()))), 1);
}

// More sessions at once than the timer slots (32): the last one's watchdog
// is a thread, whose signal must still end a restartable wait (a pipe's
// read) at the deadline.
TEST(Watchdog, ASessionBeyondTheTimerSlotsStillTimesOut) {
  const ipcb_transport *pipe = ipcb_transport_find("Pipe");
  ASSERT_NE(pipe, nullptr);
  std::vector<SessionPtr> open;
  int rc = 0;
  for (int i = 0; i < 33 && rc == 0; i++)
    open.push_back(Open(pipe, 12, 0, kSilentPeerDeadlineNs, &rc));
  ASSERT_EQ(rc, 0) << ipcb_session_error(open.back().get());
  ipcb_session *last = open.back().get();
  ASSERT_EQ(ipcb_round_trip(last), 0) << ipcb_session_error(last);
  kill(ipcb_session_peer_pid(last), SIGSTOP);
  auto start = Clock::now();
  rc = ipcb_round_trip(last);
  ExpectTimedOutAtTheDeadline(last, rc, Clock::now() - start);
}

// Run by ctest inside an IPC namespace whose kernel.shmmax is 1 MiB (see
// tests/CMakeLists.txt); skipped where shmmax is too large to exceed.
TEST(Limits, SysVShmOverShmmaxNamesTheLimit) {
  const ipcb_transport *shm = ipcb_transport_find("SysVShm");
  ipcb_limit limit{};
  ASSERT_NE(shm, nullptr);
  ASSERT_EQ(ipcb_kernel_limit(IPCB_LIMIT_SHMMAX, &limit), 0);
  if (limit.value > (64u << 20))
    GTEST_SKIP() << limit.name << " is " << limit.value
                 << ": too large to exceed here";
  int rc = 0;
  // One byte more than the segment holds at PingPong.
  SessionPtr session = Open(shm, limit.value + 1, 0, 0, &rc);
  std::string error = ipcb_session_error(session.get());
  EXPECT_EQ(rc, IPCB_ELIMIT) << error;
  EXPECT_NE(error.find(limit.name), std::string::npos) << error;
  EXPECT_NE(error.find("sysctl -w"), std::string::npos) << error;
}

} // namespace
} // namespace ipcb_test
