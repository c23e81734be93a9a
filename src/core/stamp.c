/* Payload stamps: proof that fresh bytes crossed, checked on every receive. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

#define LINE 64
/* Odd 64-bit constant mixed with the line index, so a buffer shifted by whole
 * lines, or another message's line, fails the check. */
#define LINE_MIX 0x9E3779B97F4A7C15ull

static inline void put_le(unsigned char *p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint64_t get_le(const unsigned char *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static inline unsigned char pattern_byte(uint64_t seq, size_t off) {
  return (unsigned char)((seq * 131u) ^ (off * 7u) ^ (off >> 8));
}

void ipcb_stamp(void *buf, size_t n, uint64_t seq, int verify) {
  unsigned char *p = buf;
  if (verify)
    for (size_t i = 0; i < n; i++)
      p[i] = pattern_byte(seq, i);
  uint64_t mix = 0;
  size_t off = 0;
  for (; off + 8 <= n; off += LINE, mix += LINE_MIX) {
    uint64_t word = seq ^ mix;
    memcpy(p + off, &word, 8); /* one store, native order: one machine */
  }
  if (off < n)
    put_le(p + off, seq ^ mix, n - off);
}

int ipcb_stamp_check(const void *buf, size_t n, uint64_t seq, int verify,
                     char *err, size_t errlen) {
  const unsigned char *p = buf;
  uint64_t mix = 0;
  size_t off = 0;
  for (; off < n; off += LINE, mix += LINE_MIX) {
    size_t w = n - off < 8 ? n - off : 8;
    uint64_t want = seq ^ mix, got;
    if (w == 8)
      memcpy(&got, p + off, 8);
    else
      got = get_le(p + off, w), want &= (~0ull >> (64 - 8 * w));
    if (got != want) {
      ipcb__set_err(err, errlen,
                    "stale or misplaced data: the stamp at offset %zu of %zu "
                    "is 0x%016" PRIx64 ", expected 0x%016" PRIx64
                    " (message %" PRIu64 ")",
                    off, n, got, want, seq);
      return IPCB_ECORRUPT;
    }
    if (!verify)
      continue;
    for (size_t i = off + w; i < off + LINE && i < n; i++)
      if (p[i] != pattern_byte(seq, i)) {
        ipcb__set_err(err, errlen,
                      "byte %zu of %zu is 0x%02x, expected 0x%02x (message "
                      "%" PRIu64 ")",
                      i, n, p[i], pattern_byte(seq, i), seq);
        return IPCB_ECORRUPT;
      }
  }
  return 0;
}
