// MachSemaphore: exact round trips and streams, a killed peer, a stranger at
// the rendezvous, and the kernel behaviour the transport rests on (xnu
// osfmk/kern/sync_sema.c): a signal ends a wait with KERN_ABORTED and loses no
// later semaphore_signal, another task's send right signals and waits, and the
// owner's death ends the waits on its semaphores.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <mach/mach.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "darwin_support.h"

namespace ipcb_test {
namespace {

using Clock = std::chrono::steady_clock;

// The sizes around a slot's 64-byte head and its rounding, a page, and a
// region of several megabytes: every byte checked.
TEST(MachSemaphore, RoundTripsOfSeveralSizesAreExact) {
  const ipcb_transport *sem = Find("MachSemaphore");
  ASSERT_NE(sem, nullptr);
  for (size_t bytes : {size_t{1}, size_t{63}, size_t{64}, size_t{65},
                       size_t{4096}, size_t{65537}, size_t{4} << 20}) {
    int rc = 0;
    SessionPtr session = Open(sem, bytes, /*verify=*/1, 0, &rc);
    ASSERT_EQ(rc, 0) << bytes << " B: " << ipcb_session_error(session.get());
    for (int i = 0; i < 5; i++)
      ASSERT_EQ(ipcb_round_trip(session.get()), 0)
          << bytes << " B: " << ipcb_session_error(session.get());
  }
}

// Every slot of a direction in flight, several windows over, up to the
// largest window ipc_bench accepts (no port queue limits this one): the
// counting semaphore holds each message's news until the receiver takes it.
TEST(MachSemaphore, StreamsOfManyWindowsAreExact) {
  const ipcb_transport *sem = Find("MachSemaphore");
  ASSERT_NE(sem, nullptr);
  for (unsigned window : {64u, 1024u}) {
    int rc = 0;
    SessionPtr session = Open(sem, 256, 1, 0, &rc, IPCB_STREAM, window);
    ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
    EXPECT_EQ(ipcb_session_window(session.get()), window);
    ASSERT_TRUE(StreamMessages(session.get(), 3 * window)) << window;
  }
}

// The client's semaphore_wait is untimed: only the watchdog's signal can end
// it, so AllTransports/Faults.SilentPeerTimesOut/MachSemaphore fails (hangs
// past the deadline) if KERN_ABORTED were retried without asking
// ipcb_interrupted().

// A dead peer leaves the client's semaphores alive: the wait ends at the
// watchdog's signal, and the session names the death.
TEST(MachSemaphore, AKilledPeerIsReportedDead) {
  const ipcb_transport *sem = Find("MachSemaphore");
  ASSERT_NE(sem, nullptr);
  int rc = 0;
  SessionPtr session = Open(sem, 4096, 0, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_round_trip(session.get()), 0);
  kill(ipcb_session_peer_pid(session.get()), SIGKILL);
  auto start = Clock::now();
  rc = ipcb_round_trip(session.get());
  EXPECT_EQ(rc, IPCB_EPEERDIED) << ipcb_session_error(session.get());
  EXPECT_NE(std::string(ipcb_session_error(session.get())).find("SIGKILL"),
            std::string::npos)
      << ipcb_session_error(session.get());
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));
}

// The hello that carries the memory entry and both semaphores is refused
// from a stranger like any other.
TEST(MachSemaphore, AStrangerAtTheRendezvousIsRefused) {
  intruder_trial trial;
  ExpectStrangerNeverAnswered("MachSemaphore", "hello", &trial);
}

// ---- The kernel, without the transport ---------------------------------

void NoOp(int) {}

