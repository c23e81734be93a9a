/* Vmsplice: vmsplice(2) the sender's pages into a pipe, read(2) them out
 * (linux). Two pipes, one per direction; one copy per message, made by the
 * receiver's read() straight from the sender's pages.
 *
 * The page-reuse hazard. Without SPLICE_F_GIFT, vmsplice does not copy: the
 * pipe holds references to the sender's pages, and read() copies whatever
 * they contain when it runs. A sender that rewrites its buffer before the
 * receiver has read the message changes the message in flight. So the
 * sender keeps `depth` page-aligned buffers and writes message k into buffer
 * k % depth: the patterns never have more than depth messages unreceived
 * (PingPong waits for the reply, Stream for the ack of a window of depth),
 * so a buffer comes round again only after its message was read. The stamps
 * carry the sequence number, so a reuse bug shows as IPCB_ECORRUPT.
 *
 * The pipe is grown towards one message (up to fs.pipe-max-size), since
 * each pipe slot holds one page reference: a 64 KiB default pipe takes 16
 * pages per round, and every round is a sleep and a wake-up. Measured
 * (PingPong, one CPU): 512 KiB 92 us grown, 161 us not; 4 MiB 1.7 ms, 2.6 ms;
 * 64 KiB the same. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../kit/kit.h"

typedef struct vms_ctx {
  int ready;
  int rd, wr;
  unsigned char *sbufs, *rbuf;
  size_t slot;
  unsigned depth, next;
} vms_ctx;

static size_t pipe_max(void) {
  ipcb_limit max;
  return ipcb_kernel_limit(IPCB_LIMIT_PIPE_MAX_SIZE, &max) ? 0
                                                           : (size_t)max.value;
}

/* Best effort: beyond fs.pipe-user-pages-soft an unprivileged user gets
 * EPERM and the default pipe, which works, in more rounds. */
static void grow_pipe(int fd, size_t bytes) {
  size_t max = pipe_max();
  if (max && bytes > max)
    bytes = max;
  if (bytes > 65536)
    fcntl(fd, F_SETPIPE_SZ, (int)bytes);
}

static int vms_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  vms_ctx *c = ctx;
  c->ready = 1;
  c->rd = c->wr = -1;
  int rc = ipcb_pipe_pair(ctx, &c->rd, &c->wr, rdv);
  if (rc)
    return rc;
  grow_pipe(c->wr, cfg->max_bytes);
  grow_pipe(rdv->fds[1], cfg->max_bytes); /* the peer's write end */
  return 0;
}

static int vms_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                      const ipcb_rdv *rdv) {
  vms_ctx *c = ctx;
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  if (role == IPCB_ROLE_PEER) {
    c->ready = 1;
    if (rdv->nfds != 2)
      return ipcb_fail(ctx, -EINVAL, "expected 2 inherited fds, got %d",
                       rdv->nfds);
    c->rd = rdv->fds[0];
    c->wr = rdv->fds[1];
  }
  /* Page-aligned slots: a message spans as few pipe slots as it can. */
  c->slot = (cfg->max_bytes + page - 1) / page * page;
  c->depth = cfg->window;
  c->sbufs = aligned_alloc(page, c->slot * c->depth);
  c->rbuf = malloc(cfg->max_bytes);
  if (!c->sbufs || !c->rbuf)
    return ipcb_fail(ctx, -ENOMEM, "allocating %u x %zu bytes failed", c->depth,
                     c->slot);
  return 0;
}

static int vms_send_buf(void *ctx, size_t n, void **buf) {
  vms_ctx *c = ctx;
  (void)n;
  *buf = c->sbufs + (size_t)c->next * c->slot;
  return 0;
}

static int vms_send(void *ctx, size_t n) {
  vms_ctx *c = ctx;
  struct iovec iov = {c->sbufs + (size_t)c->next * c->slot, n};
  c->next = (c->next + 1) % c->depth;
  while (iov.iov_len > 0) {
    ssize_t w = vmsplice(c->wr, &iov, 1, 0);
    if (w > 0) {
      iov.iov_base = (unsigned char *)iov.iov_base + w;
      iov.iov_len -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == EPIPE)
      return ipcb_fail(ctx, IPCB_EPEERDIED,
                       "vmsplice: the other side closed its end");
    int rc =
        w < 0 ? ipcb__retry(ctx, "vmsplice") : ipcb_fail_errno(ctx, "vmsplice");
    if (rc)
      return rc;
  }
  return 0;
}

static int vms_recv(void *ctx, const void **p, size_t *n) {
  vms_ctx *c = ctx;
  int rc = ipcb_read_all(ctx, c->rd, c->rbuf, *n); /* a stream: no header */
  *p = c->rbuf;
  return rc;
}

static void vms_teardown(void *ctx, ipcb_role role) {
  vms_ctx *c = ctx;
  (void)role;
  if (!c->ready)
    return;
  ipcb_close_fd(&c->rd);
  ipcb_close_fd(&c->wr);
  /* Pages still referenced by a pipe stay alive until the pipe goes. */
  free(c->sbufs);
  free(c->rbuf);
  c->sbufs = c->rbuf = NULL;
}

const ipcb_transport ipcb_tr_Vmsplice = {
    .name = "Vmsplice",
    .summary = "vmsplice(2) of the sender's pages into a pipe (no gift), "
               "read(2) out: one copy",
    .caps = 0,
    .ctx_size = sizeof(vms_ctx),
    .setup = vms_setup,
    .attach = vms_attach,
    .send_buf = vms_send_buf,
    .send = vms_send,
    .recv = vms_recv,
    .teardown = vms_teardown,
};
