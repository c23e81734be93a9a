/* UnixDgram: socketpair(AF_UNIX, SOCK_DGRAM), one socket per side (posix).
 * A message larger than the biggest datagram the kernel accepts is sent as
 * several datagrams.
 *
 * That limit is not a constant to look up. Linux refuses a datagram longer
 * than the sender's send buffer (EMSGSIZE) or one whose linear part it
 * cannot allocate (ENOBUFS: kmalloc stops at 4 MiB); macOS refuses one over
 * SO_SNDBUF or the receiver's SO_RCVBUF, which start at 2 KiB and 4 KiB. So
 * setup raises both buffers of both sockets as far as the kernel allows
 * (net.core.wmem_max, kern.ipc.maxsockbuf) and then asks the kernel: it
 * sends trial datagrams, without blocking, on the session's own pair and
 * keeps the largest that went through. The peer learns it from the token. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../kit/kit.h"

typedef struct dgram_ctx {
  int ready, fd;
  size_t chunk;
  unsigned char *sbuf, *rbuf;
} dgram_ctx;

/* The last limit found, for max_message() and the benchmark label. */
static _Atomic size_t found_limit;

/* Ask for 64 MiB and halve until the kernel agrees (Linux clamps silently,
 * macOS refuses above kern.ipc.maxsockbuf). Returns SO_SNDBUF in force. */
static size_t grow_buffers(int fd) {
  static const int opts[] = {SO_SNDBUF, SO_RCVBUF};
  for (int i = 0; i < 2; i++)
    for (int v = 64 << 20; v >= 64 << 10; v /= 2)
      if (setsockopt(fd, SOL_SOCKET, opts[i], &v, sizeof v) == 0)
        break;
  int v = 0;
  socklen_t len = sizeof v;
  getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, &len);
  return v > 0 ? (size_t)v : 0;
}

static int accepted(int tx, int rx, unsigned char *buf, size_t n) {
  if (send(tx, buf, n, MSG_DONTWAIT) != (ssize_t)n)
    return 0;
  while (recv(rx, buf, n, MSG_DONTWAIT) < 0 && errno == EINTR)
    ;
  return 1;
}

/* The largest datagram of at most `hi` bytes that tx -> rx accepts, or 0.
 * Tries hi first: a message that fits needs one trial. */
static size_t largest_datagram(int tx, int rx, size_t hi, unsigned char *buf) {
  size_t lo = 0; /* accepted (0: nothing yet); hi + 1 is refused */
  if (accepted(tx, rx, buf, hi))
    return hi;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (accepted(tx, rx, buf, mid))
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

/* Both directions, on a configured pair; the smaller wins. */
static size_t probe_pair(int sv[2], size_t want) {
  size_t bound = grow_buffers(sv[0]);
  size_t other = grow_buffers(sv[1]);
  if (other < bound)
    bound = other;
  if (want > bound)
    want = bound;
  unsigned char *buf = calloc(1, want ? want : 1);
  if (!buf)
    return 0;
  size_t limit = largest_datagram(sv[0], sv[1], want, buf);
  if (limit)
    limit = largest_datagram(sv[1], sv[0], limit, buf);
  free(buf);
  return limit;
}

static size_t dgram_probe_limit(void) {
  size_t limit = atomic_load(&found_limit);
  int sv[2];
  if (limit || socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
    return limit;
  limit = probe_pair(sv, SIZE_MAX);
  close(sv[0]);
  close(sv[1]);
  atomic_store(&found_limit, limit);
  return limit;
}

static int dgram_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  dgram_ctx *c = ctx;
  int sv[2];
  c->ready = 1;
  c->fd = -1;
  int rc = ipcb_socketpair_cloexec(ctx, SOCK_DGRAM, sv);
  if (rc)
    return rc;
  c->fd = sv[0];
  rdv->fds[0] = sv[1];
  rdv->nfds = 1;
  c->chunk = probe_pair(sv, cfg->max_bytes);
  if (c->chunk == 0)
    return ipcb_fail(ctx, -EMSGSIZE,
                     "send(AF_UNIX, SOCK_DGRAM): the kernel "
                     "refused even a 1-byte datagram");
  /* Smaller than the message: the search ran to the kernel's limit. */
  if (c->chunk < cfg->max_bytes)
    atomic_store(&found_limit, c->chunk);
  snprintf(rdv->token, sizeof rdv->token, "%zu", c->chunk);
  return 0;
}

static int dgram_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                        const ipcb_rdv *rdv) {
  dgram_ctx *c = ctx;
  if (role == IPCB_ROLE_PEER) {
    c->ready = 1;
    c->fd = rdv->nfds > 0 ? rdv->fds[0] : -1;
    if (c->fd < 0 || sscanf(rdv->token, "%zu", &c->chunk) != 1 || !c->chunk)
      return ipcb_fail(ctx, -EINVAL, "malformed rendezvous '%s'", rdv->token);
  }
  c->sbuf = malloc(cfg->max_bytes);
  c->rbuf = malloc(cfg->max_bytes);
  if (!c->sbuf || !c->rbuf)
    return ipcb_fail(ctx, -ENOMEM, "malloc(%zu): out of memory",
                     cfg->max_bytes);
  return 0;
}

