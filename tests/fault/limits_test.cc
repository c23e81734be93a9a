// Kernel limits exhausted: each test runs in a private IPC and mount
// namespace whose limits isolated.sh lowered (see CMakeLists.txt), so the
// host's are untouched. The open fails with a text that names the limit, the
// process does not crash, and nothing is left.
//
// IPCB_LIMIT_CASE names the case ctest set up; a test whose case is not the
// one in force skips, so running the binary by hand tests nothing here.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "../support.h"
#include "objects.h"

namespace ipcb_test {
namespace {

bool InCase(const char *name) {
  const char *in_force = getenv("IPCB_LIMIT_CASE");
  return in_force && std::string(in_force) == name;
}

// Opens `transport` (skipped if absent) and checks the failure: `code`,
// each of `words` in the text, and no object left.
void ExpectLimit(const char *transport, size_t bytes, int code,
                 std::initializer_list<const char *> words,
                 ipcb_pattern pattern = IPCB_PINGPONG) {
  const ipcb_transport *tr = ipcb_transport_find(transport);
  if (!tr)
    GTEST_SKIP() << transport << " is not built here";
  std::set<std::string> before = AllObjects();
  int rc = 0;
  std::string error;
  {
    SessionPtr s = Open(tr, bytes, 0, 0, &rc, pattern);
    error = ipcb_session_error(s.get());
    if (rc == 0)
      rc = ipcb_round_trip(s.get());
  }
  EXPECT_EQ(rc, code) << ipcb_code_name(rc) << ": " << error;
  for (const char *word : words)
    EXPECT_NE(error.find(word), std::string::npos) << error;
  EXPECT_EQ(AllObjects(), before) << "objects left after: " << error;
  EXPECT_EQ(ipcb_tracked_count(), 0u);
}

// kernel.msgmni=1: the first queue is made, the second refused; the first
// must go.
TEST(KernelLimits, SysVMsgQueuesExhausted) {
  if (!InCase("msgmni"))
    GTEST_SKIP() << "run by ctest as fault.limit.msgmni";
  ExpectLimit("SysVMsg", 4096, IPCB_ELIMIT,
              {"msgget", "ENOSPC", "kernel.msgmni = 1",
               "sudo sysctl -w kernel.msgmni=<queues>"});
}

// kernel.msgmni=0: the probe (what --ipc_list shows) names the limit too.
TEST(KernelLimits, SysVMsgProbeNamesTheQueueLimit) {
  if (!InCase("msgmni0"))
    GTEST_SKIP() << "run by ctest as fault.limit.msgmni0";
  char why[512] = "";
  const ipcb_transport *tr = ipcb_transport_find("SysVMsg");
  ASSERT_NE(tr, nullptr);
  EXPECT_EQ(tr->probe(why, sizeof why), IPCB_ELIMIT) << why;
  EXPECT_NE(std::string(why).find("ENOSPC"), std::string::npos) << why;
  EXPECT_NE(std::string(why).find("kernel.msgmni = 0"), std::string::npos)
      << why;
}

// kernel.shmmni=0.
TEST(KernelLimits, SysVShmSegmentsExhausted) {
  if (!InCase("shmmni"))
    GTEST_SKIP() << "run by ctest as fault.limit.shmmni";
  ExpectLimit("SysVShm", 4096, IPCB_ELIMIT, {"shmget", "ENOSPC", "shmmni"});
}

// kernel.shmall=2 pages: a segment of 64 KiB does not fit.
TEST(KernelLimits, SysVShmPagesExhausted) {
  if (!InCase("shmall"))
    GTEST_SKIP() << "run by ctest as fault.limit.shmall";
  ExpectLimit("SysVShm", 65536, IPCB_ELIMIT,
              {"shmget", "ENOSPC", "kernel.shmall is 2"});
}

// kernel.sem with semmni=0: the segment exists when semget fails.
TEST(KernelLimits, SysVSemaphoreSetsExhausted) {
  if (!InCase("semmni"))
    GTEST_SKIP() << "run by ctest as fault.limit.semmni";
  ExpectLimit("SysVShm", 4096, IPCB_ELIMIT, {"semget", "ENOSPC", "semmni"});
}

// fs.mqueue.queues_max=1: the second queue is refused.
TEST(KernelLimits, PosixMQQueuesExhausted) {
  if (!InCase("queues_max"))
    GTEST_SKIP() << "run by ctest as fault.limit.queues_max";
  ExpectLimit("PosixMQ", 4096, IPCB_ELIMIT,
              {"mq_open", "fs.mqueue.queues_max is 1"});
}

// fs.mqueue.msg_max=1 and msgsize_max=128: the queues shrink (Stream's depth
// is clamped, messages are chunked) and still work.
TEST(KernelLimits, PosixMQTinyQueuesStillWork) {
  if (!InCase("mq_tiny"))
    GTEST_SKIP() << "run by ctest as fault.limit.mq_tiny";
  const ipcb_transport *tr = ipcb_transport_find("PosixMQ");
  if (!tr)
    GTEST_SKIP() << "PosixMQ is not built here";
  for (ipcb_pattern pattern : {IPCB_PINGPONG, IPCB_STREAM}) {
    int rc = 0;
    SessionPtr s = Open(tr, 4096, 1, 0, &rc, pattern, 8);
    ASSERT_EQ(rc, 0) << ipcb_session_error(s.get());
    for (int i = 0; i < 20 && rc == 0; i++)
      rc = pattern == IPCB_STREAM ? ipcb_stream_send(s.get())
                                  : ipcb_round_trip(s.get());
    if (rc == 0 && pattern == IPCB_STREAM)
      rc = ipcb_stream_finish(s.get());
    EXPECT_EQ(rc, 0) << ipcb_session_error(s.get());
  }
}

// A 64 KiB /dev/shm: without the pages reserved at setup, the first touch
// past the end killed the process with SIGBUS.
TEST(KernelLimits, DevShmFull) {
  if (!InCase("dev_shm"))
    GTEST_SKIP() << "run by ctest as fault.limit.dev_shm";
  ExpectLimit("PosixShm", 1 << 20, IPCB_ELIMIT, {"ENOSPC", "/dev/shm"});
  ExpectLimit("ShmSpin", 1 << 20, IPCB_ELIMIT, {"ENOSPC", "/dev/shm"});
}

// Fills every free descriptor number below the highest open one, so that the
// table is dense whatever the test was started with (a shell that leaves fd
// 255 open, or a runner that leaves only 0-2): the new descriptors are then
// exactly the ones above `highest`. Returns the fillers, to close.
static std::vector<int> FillDescriptorGaps(int *highest) {
  *highest = 0;
  for (int fd = 0; fd < 4096; fd++)
    if (fcntl(fd, F_GETFD) >= 0)
      *highest = fd;
  std::vector<int> fillers;
  for (int fd = 0; fd < *highest; fd++)
    if (fcntl(fd, F_GETFD) < 0)
      fillers.push_back(fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, fd));
  return fillers;
}

// Descriptors: RLIMIT_NOFILE a few above what is open. Every transport either
// works or fails with EMFILE named; none crashes or leaks. With 40 to spare
// every transport works. Runs anywhere: outside isolated.sh's namespaces
// the leak check counts only objects that are provably ours (OursNow).
TEST(KernelLimits, FewDescriptorsLeft) {
  struct rlimit old;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  int highest = 0;
  std::vector<int> fillers = FillDescriptorGaps(&highest);
  size_t mark = RecordMark();
  std::set<std::string> before = OursNow(mark);
  for (const ipcb_transport *tr : Transports(true)) {
    for (int spare : {0, 1, 2, 3, 4, 8, 16, 40}) {
      SCOPED_TRACE(testing::Message()
                   << tr->name << ", " << spare << " descriptors to spare");
      struct rlimit low = old;
      low.rlim_cur = static_cast<rlim_t>(highest + 1 + spare);
      ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
      int rc = 0;
      std::string error;
      {
        SessionPtr s = Open(tr, 12, 0, 0, &rc);
        if (rc == 0)
          rc = ipcb_round_trip(s.get());
        error = ipcb_session_error(s.get());
      }
      setrlimit(RLIMIT_NOFILE, &old);
      if (rc != 0) {
        EXPECT_NE(error.find("EMFILE"), std::string::npos)
            << "rc " << ipcb_code_name(rc) << ": " << error;
      }
      if (spare == 40) {
        EXPECT_EQ(rc, 0) << error;
      }
      EXPECT_EQ(ipcb_tracked_count(), 0u);
    }
  }
  for (int fd : fillers)
    close(fd);
  EXPECT_EQ(OursNow(mark), before);
}

} // namespace
} // namespace ipcb_test
