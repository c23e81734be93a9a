// A corrupt or hostile peer: the test writes what such a peer could, on the
// descriptor the peer would inherit, and the client must fail with
// IPCB_ECORRUPT, write nothing out of bounds (the asan preset runs these)
// and keep no descriptor it was handed. Neither side ever blocks for good:
// the test sends without waiting and the endpoint's receive has a deadline.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "endpoint.h"
#include "ipcb/ipcb.h"

namespace ipcb_test {
namespace {

class HostilePeer {
public:
  HostilePeer(const char *transport, size_t max_bytes) {
    const char *err = "", *token = "";
    endpoint_ = hostile_open(transport, max_bytes, &peer_fd_, &token, &err);
    error_ = err;
    if (endpoint_)
      token_ = token;
  }
  ~HostilePeer() {
    hostile_close(endpoint_);
    if (peer_fd_ >= 0)
      close(peer_fd_);
  }
  bool ok() const { return endpoint_ != nullptr; }
  const std::string &error() const { return error_; }
  int fd() const { return peer_fd_; }
  const std::string &token() const { return token_; }
  int Receive(size_t n) {
    const char *err = "";
    int rc = hostile_recv(endpoint_, n, &err);
    error_ = err;
    return rc;
  }

private:
  hostile_endpoint *endpoint_ = nullptr;
  int peer_fd_ = -1;
  std::string error_, token_;
};

TEST(HostilePeer, UnixDgramShortDatagram) {
  HostilePeer peer("UnixDgram", 4096);
  ASSERT_TRUE(peer.ok()) << peer.error();
  char bytes[10] = {};
  ASSERT_EQ(send(peer.fd(), bytes, sizeof bytes, MSG_DONTWAIT), 10);
  EXPECT_EQ(peer.Receive(100), IPCB_ECORRUPT);
  EXPECT_NE(peer.error().find("10 bytes, expected 100"), std::string::npos)
      << peer.error();
}

TEST(HostilePeer, UnixDgramLongDatagramIsCutNotWritten) {
  HostilePeer peer("UnixDgram", 4096);
  ASSERT_TRUE(peer.ok()) << peer.error();
  std::vector<char> bytes(8192, 'x');
  ASSERT_EQ(send(peer.fd(), bytes.data(), bytes.size(), MSG_DONTWAIT), 8192);
  EXPECT_EQ(peer.Receive(100), IPCB_ECORRUPT);
  EXPECT_NE(peer.error().find("more than"), std::string::npos) << peer.error();
}

// SysVMsg: the rendezvous names the two queues, "<to peer>,<to client>".
// A System V message carries its own length, which the client checks. The
// test never waits: IPC_NOWAIT, and a failure ends the test before it reads.
testing::AssertionResult SendSysVMessage(const std::string &token,
                                         size_t bytes) {
  int to_peer = -1, to_client = -1;
  if (sscanf(token.c_str(), "%d,%d", &to_peer, &to_client) != 2)
    return testing::AssertionFailure() << "token " << token;
  std::vector<char> m(sizeof(long) + bytes, 'x');
  long type = 1;
  memcpy(m.data(), &type, sizeof type);
  if (msgsnd(to_client, m.data(), bytes, IPC_NOWAIT) != 0)
    return testing::AssertionFailure()
           << "msgsnd(" << bytes << " bytes): " << strerror(errno);
  return testing::AssertionSuccess();
}

// The largest message the running kernel queues: the smaller of MSGMAX and
// MSGMNB (macOS: 2048 bytes for both; Linux: 8192 and 16384 by default).
size_t LargestSysVMessage() {
  ipcb_limit max{}, mnb{};
  if (ipcb_kernel_limit(IPCB_LIMIT_MSGMAX, &max) != 0 ||
      ipcb_kernel_limit(IPCB_LIMIT_MSGMNB, &mnb) != 0)
    return 0;
  return static_cast<size_t>(std::min(max.value, mnb.value));
}

TEST(HostilePeer, SysVMsgShortChunk) {
  HostilePeer peer("SysVMsg", 4096);
  ASSERT_TRUE(peer.ok()) << peer.error();
  ASSERT_TRUE(SendSysVMessage(peer.token(), 10));
  EXPECT_EQ(peer.Receive(100), IPCB_ECORRUPT);
  EXPECT_NE(peer.error().find("has 10 bytes, expected 100"), std::string::npos)
      << peer.error();
}

TEST(HostilePeer, SysVMsgLongChunkIsRefusedNotWritten) {
  const size_t chunk = LargestSysVMessage();
  ASSERT_GT(chunk, 100u) << "MSGMAX or MSGMNB cannot be read";
  HostilePeer peer("SysVMsg", 4096);
  ASSERT_TRUE(peer.ok()) << peer.error();
  ASSERT_TRUE(SendSysVMessage(peer.token(), chunk));
  EXPECT_EQ(peer.Receive(100), -E2BIG);
  EXPECT_NE(peer.error().find("E2BIG"), std::string::npos) << peer.error();
}

// Nothing is sent: the client's receive must end at the endpoint's
// deadline, not block the test for ever, and the queues go with it.
TEST(HostilePeer, SysVMsgSilentPeerTimesOutAndLeavesNoQueue) {
  int to_peer = -1, to_client = -1;
  {
    HostilePeer peer("SysVMsg", 4096);
    ASSERT_TRUE(peer.ok()) << peer.error();
    ASSERT_EQ(sscanf(peer.token().c_str(), "%d,%d", &to_peer, &to_client), 2);
    EXPECT_EQ(peer.Receive(100), IPCB_ETIMEDOUT);
    EXPECT_NE(peer.error().find("timed out"), std::string::npos)
        << peer.error();
  }
  struct msqid_ds ds;
  EXPECT_NE(msgctl(to_peer, IPC_STAT, &ds), 0) << "queue " << to_peer;
  EXPECT_NE(msgctl(to_client, IPC_STAT, &ds), 0) << "queue " << to_client;
}

#ifdef __linux__
size_t OpenDescriptors() {
  size_t n = 0;
  if (DIR *dir = opendir("/proc/self/fd")) {
    while (readdir(dir))
      n++;
    closedir(dir);
  }
  return n;
}

// MemfdSeal's records: 8 bytes of size, and one sealed memfd.
constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL;

int Memfd(size_t size, bool sealed) {
  int fd = memfd_create("hostile", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0)
    return -1;
  if (sealed && fcntl(fd, F_ADD_SEALS, kSeals) != 0)
    return -1;
  return fd;
}

// Sends the size and the descriptors, then closes the test's copies.
void SendRecord(int sock, uint64_t size, std::vector<int> fds) {
  struct iovec iov = {&size, sizeof size};
  struct msghdr m = {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  if (!fds.empty()) {
    m.msg_control = control.data();
    m.msg_controllen = control.size();
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(h), fds.data(), sizeof(int) * fds.size());
  }
  ASSERT_EQ(sendmsg(sock, &m, MSG_DONTWAIT), static_cast<ssize_t>(sizeof size));
  for (int fd : fds)
    close(fd);
}

struct MemfdCase {
  const char *name;
  uint64_t announced;
  std::vector<std::pair<size_t, bool>> memfds; // size, sealed
  const char *expect;                          // in the error, or "" for OK
};

TEST(HostilePeer, MemfdSealRecords) {
  const size_t max = 4096;
  const MemfdCase cases[] = {
      {"an honest record", 100, {{100, true}}, ""},
      {"two descriptors", 100, {{100, true}, {100, true}}, "expected 8 bytes"},
      {"no descriptor", 100, {}, "without an fd"},
      {"an unsealed memfd", 100, {{100, false}}, "seals"},
      {"a size that is not the memfd's", max, {{100, true}}, "announced as"},
      {"more than the largest message",
       max + 1,
       {{max + 1, true}},
       "messages have 1 to 4096"},
      {"an empty message", 0, {{0, true}}, "announced as 0"},
  };
  for (const MemfdCase &c : cases) {
    SCOPED_TRACE(c.name);
    size_t before = OpenDescriptors();
    {
      HostilePeer peer("MemfdSeal", max);
      ASSERT_TRUE(peer.ok()) << peer.error();
      std::vector<int> fds;
      for (const auto &[size, sealed] : c.memfds)
        fds.push_back(Memfd(size, sealed));
      SendRecord(peer.fd(), c.announced, fds);
      int rc = peer.Receive(static_cast<size_t>(c.announced));
      if (*c.expect == '\0') {
        EXPECT_EQ(rc, 0) << peer.error();
      } else {
        EXPECT_EQ(rc, IPCB_ECORRUPT) << peer.error();
        EXPECT_NE(peer.error().find(c.expect), std::string::npos)
            << peer.error();
      }
    }
    EXPECT_EQ(OpenDescriptors(), before) << "a descriptor was left open";
  }
}
#endif

} // namespace
} // namespace ipcb_test
