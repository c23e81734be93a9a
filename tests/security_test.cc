// Every kernel object a session creates is private to the user.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "hygiene.h"
#include "support.h"

namespace ipcb_test {
namespace {

class Privacy : public testing::TestWithParam<const ipcb_transport *> {};

// Looks while the session runs: objects are removed or unlinked early, but
// whatever exists meanwhile must be mode 0600 or stricter.
TEST_P(Privacy, ObjectsAreOwnerOnlyWhileInUse) {
  auto before = KernelObjects();
  int rc = 0;
  SessionPtr session = Open(GetParam(), 4096, 0, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_pingpong(session.get()), 0);
  for (const auto &[name, mode] : KernelObjectModes()) {
    if (!before.count(name)) {
      EXPECT_EQ(mode & 077, 0u) << name << " has mode 0" << std::oct << mode;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTransports, Privacy,
                         testing::ValuesIn(Transports()), TransportName());

#ifdef __linux__
// A descriptor the client holds without FD_CLOEXEC (as Google Benchmark's
// --benchmark_out file is) must not reach the peer.
TEST(PeerDescriptors, OnlyStandardAndRendezvousFdsAreInherited) {
  int stray = open("/dev/null", O_RDONLY); // no O_CLOEXEC, on purpose
  ASSERT_GE(stray, 3);
  int rc = 0;
  SessionPtr session =
      Open(ipcb_transport_find("Pipe"), 64, 0, 0, &rc, IPCB_PINGPONG);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_pingpong(session.get()), 0);
  std::string dir =
      "/proc/" + std::to_string(ipcb_session_peer_pid(session.get())) + "/fd";
  int others = 0;
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    int fd = std::stoi(entry.path().filename().string());
    std::error_code ec;
    std::string target = std::filesystem::read_symlink(entry.path(), ec);
    if (fd <= 2)
      continue;
    EXPECT_NE(target, "/dev/null") << "fd " << fd << " of the peer";
    if (target.rfind("pipe:", 0) != 0)
      others++;
  }
  EXPECT_EQ(others, 0) << "the peer holds fds other than its pipes";
  close(stray);
}
#endif

} // namespace
} // namespace ipcb_test
