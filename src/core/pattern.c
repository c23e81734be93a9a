/* Exchange patterns, written once: the client's half and the peer's loop.
 *
 * Requests carry even sequence numbers and replies or acks the next odd one,
 * so an echo of the request's own bytes (stale shared memory) fails. */
#include <stdio.h>

#include "core.h"

/* Stamp and send one message of n bytes carrying `seq`. */
static int send_stamped(ipcb_chan *ch, uint64_t *epoch, size_t n, uint64_t seq,
                        int verify) {
  void *ctx = ch->ctx, *buf = NULL;
  /* enter/leave bracket each call that may block, for the watchdog. */
  ipcb__enter(ch, epoch);
  int rc = ch->tr->send_buf(ctx, n, &buf);
  ipcb__leave(ch, epoch);
  if (rc)
    return rc;
  ipcb_stamp(buf, n, seq, verify);
  ipcb__enter(ch, epoch);
  rc = ch->tr->send(ctx, n);
  ipcb__leave(ch, epoch);
  return rc;
}

/* Receive one message of exactly n bytes carrying `seq`, check, release. */
static int recv_checked(ipcb_chan *ch, uint64_t *epoch, size_t n, uint64_t seq,
                        int verify) {
  void *ctx = ch->ctx;
  const void *p = NULL;
  size_t got = n;
  ipcb__enter(ch, epoch);
  int rc = ch->tr->recv(ctx, &p, &got);
  ipcb__leave(ch, epoch);
  if (rc)
    return rc;
  if (got != n)
    rc = ipcb_fail(ctx, IPCB_ECORRUPT,
                   "%s delivered a message of %zu bytes, expected %zu",
                   ch->tr->name, got, n);
  else
    rc = ipcb_stamp_check(p, n, seq, verify, ch->err, sizeof ch->err);
  int rel = ch->tr->release ? ch->tr->release(ctx) : 0;
  return rc ? rc : rel;
}

size_t ipcb__request_bytes(const ipcb_options *opt) {
  return opt->pattern == IPCB_COLDSTART ? 1 : opt->bytes;
}

size_t ipcb__ack_bytes(const ipcb_options *opt) {
  return opt->bytes < 64 ? opt->bytes : 64;
}

int ipcb__client_request(ipcb_chan *ch, uint64_t *epoch, uint64_t seq,
                         const ipcb_options *opt) {
  int rc = send_stamped(ch, epoch, ipcb__request_bytes(opt), seq, opt->verify);
  return rc ? rc : recv_checked(ch, epoch, opt->bytes, seq + 1, opt->verify);
}

int ipcb__client_stream(ipcb_chan *ch, uint64_t *epoch, uint64_t seq,
                        int last_of_window, const ipcb_options *opt) {
  int rc = send_stamped(ch, epoch, opt->bytes, seq, opt->verify);
  if (rc || !last_of_window)
    return rc;
  return recv_checked(ch, epoch, ipcb__ack_bytes(opt), seq + 1, opt->verify);
}

static int serve_requests(ipcb_chan *ch, const ipcb_options *opt) {
  uint64_t epoch = 0;
  size_t request = ipcb__request_bytes(opt);
  for (uint64_t seq = 2;; seq += 2) {
    int rc = recv_checked(ch, &epoch, request, seq, opt->verify);
    if (!rc)
      rc = send_stamped(ch, &epoch, opt->bytes, seq + 1, opt->verify);
    if (rc)
      return rc;
  }
}

static int serve_stream(ipcb_chan *ch, const ipcb_options *opt) {
  uint64_t epoch = 0, seq = 0;
  unsigned window = ch->cfg.window;
  for (;;) {
    for (unsigned i = 0; i < window; i++) {
      seq += 2;
      int rc = recv_checked(ch, &epoch, opt->bytes, seq, opt->verify);
      if (rc)
        return rc;
    }
    int rc =
        send_stamped(ch, &epoch, ipcb__ack_bytes(opt), seq + 1, opt->verify);
    if (rc)
      return rc;
  }
}

int ipcb__peer_serve(ipcb_chan *ch, const ipcb_options *opt) {
  return opt->pattern == IPCB_STREAM ? serve_stream(ch, opt)
                                     : serve_requests(ch, opt);
}
