/* See endpoint.h. Uses the core's channel directly: the session API always
 * spawns a real peer. */
#include "endpoint.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

struct hostile_endpoint {
  ipcb_chan *ch;
  char token[IPCB_RDV_TOKEN_MAX];
};

hostile_endpoint *hostile_open(const char *transport, size_t max_bytes,
                               int *peer_fd, const char **token,
                               const char **err) {
  static char text[IPCB_ERR_MAX];
  const ipcb_transport *tr = ipcb_transport_find(transport);
  ipcb_cfg cfg = {max_bytes, 1, 2000000000};
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
  int rc = h->ch ? tr->setup(h->ch->ctx, &cfg, &rdv) : -1;
  if (!rc && rdv.nfds > 1)
    rc =
        ipcb_fail(h->ch->ctx, -1, "%d descriptors in the rendezvous", rdv.nfds);
  if (!rc)
    rc = tr->attach(h->ch->ctx, IPCB_ROLE_CLIENT, &cfg, &rdv);
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
  *err = h->ch->err;
  int rc = h->ch->tr->recv(h->ch->ctx, &p, &got);
  if (!rc && h->ch->tr->release)
    rc = h->ch->tr->release(h->ch->ctx);
  return rc;
}

void hostile_close(hostile_endpoint *h) {
  if (h && h->ch) {
    h->ch->tr->teardown(h->ch->ctx, IPCB_ROLE_CLIENT);
    free(h->ch);
  }
  free(h);
}
