/* A channel: one side's transport context plus what the core knows of it, and
 * the error services transports call. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

ipcb_chan *ipcb__chan_new(const ipcb_transport *tr, ipcb_role role,
                          const ipcb_cfg *cfg) {
  ipcb_chan *ch = calloc(1, sizeof *ch + tr->ctx_size);
  if (!ch)
    return NULL;
  ch->tr = tr;
  ch->role = role;
  ch->cfg = *cfg;
  return ch;
}

ipcb_chan *ipcb__chan_of(void *ctx) {
  return (ipcb_chan *)((unsigned char *)ctx - offsetof(ipcb_chan, ctx));
}

int ipcb_fail(void *ctx, int code, const char *fmt, ...) {
  ipcb_chan *ch = ipcb__chan_of(ctx);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(ch->err, sizeof ch->err, fmt, ap);
  va_end(ap);
  return code;
}

int ipcb_fail_errno(void *ctx, const char *call) {
  int e = errno ? errno : EIO;
  return ipcb_fail(ctx, -e, "%s: %s (%s)", call, ipcb_errno_name(e),
                   strerror(e));
}

int ipcb_fail_limit(void *ctx, const char *what, uint64_t need,
                    const char *limit, uint64_t value, const char *how) {
  return ipcb_fail(
      ctx, IPCB_ELIMIT, "%s needs %llu bytes but %s is %llu; raise it with %s",
      what, (unsigned long long)need, limit, (unsigned long long)value, how);
}

int ipcb_other_pid(void *ctx) { return ipcb__chan_of(ctx)->other_pid; }
