/* See endpoint.h. Uses the core's channel directly: the session API always
 * spawns a real peer. A watchdog with a deadline and no process to watch
 * interrupts any call that blocks, so that a test fails with a timeout
 * instead of hanging; teardown removes what setup made on every path. */
#include "endpoint.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

#define HOSTILE_TIMEOUT_NS (2 * 1000000000LL)

struct hostile_endpoint {
  ipcb_chan *ch;
  ipcb_watch watch;
  ipcb_watchdog *wd;
  uint64_t epoch;
  char token[IPCB_RDV_TOKEN_MAX];
};

/* setup, then attach under the watchdog; the channel's error text or 0. */
static int connect_client(hostile_endpoint *h, const ipcb_cfg *cfg,
                          ipcb_rdv *rdv) {
  ipcb_chan *ch = h->ch;
  int rc = ch->tr->setup(ch->ctx, cfg, rdv);
  if (!rc && rdv->nfds > 1)
    rc = ipcb_fail(ch->ctx, -1, "%d descriptors in the rendezvous", rdv->nfds);
  if (!rc)
    rc = ipcb__watchdog_start(&h->wd, &h->watch, 0, 0, cfg->timeout_ns, ch->err,
                              sizeof ch->err);
  if (!rc) {
    ipcb__enter(ch, &h->epoch);
    rc = ch->tr->attach(ch->ctx, IPCB_ROLE_CLIENT, cfg, rdv);
    ipcb__leave(ch, &h->epoch);
  }
  return rc;
}

static char err_text[IPCB_ERR_MAX];

/* A client channel of `transport`, or NULL with err_text filled. */
static hostile_endpoint *new_endpoint(const char *transport,
                                      const ipcb_cfg *cfg) {
  const ipcb_transport *tr = ipcb_transport_find(transport);
  hostile_endpoint *h = tr ? calloc(1, sizeof *h) : NULL;
  if (h)
    h->ch = ipcb__chan_new(tr, IPCB_ROLE_CLIENT, cfg);
  if (!h || !h->ch) {
    strcpy(err_text, tr ? "out of memory" : "no such transport");
    free(h);
    return NULL;
  }
  h->ch->watch = &h->watch;
  ipcb__install_wake_signal();
  return h;
}

/* After a failed setup or attach: the channel's error text, the
 * rendezvous descriptors closed, everything setup made torn down. */
static hostile_endpoint *failed(hostile_endpoint *h, ipcb_rdv *rdv) {
  strcpy(err_text, h->ch->err);
  for (int i = 0; i < rdv->nfds; i++)
    close(rdv->fds[i]);
  hostile_close(h);
  return NULL;
}

hostile_endpoint *hostile_open(const char *transport, size_t max_bytes,
                               int *peer_fd, const char **token,
                               const char **err) {
  ipcb_cfg cfg = {max_bytes, 1, HOSTILE_TIMEOUT_NS};
  ipcb_rdv rdv;
  memset(&rdv, 0, sizeof rdv);
  *err = err_text;
  hostile_endpoint *h = new_endpoint(transport, &cfg);
  if (!h)
    return NULL;
  if (connect_client(h, &cfg, &rdv))
    return failed(h, &rdv);
  *peer_fd = rdv.nfds ? rdv.fds[0] : -1;
  memcpy(h->token, rdv.token, sizeof h->token);
  *token = h->token;
  return h;
}

hostile_endpoint *hostile_setup_only(const char *transport, size_t max_bytes,
                                     int fds[IPCB_RDV_MAX_FDS], int *nfds,
                                     const char **err) {
  ipcb_cfg cfg = {max_bytes, 1, HOSTILE_TIMEOUT_NS};
  ipcb_rdv rdv;
  memset(&rdv, 0, sizeof rdv);
  *err = err_text;
  *nfds = 0;
  hostile_endpoint *h = new_endpoint(transport, &cfg);
  if (!h)
    return NULL;
  if (h->ch->tr->setup(h->ch->ctx, &cfg, &rdv))
    return failed(h, &rdv);
  memcpy(fds, rdv.fds, sizeof rdv.fds);
  *nfds = rdv.nfds;
  return h;
}

int hostile_recv(hostile_endpoint *h, size_t n, const char **err) {
  const void *p = NULL;
  size_t got = n;
  ipcb_chan *ch = h->ch;
  *err = ch->err;
  ipcb__enter(ch, &h->epoch);
  int rc = ch->tr->recv(ch->ctx, &p, &got);
  ipcb__leave(ch, &h->epoch);
  if (!rc && ch->tr->release)
    rc = ch->tr->release(ch->ctx);
  return rc;
}

void hostile_close(hostile_endpoint *h) {
  if (!h)
    return;
  ipcb__watchdog_stop(h->wd);
  if (h->ch) {
    h->ch->tr->teardown(h->ch->ctx, IPCB_ROLE_CLIENT);
    free(h->ch);
  }
  free(h);
}
