// PosixShm and ShmSpin: no name outlives the open (PosixShm unlinks its
// shared memory and semaphores once the peer holds them; ShmSpin's memory
// never keeps its name past setup). Seen in /dev/shm where there is one.
#include <gtest/gtest.h>

#include <unistd.h>

#include <set>
#include <string>

#include "../hygiene.h"
#include "../support.h"

namespace ipcb_test {
namespace {

class NoNameAfterOpen : public testing::TestWithParam<const char *> {};

TEST_P(NoNameAfterOpen, WhileTheSessionRuns) {
  const ipcb_transport *transport = ipcb_transport_find(GetParam());
  ASSERT_NE(transport, nullptr);
  std::set<std::string> before = KernelObjects();
  int rc = 0;
  SessionPtr session = Open(transport, 4096, 1, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_round_trip(session.get()), 0)
      << ipcb_session_error(session.get());
  // Only names of this process count: another program's come and go.
  std::string added, ours = "ipcb." + std::to_string(getpid()) + ".";
  for (const std::string &object : KernelObjects())
    if (!before.count(object) && object.find(ours) != std::string::npos)
      added += " " + object;
  EXPECT_EQ(added, "");
  EXPECT_EQ(ipcb_tracked_count(), 0u) << "names still tracked for cleanup";
}

INSTANTIATE_TEST_SUITE_P(SharedMemory, NoNameAfterOpen,
                         testing::Values("PosixShm", "ShmSpin"));

} // namespace
} // namespace ipcb_test
