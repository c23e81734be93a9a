// MemfdSeal: every message is a new memfd, so a missed close or munmap at
// release would grow both sides' descriptor tables and mappings.
#include <gtest/gtest.h>

#include <dirent.h>

#include <fstream>
#include <string>

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

} // namespace
} // namespace ipcb_test