// A thread blocked in semaphore_wait, and its result once the wait ends.
struct Waiter {
  explicit Waiter(semaphore_t s)
      : sem(s), result(done.get_future()), thread([this] {
          handle = pthread_self();
          started = true;
          done.set_value(semaphore_wait(sem));
        }) {}
  ~Waiter() { // still blocked where the test failed: a post ends it
    if (thread.joinable()) {
      semaphore_signal(sem);
      thread.join();
    }
  }
  bool Ended(std::chrono::milliseconds within) {
    return result.wait_for(within) == std::future_status::ready;
  }
  semaphore_t sem;
  std::promise<kern_return_t> done;
  std::future<kern_return_t> result;
  std::atomic<bool> started{false};
  pthread_t handle{};
  std::thread thread;
};

// The watchdog's premise: the trap waits THREAD_ABORTSAFE, so a signal
// handled without SA_RESTART ends it with KERN_ABORTED, which libsyscall
// does not retry; and a signal after such a wait is not lost (the count the
// aborted waiter left at -1 is reset and posted, sync_sema.c:406-411).
TEST(MachSemaphoreKernel, ASignalEndsAWaitWithKernAbortedAndLosesNoPost) {
  struct sigaction sa {
  }, old{};
  sa.sa_handler = NoOp;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old), 0);
  semaphore_t sem = MACH_PORT_NULL;
  ASSERT_EQ(semaphore_create(mach_task_self(), &sem, SYNC_POLICY_FIFO, 0),
            KERN_SUCCESS);
  {
    Waiter waiter(sem);
    while (!waiter.started)
      std::this_thread::yield();
    EXPECT_FALSE(waiter.Ended(std::chrono::milliseconds(50)))
        << "semaphore_wait returned with nothing posted";
    // Re-sent, as the watchdog does, in case one lands before the trap.
    for (int i = 0; i < 100 && !waiter.Ended(std::chrono::milliseconds(10));
         i++)
      pthread_kill(waiter.handle, SIGUSR2);
    ASSERT_TRUE(waiter.Ended(std::chrono::milliseconds(0)))
        << "a signal did not end semaphore_wait";
    EXPECT_EQ(waiter.result.get(), KERN_ABORTED);
    waiter.thread.join();
  }
  ASSERT_EQ(semaphore_signal(sem), KERN_SUCCESS);
  mach_timespec_t now = {0, 0}; // {0, 0}: take the count or fail at once
  EXPECT_EQ(semaphore_timedwait(sem, now), KERN_SUCCESS)
      << "the post after an interrupted wait was lost";
  EXPECT_EQ(semaphore_timedwait(sem, now), KERN_OPERATION_TIMED_OUT)
      << "one post was counted twice";
  EXPECT_EQ(semaphore_destroy(mach_task_self(), sem), KERN_SUCCESS);
  sigaction(SIGUSR2, &old, nullptr);
}

// A semaphore's send right, in one message.
struct SemMsg {
  mach_msg_header_t hdr;
  mach_msg_body_t body;
  mach_msg_port_descriptor_t sem;
};
struct SemRcv {
  SemMsg m;
  mach_msg_max_trailer_t trailer;
};

// The child: creates a semaphore, sends a right to it over the port its
// parent registered, and exits once `go` is closed.
[[noreturn]] void ChildOwner(int go) {
  mach_port_array_t ports = nullptr;
  mach_msg_type_number_t count = 0;
  semaphore_t sem = MACH_PORT_NULL;
  if (mach_ports_lookup(mach_task_self(), &ports, &count) != KERN_SUCCESS ||
      count < 1 || !MACH_PORT_VALID(ports[0]) ||
      semaphore_create(mach_task_self(), &sem, SYNC_POLICY_FIFO, 0) !=
          KERN_SUCCESS)
    _exit(2);
  SemMsg m{};
  m.hdr.msgh_bits =
      MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  m.hdr.msgh_size = sizeof m;
  m.hdr.msgh_remote_port = ports[0];
  m.body.msgh_descriptor_count = 1;
  m.sem.name = sem;
  m.sem.disposition = MACH_MSG_TYPE_COPY_SEND;
  m.sem.type = MACH_MSG_PORT_DESCRIPTOR;
  if (mach_msg(&m.hdr, MACH_SEND_MSG, sizeof m, 0, MACH_PORT_NULL,
               MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL) != MACH_MSG_SUCCESS)
    _exit(3);
  char byte;
  while (read(go, &byte, 1) > 0)
    ;
  _exit(0); // the task dies with its semaphore still alive
}

