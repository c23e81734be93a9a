// The latency histogram: exact small values, bounded error, percentiles.
#include <gtest/gtest.h>

#include <memory>

#include "ipcb/ipcb.h"

namespace {

struct Free {
  void operator()(ipcb_histogram *h) const { ipcb_histogram_free(h); }
};
using Histogram = std::unique_ptr<ipcb_histogram, Free>;

TEST(Histogram, EmptyReportsZero) {
  Histogram h(ipcb_histogram_new());
  EXPECT_EQ(ipcb_histogram_percentile(h.get(), 50), 0);
  EXPECT_EQ(ipcb_histogram_count(h.get()), 0u);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h(ipcb_histogram_new());
  for (int v = 1; v <= 100; v++)
    ipcb_histogram_record(h.get(), v);
  EXPECT_EQ(ipcb_histogram_percentile(h.get(), 50), 50);
  EXPECT_EQ(ipcb_histogram_percentile(h.get(), 99), 99);
  EXPECT_EQ(ipcb_histogram_percentile(h.get(), 100), 100);
  EXPECT_EQ(ipcb_histogram_max(h.get()), 100);
}

TEST(Histogram, LargeValuesKeepTwoSignificantDigits) {
  for (int64_t v :
       {257LL, 1000LL, 15000LL, 123456LL, 4194304LL, 9876543210LL}) {
    Histogram h(ipcb_histogram_new());
    ipcb_histogram_record(h.get(), v);
    ipcb_histogram_record(h.get(), v * 3); // so p50 is not clamped to max
    int64_t got = ipcb_histogram_percentile(h.get(), 50);
    EXPECT_GE(got, v) << v;
    EXPECT_LE(static_cast<double>(got - v), static_cast<double>(v) / 128) << v;
  }
}

TEST(Histogram, TailPercentilesSeeTheOutliers) {
  Histogram h(ipcb_histogram_new());
  for (int i = 0; i < 990; i++)
    ipcb_histogram_record(h.get(), 10000);
  for (int i = 0; i < 10; i++)
    ipcb_histogram_record(h.get(), 5000000);
  EXPECT_LE(ipcb_histogram_percentile(h.get(), 50), 10100);
  EXPECT_LE(ipcb_histogram_percentile(h.get(), 99), 10100);
  EXPECT_GE(ipcb_histogram_percentile(h.get(), 99.9), 5000000);
  EXPECT_EQ(ipcb_histogram_max(h.get()), 5000000);
  EXPECT_EQ(ipcb_histogram_count(h.get()), 1000u);
}

TEST(Histogram, HugeAndNegativeValuesDoNotOverflow) {
  Histogram h(ipcb_histogram_new());
  ipcb_histogram_record(h.get(), -5);
  ipcb_histogram_record(h.get(), INT64_MAX);
  EXPECT_EQ(ipcb_histogram_percentile(h.get(), 50), 0);
  EXPECT_EQ(ipcb_histogram_max(h.get()), INT64_MAX);
}

} // namespace