static int dgram_send_buf(void *ctx, size_t n, void **buf) {
  (void)n;
  *buf = ((dgram_ctx *)ctx)->sbuf;
  return 0;
}

/* A connected datagram socket whose other end closed refuses sends. */
static int dgram_error(void *ctx, const char *call) {
  if (errno == ECONNREFUSED || errno == ECONNRESET || errno == EPIPE ||
      errno == ENOTCONN)
    return ipcb_fail(ctx, IPCB_EPEERDIED, "%s: the other side closed", call);
  return ipcb_fail_errno(ctx, call);
}

static int dgram_send(void *ctx, size_t n) {
  dgram_ctx *c = ctx;
  for (size_t off = 0; off < n; off += c->chunk) {
    size_t len = n - off < c->chunk ? n - off : c->chunk;
    while (send(c->fd, c->sbuf + off, len, 0) != (ssize_t)len) {
      int rc = ipcb__retry_or(ctx, "send(AF_UNIX, SOCK_DGRAM)", dgram_error);
      if (rc)
        return rc;
    }
  }
  return 0;
}

/* One datagram of exactly len bytes at p; a longer one is cut at len by the
 * kernel (MSG_TRUNC), so nothing lands past the chunk. */
static int recv_chunk(void *ctx, int fd, unsigned char *p, size_t len,
                      size_t off) {
  struct iovec iov = {p, len};
  struct msghdr mh;
  ssize_t got;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  while ((got = recvmsg(fd, &mh, 0)) < 0) {
    int rc = ipcb__retry_or(ctx, "recvmsg(AF_UNIX, SOCK_DGRAM)", dgram_error);
    if (rc)
      return rc;
  }
  if ((size_t)got != len || (mh.msg_flags & MSG_TRUNC))
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "recvmsg: the datagram at offset %zu has %s%zd bytes, "
                     "expected %zu",
                     off, mh.msg_flags & MSG_TRUNC ? "more than " : "", got,
                     len);
  return 0;
}

static int dgram_recv(void *ctx, const void **p, size_t *n) {
  dgram_ctx *c = ctx;
  for (size_t off = 0; off < *n; off += c->chunk) {
    size_t len = *n - off < c->chunk ? *n - off : c->chunk;
    int rc = recv_chunk(ctx, c->fd, c->rbuf + off, len, off);
    if (rc)
      return rc;
  }
  *p = c->rbuf;
  return 0;
}

static void dgram_teardown(void *ctx, ipcb_role role) {
  dgram_ctx *c = ctx;
  (void)role;
  if (!c->ready)
    return;
  ipcb_close_fd(&c->fd);
  free(c->sbuf);
  free(c->rbuf);
  c->sbuf = c->rbuf = NULL;
}

const ipcb_transport ipcb_tr_UnixDgram = {
    .name = "UnixDgram",
    .summary = "socketpair(AF_UNIX, SOCK_DGRAM); send() and recv() copy; "
               "limit found by trial datagrams",
    .caps = IPCB_CAP_CHUNKED,
    .ctx_size = sizeof(dgram_ctx),
    .max_message = dgram_probe_limit,
    .setup = dgram_setup,
    .attach = dgram_attach,
    .send_buf = dgram_send_buf,
    .send = dgram_send,
    .recv = dgram_recv,
    .teardown = dgram_teardown,
};
