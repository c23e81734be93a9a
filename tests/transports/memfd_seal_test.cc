// MemfdSeal: every message is a new memfd, so a missed close or munmap at
// release would grow both sides' descriptor tables and mappings.
#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "../cost_support.h"
#include "../support.h"

namespace ipcb_test {
namespace {

size_t Count(const std::string &pid, size_t *memfd_maps) {
  size_t fds = 0;
  if (DIR *dir = opendir(("/proc/" + pid + "/fd").c_str())) {
    while (readdir(dir))
      fds++;
    closedir(dir);
  }
  std::ifstream maps("/proc/" + pid + "/maps");
  std::string line;
  *memfd_maps = 0;
  while (std::getline(maps, line))
    *memfd_maps += line.find("memfd:ipcb-msg") != std::string::npos;
  return fds;
}

TEST(MemfdSeal, ReleaseClosesAndUnmapsEveryMessage) {
  const ipcb_transport *seal = ipcb_transport_find("MemfdSeal");
  ASSERT_NE(seal, nullptr);
  int rc = 0;
  SessionPtr session = Open(seal, 65536, 1, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  std::string peer = std::to_string(ipcb_session_peer_pid(session.get()));
  ASSERT_EQ(ipcb_round_trip(session.get()), 0);
  size_t maps_self = 0, maps_peer = 0;
  size_t fds_self = Count("self", &maps_self);
  size_t fds_peer = Count(peer, &maps_peer);
  for (int i = 0; i < 100; i++)
    ASSERT_EQ(ipcb_round_trip(session.get()), 0)
        << ipcb_session_error(session.get());
  size_t maps_self2 = 0, maps_peer2 = 0;
  EXPECT_EQ(Count("self", &maps_self2), fds_self);
  // The peer may be between release and its next receive: at most the
  // message it is sending is open there.
  EXPECT_LE(Count(peer, &maps_peer2), fds_peer + 1);
  EXPECT_EQ(maps_self2, 0u);
  EXPECT_LE(maps_peer2, 1u);
}

// Every MemfdSeal message is a new memfd: its pages (16 of 4 KiB) are
// faulted in fresh by the sender's writes, and again where the receiver
// maps them. A pipe copies into the same buffers each time.
TEST(MemfdSeal, EveryMessageFaultsInFreshPagesAPipeNone) {
  const ipcb_transport *seal = ipcb_transport_find("MemfdSeal");
  const ipcb_transport *pipe_tr = ipcb_transport_find("Pipe");
  ASSERT_NE(seal, nullptr);
  ASSERT_NE(pipe_tr, nullptr);
  const int64_t run_ns = 300 * 1000 * 1000;
  LoopCost sealed, piped;
  ASSERT_TRUE(MeasureCost(seal, IPCB_PINGPONG, 65536, run_ns, {}, &sealed));
  ASSERT_TRUE(MeasureCost(pipe_tr, IPCB_PINGPONG, 65536, run_ns, {}, &piped));
  ASSERT_TRUE(sealed.client.have & sealed.peer.have & IPCB_USAGE_FAULTS);
  // Two messages a round trip, each of 65536 / page size fresh pages.
  const double pages = 65536.0 / static_cast<double>(sysconf(_SC_PAGESIZE));
  EXPECT_GE(sealed.PerIteration(sealed.client.faults + sealed.peer.faults) / 2,
            pages);
  const double pipe_faults =
      piped.PerIteration(piped.client.faults + piped.peer.faults);
#ifdef IPCB_TEST_UNDER_TSAN
  // ThreadSanitizer's own shadow and trace memory fault in as it runs.
  EXPECT_LT(pipe_faults, 2.0);
#else
  EXPECT_LT(pipe_faults, 0.5);
#endif
}

} // namespace
} // namespace ipcb_test
