/* A log-linear latency histogram with fixed memory (about 36 KiB).
 *
 * Values are in any one unit: PingPong records ipcb_ticks() differences and
 * scales the percentiles to ns. Values below 256 get one bucket each. Above,
 * each power of two [2^e, 2^(e+1)) is split into 128 equal buckets, so a
 * bucket is at most 1/128 of its values wide: two significant digits, as
 * HdrHistogram calls it. Recording is a count-leading-zeros, two shifts and
 * an increment. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define EXACT 256
#define SUB_BITS 7
#define SUB (1 << SUB_BITS)
#define TOP_EXP 41 /* 2^41 ns: 37 min; 2^41 ticks of a 3 GHz TSC: 12 min */
#define BUCKETS (EXACT + (TOP_EXP - 8) * SUB)

/* count and max side by side: a record then touches two pages, not three,
 * and on one CPU each page touched after a context switch costs about 3 ns
 * (measured with a ping-pong that touches k pages a round trip). */
struct ipcb_histogram {
  uint64_t count;
  int64_t max;
  uint64_t counts[BUCKETS];
};

static int log2_floor(uint64_t v) { return 63 - __builtin_clzll(v); }

static size_t index_of(int64_t value) {
  if (value < EXACT)
    return value < 0 ? 0 : (size_t)value;
  int e = log2_floor((uint64_t)value);
  if (e >= TOP_EXP)
    return BUCKETS - 1;
  int shift = e - SUB_BITS;
  size_t sub = (size_t)((uint64_t)value >> shift) - SUB;
  return EXACT + (size_t)(e - 8) * SUB + sub;
}

/* The largest value that falls in bucket i. */
static int64_t upper_bound(size_t i) {
  if (i < EXACT)
    return (int64_t)i;
  int e = (int)((i - EXACT) / SUB) + 8;
  uint64_t sub = (i - EXACT) % SUB + SUB;
  int shift = e - SUB_BITS;
  return (int64_t)(((sub + 1) << shift) - 1);
}

ipcb_histogram *ipcb_histogram_new(void) {
  return calloc(1, sizeof(ipcb_histogram));
}

void ipcb_histogram_free(ipcb_histogram *h) { free(h); }

void ipcb_histogram_record(ipcb_histogram *h, int64_t value) {
  h->counts[index_of(value)]++;
  h->count++;
  if (value > h->max)
    h->max = value;
}

int64_t ipcb_histogram_percentile(const ipcb_histogram *h, double p) {
  if (h->count == 0)
    return 0;
  double exact = p / 100.0 * (double)h->count;
  uint64_t rank = (uint64_t)exact;
  if ((double)rank < exact) /* ceil without libm */
    rank++;
  if (rank < 1)
    rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < BUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= rank) {
      int64_t v = upper_bound(i);
      return v < h->max ? v : h->max;
    }
  }
  return h->max;
}

int64_t ipcb_histogram_max(const ipcb_histogram *h) { return h->max; }

uint64_t ipcb_histogram_count(const ipcb_histogram *h) { return h->count; }
