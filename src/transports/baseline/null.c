/* Null: the Baseline/Null floor, a transport that moves nothing (any
 * platform).
 *
 * It runs the whole harness path (session, spawned peer, watchdog, pattern,
 * stamps) with no IPC in it. The peer process is real but idle: its recv
 * waits until it is stopped. The client's send plays the peer's part in
 * place, with the peer's own work: it checks the request's stamps and stamps
 * the reply over it. So one iteration costs what a PingPong round trip costs
 * in both processes, minus the transfers: harness, core and 2 x (stamp +
 * check) of n bytes.
 *
 * The reply's sequence number is the request's plus one (pattern.c: requests
 * are even, replies odd), read from the request's first stamp. A message under
 * 8 bytes carries only the low bytes, which are all the reply's stamp needs.
 * The reply is stamped with the full pattern, so the client's check passes
 * with or without --ipc_verify; that costs n byte stores instead of n/64,
 * nothing at the 12 B that Baseline/Null runs. Request/reply only (window 1,
 * reply as long as the request). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipcb/ipcb.h"

typedef struct null_ctx {
  int ready;
  unsigned char *buf;
  size_t sent; /* bytes of the request turned reply, 0 when none */
  char why[256];
} null_ctx;

static int null_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  (void)rdv;
  if (cfg->window != 1)
    return ipcb_fail(ctx, -EINVAL,
                     "Null answers request/reply only "
                     "(window 1)");
  return 0;
}

static int null_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                       const ipcb_rdv *rdv) {
  null_ctx *c = ctx;
  (void)rdv;
  c->ready = 1;
  if (role == IPCB_ROLE_PEER)
    return 0;
  c->buf = malloc(cfg->max_bytes < 8 ? 8 : cfg->max_bytes);
  return c->buf ? 0 : ipcb_fail(ctx, -ENOMEM, "malloc(%zu)", cfg->max_bytes);
}

static int null_send_buf(void *ctx, size_t n, void **buf) {
  (void)n;
  *buf = ((null_ctx *)ctx)->buf;
  return 0;
}

static uint64_t first_stamp(const unsigned char *p, size_t n) {
  uint64_t seq = 0;
  if (n >= 8) {
    memcpy(&seq, p, 8); /* ipcb_stamp stores the word in native order */
    return seq;
  }
  for (size_t i = 0; i < n; i++)
    seq |= (uint64_t)p[i] << (8 * i);
  return seq;
}

/* The peer's half, in place: check the request, stamp the reply. */
static int null_send(void *ctx, size_t n) {
  null_ctx *c = ctx;
  uint64_t seq = first_stamp(c->buf, n);
  if (ipcb_stamp_check(c->buf, n, seq, 0, c->why, sizeof c->why) != 0)
    return ipcb_fail(ctx, IPCB_ECORRUPT, "%s", c->why);
  ipcb_stamp(c->buf, n, seq | 1, 1);
  c->sent = n;
  return 0;
}

/* The peer waits here until it is stopped; it never receives anything. */
static int idle_until_stopped(void *ctx) {
  for (;;) {
    int rc = ipcb_interrupted(ctx);
    if (rc)
      return rc;
    struct timespec nap = {0, 50 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
}

static int null_recv(void *ctx, const void **p, size_t *n) {
  null_ctx *c = ctx;
  if (!c->buf)
    return idle_until_stopped(ctx);
  if (c->sent != *n)
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "Null: a %zu-byte reply was asked after a %zu-byte "
                     "request",
                     *n, c->sent);
  *p = c->buf;
  c->sent = 0;
  return 0;
}

static void null_teardown(void *ctx, ipcb_role role) {
  null_ctx *c = ctx;
  (void)role;
  free(c->buf);
  c->buf = NULL;
}

const ipcb_transport ipcb_tr_Null = {
    .name = "Null",
    .summary = "moves nothing: the harness, core and stamp work of a round "
               "trip, with an idle peer (Baseline/Null)",
    .caps = IPCB_CAP_BASELINE,
    .ctx_size = sizeof(null_ctx),
    .setup = null_setup,
    .attach = null_attach,
    .send_buf = null_send_buf,
    .send = null_send,
    .recv = null_recv,
    .teardown = null_teardown,
};
