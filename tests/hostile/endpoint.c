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

hostile_endpoint *hostile_open(const char *transport, size_t max_bytes,
                               int *peer_fd, const char **token,
                               const char **err) {
  static char text[IPCB_ERR_MAX];
  const ipcb_transport *tr = ipcb_transport_find(transport);
  ipcb_cfg cfg = {max_bytes, 1, HOSTILE_TIMEOUT_NS};
  ipcb_rdv rdv;
  hostile_endpoint *h = calloc(1, sizeof *h);
  *err = text;
  if (!tr || !h) {
    strcpy(text, tr ? "out of memory" : "no such transport");
    free(h);
    return NULL;
  }
  h->ch = ipcb__chan_new(tr, IPCB_ROLE_CLIENT, &cfg);
  memset(&rdv, 0, sizeof rdv);
  if (h->ch) {
    h->ch->watch = &h->watch;
    ipcb__install_wake_signal();
  }
  int rc = h->ch ? connect_client(h, &cfg, &rdv) : -1;
  if (rc) {
    strcpy(text, h->ch ? h->ch->err : "out of memory");
    for (int i = 0; i < rdv.nfds; i++)
      close(rdv.fds[i]);
    hostile_close(h);
    return NULL;
  }
  *peer_fd = rdv.nfds ? rdv.fds[0] : -1;
  memcpy(h->token, rdv.token, sizeof h->token);
  *token = h->token;
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
