// The flag value parsers: sizes lists and durations, good and bad.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "ipcb/ipcb.h"

namespace {

std::vector<size_t> Parse(const char *text, int *rc, std::string *err) {
  size_t out[16], count = 0;
  char buf[512] = "";
  *rc = ipcb_parse_sizes(text, out, 16, &count, buf, sizeof buf);
  *err = buf;
  return *rc ? std::vector<size_t>{} : std::vector<size_t>(out, out + count);
}

TEST(Sizes, AcceptsUnitsAndLists) {
  int rc;
  std::string err;
  EXPECT_EQ(Parse("12,4KiB,4MiB", &rc, &err),
            (std::vector<size_t>{12, 4096, 4u << 20}));
  EXPECT_EQ(Parse("1B,2K,3M,1G", &rc, &err),
            (std::vector<size_t>{1, 2048, 3u << 20, 1u << 30}));
  EXPECT_EQ(Parse("64kib", &rc, &err), (std::vector<size_t>{65536}));
  EXPECT_EQ(Parse("1GiB", &rc, &err), (std::vector<size_t>{1u << 30}));
}

struct Bad {
  const char *text, *reason;
};

class BadSizes : public testing::TestWithParam<Bad> {};

TEST_P(BadSizes, AreRejectedWithTheReasonAndWhatIsAccepted) {
  int rc;
  std::string err;
  Parse(GetParam().text, &rc, &err);
  EXPECT_EQ(rc, -EINVAL);
  EXPECT_NE(err.find(GetParam().reason), std::string::npos) << err;
  EXPECT_NE(err.find("accepted:"), std::string::npos) << err;
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadSizes,
    testing::Values(
        Bad{"", "an empty item"}, Bad{"12,,4", "an empty item"},
        Bad{"12,", "an empty item"}, Bad{"-1", "does not start with a number"},
        Bad{"0", "outside 1 B..1 GiB"}, Bad{"2GiB", "outside 1 B..1 GiB"},
        Bad{"1073741825", "outside 1 B..1 GiB"},
        Bad{"18446744073709551616", "larger than 1 GiB"},
        Bad{"99999999999999999999999", "larger than 1 GiB"},
        Bad{"4kb", "unknown unit 'kb'"}, Bad{"4 KiB", "unknown unit ' KiB'"},
        Bad{"12,12", "listed twice"}, Bad{"4096,4KiB", "listed twice"},
        Bad{"abc", "does not start with a number"}));

TEST(Durations, ParseAndReject) {
  int64_t ns = 0;
  char err[256];
  EXPECT_EQ(ipcb_parse_duration("10s", &ns, err, sizeof err), 0);
  EXPECT_EQ(ns, 10'000'000'000);
  EXPECT_EQ(ipcb_parse_duration("250ms", &ns, err, sizeof err), 0);
  EXPECT_EQ(ns, 250'000'000);
  EXPECT_EQ(ipcb_parse_duration("2", &ns, err, sizeof err), 0);
  EXPECT_EQ(ns, 2'000'000'000);
  for (const char *bad : {"", "0", "-1s", "10x", "2h", "0.1ms", "s"}) {
    EXPECT_EQ(ipcb_parse_duration(bad, &ns, err, sizeof err), -EINVAL) << bad;
    EXPECT_NE(strstr(err, "accepted:"), nullptr) << err;
  }
}

TEST(FormatSize, ReadsLikeAPerson) {
  char out[32];
  ipcb_format_size(4u << 20, out, sizeof out);
  EXPECT_STREQ(out, "4 MiB");
  ipcb_format_size(8192, out, sizeof out);
  EXPECT_STREQ(out, "8 KiB");
  ipcb_format_size(65537, out, sizeof out);
  EXPECT_STREQ(out, "65537 B");
}

} // namespace
