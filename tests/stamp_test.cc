// Payload stamps: fresh data passes; stale, shifted or altered data fails.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "ipcb/ipcb.h"

namespace {

int Check(const std::vector<unsigned char> &buf, size_t n, uint64_t seq,
          int verify) {
  char err[256];
  return ipcb_stamp_check(buf.data(), n, seq, verify, err, sizeof err);
}

class StampSizes : public testing::TestWithParam<size_t> {};

TEST_P(StampSizes, FreshMessagePasses) {
  size_t n = GetParam();
  std::vector<unsigned char> buf(n);
  for (int verify = 0; verify < 2; verify++) {
    ipcb_stamp(buf.data(), n, 42, verify);
    EXPECT_EQ(Check(buf, n, 42, verify), 0) << n << " verify=" << verify;
  }
}

TEST_P(StampSizes, StaleMessageFails) {
  size_t n = GetParam();
  std::vector<unsigned char> buf(n);
  ipcb_stamp(buf.data(), n, 40, 0);
  EXPECT_EQ(Check(buf, n, 42, 0), IPCB_ECORRUPT);
  EXPECT_EQ(Check(buf, n, 41, 1), IPCB_ECORRUPT);
}

INSTANTIATE_TEST_SUITE_P(EdgeSizes, StampSizes,
                         testing::Values(1, 7, 8, 9, 63, 64, 65, 4095, 4096,
                                         65537));

TEST(Stamp, ShortMessageCarriesTheLowBytes) {
  unsigned char buf[3];
  ipcb_stamp(buf, sizeof buf, 0x0A0B0C0Dull, 0);
  EXPECT_EQ(buf[0], 0x0D);
  EXPECT_EQ(buf[1], 0x0C);
  EXPECT_EQ(buf[2], 0x0B);
}

TEST(Stamp, BufferShiftedByWholeLinesFails) {
  std::vector<unsigned char> buf(4096 + 64);
  ipcb_stamp(buf.data(), buf.size(), 7, 0);
  std::vector<unsigned char> shifted(buf.begin() + 64, buf.end());
  EXPECT_EQ(Check(shifted, shifted.size(), 7, 0), IPCB_ECORRUPT);
}

TEST(Stamp, BufferShiftedByOneByteFails) {
  std::vector<unsigned char> buf(4097);
  ipcb_stamp(buf.data(), buf.size(), 7, 0);
  std::vector<unsigned char> shifted(buf.begin() + 1, buf.end());
  EXPECT_EQ(Check(shifted, shifted.size(), 7, 0), IPCB_ECORRUPT);
}

TEST(Stamp, LastPartialLineIsChecked) {
  std::vector<unsigned char> buf(130);
  ipcb_stamp(buf.data(), buf.size(), 9, 0);
  buf[128] ^= 1; // the stamp of the third line, 2 bytes long
  EXPECT_EQ(Check(buf, buf.size(), 9, 0), IPCB_ECORRUPT);
}

// One line has a path of its own: the same stamp, and every bit of it
// checked, with the offset named.
TEST(Stamp, OneLineMessageChecksEveryStampBit) {
  for (size_t n : {8, 12, 64}) {
    std::vector<unsigned char> buf(n, 0xEE);
    const uint64_t seq = 0x1122334455667788ull;
    ipcb_stamp(buf.data(), n, seq, 0);
    EXPECT_EQ(memcmp(buf.data(), &seq, 8), 0) << n;
    for (size_t i = 8; i < n; i++)
      EXPECT_EQ(buf[i], 0xEE) << n << ": byte " << i << " is no stamp";
    for (int bit = 0; bit < 64; bit++) {
      std::vector<unsigned char> bad = buf;
      bad[bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
      char err[256] = "";
      EXPECT_EQ(ipcb_stamp_check(bad.data(), n, seq, 0, err, sizeof err),
                IPCB_ECORRUPT)
          << n << ": bit " << bit;
      EXPECT_NE(strstr(err, "offset 0 of"), nullptr) << err;
    }
  }
}

TEST(Stamp, VerifyCatchesOneFlippedPayloadByte) {
  std::vector<unsigned char> buf(4096);
  ipcb_stamp(buf.data(), buf.size(), 3, 1);
  buf[1000] ^= 0x10; // between stamps: only full verification sees it
  EXPECT_EQ(Check(buf, buf.size(), 3, 0), 0);
  char err[256];
  EXPECT_EQ(ipcb_stamp_check(buf.data(), buf.size(), 3, 1, err, sizeof err),
            IPCB_ECORRUPT);
  EXPECT_NE(strstr(err, "byte 1000"), nullptr) << err;
}

} // namespace