// A child task's semaphore, reached by a send right the child sends over a
// port this task registered, which a fork inherits (xnu
// osfmk/kern/ipc_tt.c:266, "inherit registered ports"). Returns the right,
// or MACH_PORT_NULL; `child` and `go` (close it and the child exits) are set
// either way.
semaphore_t SemaphoreOfAChild(pid_t *child, int *go) {
  mach_port_t port = MACH_PORT_NULL;
  *child = -1;
  *go = -1;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &port) !=
      KERN_SUCCESS)
    return MACH_PORT_NULL;
  mach_port_insert_right(mach_task_self(), port, port, MACH_MSG_TYPE_MAKE_SEND);
  int fds[2];
  if (pipe(fds) != 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
      fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0 ||
      mach_ports_register(mach_task_self(), &port, 1) != KERN_SUCCESS)
    return MACH_PORT_NULL;
  *child = fork();
  if (*child == 0) {
    close(fds[1]);
    ChildOwner(fds[0]);
  }
  mach_ports_register(mach_task_self(), nullptr, 0); // later children: none
  close(fds[0]);
  *go = fds[1];
  SemRcv r{};
  kern_return_t kr = *child < 0
                         ? KERN_FAILURE
                         : mach_msg(&r.m.hdr, MACH_RCV_MSG | MACH_RCV_TIMEOUT,
                                    0, sizeof r, port, 5000, MACH_PORT_NULL);
  mach_port_mod_refs(mach_task_self(), port, MACH_PORT_RIGHT_RECEIVE, -1);
  mach_port_deallocate(mach_task_self(), port);
  if (kr != MACH_MSG_SUCCESS || !(r.m.hdr.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||
      r.m.body.msgh_descriptor_count != 1)
    return MACH_PORT_NULL;
  return r.m.sem.name;
}

// What the peer rests on: a send right to the client's semaphore signals
// and waits on it from another task, and the client's death ends a wait
// blocked on it with KERN_TERMINATED (task_terminate_internal ->
// semaphore_destroy_all: THREAD_RESTART), then fails every signal alike.
TEST(MachSemaphoreKernel, AnotherTasksRightWorksAndItsDeathEndsTheWait) {
  pid_t child = -1;
  int go = -1;
  semaphore_t sem = SemaphoreOfAChild(&child, &go);
  if (!MACH_PORT_VALID(sem)) { // the child, if any, must not wait forever
    if (go >= 0)
      close(go);
    if (child > 0)
      waitpid(child, nullptr, 0);
    FAIL() << "no semaphore from the child";
  }
  EXPECT_EQ(semaphore_signal(sem), KERN_SUCCESS);
  EXPECT_EQ(semaphore_wait(sem), KERN_SUCCESS);
  {
    Waiter waiter(sem);
    while (!waiter.started)
      std::this_thread::yield();
    EXPECT_FALSE(waiter.Ended(std::chrono::milliseconds(50)))
        << "semaphore_wait returned with nothing posted";
    close(go); // the child exits
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    ASSERT_TRUE(waiter.Ended(std::chrono::seconds(5)))
        << "the owner's death did not end the wait";
    EXPECT_EQ(waiter.result.get(), KERN_TERMINATED);
    waiter.thread.join();
  }
  EXPECT_EQ(semaphore_signal(sem), KERN_TERMINATED);
  EXPECT_EQ(semaphore_wait(sem), KERN_TERMINATED);
  mach_port_deallocate(mach_task_self(), sem);
}

} // namespace
} // namespace ipcb_test
