// SysVShm: one segment for both directions holds exactly the payload, so a
// message of kern.sysv.shmmax / kernel.shmmax bytes fits, even where the
// system-wide pages hold only that one segment: a stock Mac ships 4 MiB (the
// 2017 payload) and kern.sysv.shmall = 1024 pages of 4 KiB. Named Limits.*
// so that ctest also runs it in an IPC namespace scaled the same way
// (kernel.shmmax 1 MiB, kernel.shmall 256 pages).
#include <gtest/gtest.h>

#include <unistd.h>

#include <string>

#include "../support.h"

namespace ipcb_test {
namespace {

TEST(Limits, SysVShmMessageOfShmmaxFits) {
  const ipcb_transport *shm = ipcb_transport_find("SysVShm");
  ASSERT_NE(shm, nullptr);
  ipcb_limit max{}, all{};
  ASSERT_EQ(ipcb_kernel_limit(IPCB_LIMIT_SHMMAX, &max), 0);
  if (max.value > (64u << 20))
    GTEST_SKIP() << max.name << " is " << max.value << ": too large to fill";
  EXPECT_EQ(shm->max_message(), max.value);
  int rc = 0;
  SessionPtr session = Open(shm, max.value, 1, 0, &rc);
  std::string error = ipcb_session_error(session.get());
  // Only where the pages of all segments cannot hold even one of shmmax.
  if (ipcb_kernel_limit(IPCB_LIMIT_SHMALL, &all) == 0 &&
      all.value * 4096 < max.value)
    GTEST_SKIP() << all.name << " = " << all.value << " pages: " << error;
  ASSERT_EQ(rc, 0) << ipcb_code_name(rc) << ": " << error;
  for (int i = 0; i < 3; i++)
    ASSERT_EQ(ipcb_round_trip(session.get()), 0)
        << ipcb_session_error(session.get());
}

// Slots on 64-byte lines where that adds no page (16 slots of 4097 bytes),
// byte for byte where it would (5 slots of a fifth of a page: 4095 bytes
// where 5 lines of 832 would spill into a second page); every byte of every
// message arrives either way.
TEST(SysVShm, AlignedAndUnalignedSlotsCarryAWindow) {
  const ipcb_transport *shm = ipcb_transport_find("SysVShm");
  ASSERT_NE(shm, nullptr);
  const size_t fifth = static_cast<size_t>(sysconf(_SC_PAGESIZE)) / 5;
  const struct {
    size_t bytes;
    unsigned window;
  } cases[] = {{4097, 16}, {fifth, 5}};
  for (const auto &c : cases) {
    SCOPED_TRACE(testing::Message() << c.window << " x " << c.bytes << " B");
    int rc = 0;
    SessionPtr session = Open(shm, c.bytes, 1, 0, &rc, IPCB_STREAM, c.window);
    ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
    ASSERT_TRUE(StreamMessages(session.get(), 8 * c.window + 3));
  }
}

} // namespace
} // namespace ipcb_test
