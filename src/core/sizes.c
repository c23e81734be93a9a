/* Parsers for flag values: size lists and durations. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"

static const struct {
  const char *unit;
  size_t shift;
} units[] = {{"", 0},   {"B", 0},    {"K", 10}, {"KiB", 10},
             {"M", 20}, {"MiB", 20}, {"G", 30}, {"GiB", 30}};

#define SIZE_ACCEPTED                                                          \
  "accepted: a comma-separated list of sizes from 1 B to 1 GiB, each a "       \
  "whole number with an optional unit B, KiB, MiB or GiB (K, M, G are "        \
  "binary too), no duplicates; for example 12,4KiB,4MiB"

static int parse_one(const char *item, size_t len, size_t *out, char *why,
                     size_t whylen) {
  char buf[64];
  if (len == 0) {
    snprintf(why, whylen, "an empty item");
    return -EINVAL;
  }
  if (len >= sizeof buf) {
    snprintf(why, whylen, "'%.*s...' is too long", 16, item);
    return -EINVAL;
  }
  memcpy(buf, item, len);
  buf[len] = '\0';
  size_t digits = 0;
  while (isdigit((unsigned char)buf[digits]))
    digits++;
  if (digits == 0) {
    snprintf(why, whylen, "'%s' does not start with a number", buf);
    return -EINVAL;
  }
  if (digits > 10) {
    snprintf(why, whylen, "'%s' is larger than 1 GiB", buf);
    return -EINVAL;
  }
  unsigned long long value = strtoull(buf, NULL, 10);
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcasecmp(buf + digits, units[i].unit) != 0)
      continue;
    if (value == 0 || value > (IPCB_SIZE_MAX_BYTES >> units[i].shift)) {
      snprintf(why, whylen, "'%s' is outside 1 B..1 GiB", buf);
      return -EINVAL;
    }
    *out = (size_t)value << units[i].shift;
    return 0;
  }
  snprintf(why, whylen, "'%s' has an unknown unit '%s'", buf, buf + digits);
  return -EINVAL;
}

int ipcb_parse_sizes(const char *text, size_t *out, size_t cap, size_t *count,
                     char *err, size_t errlen) {
  char why[160];
  size_t n = 0;
  const char *p = text;
  for (;;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    size_t value = 0;
    int rc = parse_one(p, len, &value, why, sizeof why);
    for (size_t i = 0; !rc && i < n; i++)
      if (out[i] == value) {
        snprintf(why, sizeof why, "%zu bytes is listed twice", value);
        rc = -EINVAL;
      }
    if (!rc && n == cap) {
      snprintf(why, sizeof why, "more than %zu sizes", cap);
      rc = -EINVAL;
    }
    if (rc) {
      ipcb__set_err(err, errlen, "'%s': %s; %s", text, why, SIZE_ACCEPTED);
      return rc;
    }
    out[n++] = value;
    if (!end)
      break;
    p = end + 1;
  }
  *count = n;
  return 0;
}

int ipcb_parse_duration(const char *text, int64_t *ns, char *err,
                        size_t errlen) {
  static const struct {
    const char *unit;
    double scale;
  } tunits[] = {{"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"", 1e9}};
  char *end = NULL;
  errno = 0;
  double value = strtod(text, &end);
  if (end != text && errno == 0 && isdigit((unsigned char)text[0]))
    for (size_t i = 0; i < sizeof tunits / sizeof tunits[0]; i++) {
      if (strcmp(end, tunits[i].unit) != 0)
        continue;
      double v = value * tunits[i].scale;
      if (v >= 1e6 && v <= 3600e9) {
        *ns = (int64_t)v;
        return 0;
      }
    }
  ipcb__set_err(err, errlen,
                "'%s': accepted: a duration from 1ms to 1h, a number with "
                "the unit ms, s or m (plain numbers are seconds), for "
                "example 10s or 500ms",
                text);
  return -EINVAL;
}

void ipcb_format_size(size_t n, char *out, size_t len) {
  static const char *const names[] = {"B", "KiB", "MiB", "GiB"};
  size_t unit = 0;
  while (unit < 3 && n >= ((size_t)1024 << (10 * unit)) &&
         n % ((size_t)1024 << (10 * unit)) == 0)
    unit++;
  snprintf(out, len, "%zu %s", n >> (10 * unit), names[unit]);
}
