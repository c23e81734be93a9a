/* Pipe: two POSIX pipes, one per direction (posix). */
#include <errno.h>
#include <stdlib.h>

#include "ipcb/transport.h"

typedef struct pipe_ctx {
  int ready; /* fds below are valid (-1 when closed) */
  int rd, wr;
  unsigned char *sbuf, *rbuf; /* private staging and receive buffers */
} pipe_ctx;

static int pipe_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  pipe_ctx *c = ctx;
  int to_peer[2], to_client[2], rc;
  (void)cfg;
  c->ready = 1;
  c->rd = c->wr = -1;
  if ((rc = ipcb_pipe_cloexec(ctx, to_peer)) != 0)
    return rc;
  if ((rc = ipcb_pipe_cloexec(ctx, to_client)) != 0) {
    ipcb_close_fd(&to_peer[0]);
    ipcb_close_fd(&to_peer[1]);
    return rc;
  }
  c->wr = to_peer[1];
  c->rd = to_client[0];
  rdv->fds[0] = to_peer[0];
  rdv->fds[1] = to_client[1];
  rdv->nfds = 2;
  return 0;
}

static int pipe_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                       const ipcb_rdv *rdv) {
  pipe_ctx *c = ctx;
  if (role == IPCB_ROLE_PEER) {
    c->ready = 1;
    c->rd = rdv->fds[0];
    c->wr = rdv->fds[1];
  }
  c->sbuf = malloc(cfg->max_bytes);
  c->rbuf = malloc(cfg->max_bytes);
  if (!c->sbuf || !c->rbuf)
    return ipcb_fail(ctx, -ENOMEM, "malloc(%zu): out of memory",
                     cfg->max_bytes);
  return 0;
}

static int pipe_send_buf(void *ctx, size_t n, void **buf) {
  (void)n;
  *buf = ((pipe_ctx *)ctx)->sbuf;
  return 0;
}

static int pipe_send(void *ctx, size_t n) {
  pipe_ctx *c = ctx;
  return ipcb_write_all(ctx, c->wr, c->sbuf, n);
}

static int pipe_recv(void *ctx, const void **p, size_t *n) {
  pipe_ctx *c = ctx;
  *p = c->rbuf;
  return ipcb_read_all(ctx, c->rd, c->rbuf, *n);
}

static int pipe_release(void *ctx) {
  (void)ctx;
  return 0;
}

static void pipe_teardown(void *ctx, ipcb_role role) {
  pipe_ctx *c = ctx;
  (void)role;
  if (!c->ready)
    return;
  ipcb_close_fd(&c->rd);
  ipcb_close_fd(&c->wr);
  free(c->sbuf);
  free(c->rbuf);
  c->sbuf = c->rbuf = NULL;
}

const ipcb_transport ipcb_tr_Pipe = {
    .name = "Pipe",
    .summary = "two pipe(2)s, one per direction; write and read copy once each",
    .caps = 0,
    .ctx_size = sizeof(pipe_ctx),
    .setup = pipe_setup,
    .attach = pipe_attach,
    .send_buf = pipe_send_buf,
    .send = pipe_send,
    .recv = pipe_recv,
    .release = pipe_release,
    .teardown = pipe_teardown,
};
