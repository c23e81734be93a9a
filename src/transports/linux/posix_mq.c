/* PosixMQ: POSIX message queues, mq_send/mq_receive, one queue per direction
 * (linux). Messages above the queue's message size are sent as chunks.
 *
 * On Linux a message queue descriptor is a file descriptor (mq_overview(7)),
 * so the peer inherits both queues at the spawn like any fd. The name is
 * needed only by mq_open: each queue is unlinked in setup right after it is
 * created, once this side holds it and the peer will hold it by inheritance,
 * so the name exists for microseconds and is tracked for SIGINT meanwhile.
 *
 * Limits, read from the running kernel: fs.mqueue.msgsize_max caps one
 * message (the chunk size) and fs.mqueue.msg_max the queue's depth in
 * messages. Without CAP_SYS_RESOURCE both are hard caps, so the depth is
 * clamped to msg_max: a sender that finds the queue full blocks until the
 * receiver drains it, which the patterns tolerate (the receiver is always
 * receiving while the sender sends). mq_timedreceive is not needed: the
 * watchdog interrupts a blocked mq_receive with EINTR. */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../kit/kit.h"

typedef struct mq_ctx {
  int ready;
  int tx, rx; /* mqd_t is an int on Linux; -1 when closed */
  size_t chunk;
  unsigned char *sbuf, *rbuf; /* rbuf has `chunk` spare bytes at the end */
} mq_ctx;

/* The value, or 0 with errno set. */
static long read_limit(ipcb_limit_id id) {
  ipcb_limit limit;
  int rc = ipcb_kernel_limit(id, &limit);
  if (rc)
    errno = -rc;
  return rc ? 0 : (long)limit.value;
}

static size_t mq_limit(void) {
  return (size_t)read_limit(IPCB_LIMIT_MQ_MSGSIZE_MAX);
}

static int mq_probe(char *why, size_t len) {
  if (mq_limit() == 0) {
    int err = errno;
    snprintf(why, len, "/proc/sys/fs/mqueue/msgsize_max cannot be read: %s%s",
             ipcb_errno_name(err),
             err == ENOENT ? ": the kernel lacks CONFIG_POSIX_MQUEUE" : "");
    return err == EMFILE ? IPCB_ELIMIT : IPCB_EUNAVAIL;
  }
  return 0;
}

/* mq_open gives EMFILE both for RLIMIT_NOFILE and for RLIMIT_MSGQUEUE. A
 * spare descriptor tells them apart. */
static int out_of_descriptors(void) {
  int fd = dup(STDERR_FILENO);
  if (fd >= 0)
    close(fd);
  return fd < 0 && errno == EMFILE;
}

static int open_failed(void *ctx, const struct mq_attr *a) {
  if (errno == EINVAL) /* over a per-queue limit */
    return a->mq_msgsize > (long)mq_limit()
               ? ipcb_fail_limit(ctx, "mq_open", (uint64_t)a->mq_msgsize,
                                 "fs.mqueue.msgsize_max", mq_limit(),
                                 "sudo sysctl -w fs.mqueue.msgsize_max=<bytes>")
               : ipcb_fail(ctx, IPCB_ELIMIT,
                           "mq_open: %ld messages of %ld bytes: EINVAL; see "
                           "fs.mqueue.msg_max",
                           a->mq_maxmsg, a->mq_msgsize);
  if (errno == EMFILE && out_of_descriptors())
    return ipcb_fail_errno(ctx, "mq_open(O_CREAT|O_EXCL, 0600)");
  if (errno == EMFILE) /* RLIMIT_MSGQUEUE: bytes queued per user */
    return ipcb_fail(ctx, IPCB_ELIMIT,
                     "mq_open: EMFILE: two queues of %ld x %ld bytes exceed "
                     "RLIMIT_MSGQUEUE; raise it with ulimit -q <bytes>",
                     a->mq_maxmsg, a->mq_msgsize);
  if (errno == ENOSPC)
    return ipcb_fail(ctx, IPCB_ELIMIT,
                     "mq_open: fs.mqueue.queues_max is %ld; raise it with "
                     "sudo sysctl -w fs.mqueue.queues_max=<n>",
                     read_limit(IPCB_LIMIT_MQ_QUEUES_MAX));
  return ipcb_fail_errno(ctx, "mq_open(O_CREAT|O_EXCL, 0600)");
}

static int new_queue(void *ctx, struct mq_attr *a, int *fd) {
  char name[64];
  mqd_t q;
  do { /* a unique name cannot collide, unless its counter wrapped */
    ipcb_unique_name(name, sizeof name);
    q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, a);
  } while (q == (mqd_t)-1 && errno == EEXIST);
  if (q == (mqd_t)-1)
    return open_failed(ctx, a);
  ipcb_track_name(IPCB_OBJ_POSIX_MQ, name);
  mq_unlink(name); /* the descriptors keep the queue alive */
  ipcb_untrack_name(IPCB_OBJ_POSIX_MQ, name);
  *fd = (int)q;
  return 0;
}

static size_t chunk_size(const ipcb_cfg *cfg) {
  size_t max = mq_limit();
  return cfg->max_bytes < max ? cfg->max_bytes : max;
}

static int mq_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  mq_ctx *c = ctx;
  c->ready = 1;
  c->tx = c->rx = -1;
  size_t chunk = chunk_size(cfg);
  if (chunk == 0) { /* the probe's reading, redone: descriptors may be out */
    int err = errno;
    return ipcb_fail(ctx, err == EMFILE ? IPCB_ELIMIT : IPCB_EUNAVAIL,
                     "/proc/sys/fs/mqueue/msgsize_max cannot be read: %s",
                     ipcb_errno_name(err));
  }
  size_t want = (cfg->max_bytes + chunk - 1) / chunk * cfg->window;
  long depth_max = read_limit(IPCB_LIMIT_MQ_MSG_MAX);
  struct mq_attr a = {.mq_maxmsg = depth_max > 0 && (size_t)depth_max < want
                                       ? depth_max
                                       : (long)want,
                      .mq_msgsize = (long)chunk};
  int to_peer = -1, to_client = -1;
  int rc = new_queue(ctx, &a, &to_peer);
  if (!rc)
    rc = new_queue(ctx, &a, &to_client);
  if (!rc && ((c->tx = fcntl(to_peer, F_DUPFD_CLOEXEC, 0)) < 0 ||
              (c->rx = fcntl(to_client, F_DUPFD_CLOEXEC, 0)) < 0))
    rc = ipcb_fail_errno(ctx, "fcntl(F_DUPFD_CLOEXEC)");
  if (rc) {
    ipcb_close_fd(&to_peer);
    ipcb_close_fd(&to_client);
    return rc;
  }
  rdv->fds[0] = to_peer; /* the core closes them here after the spawn */
  rdv->fds[1] = to_client;
  rdv->nfds = 2;
  return 0;
}

static int mq_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                     const ipcb_rdv *rdv) {
  mq_ctx *c = ctx;
  struct mq_attr a;
  if (role == IPCB_ROLE_PEER) {
    c->ready = 1;
    c->tx = c->rx = -1;
    if (rdv->nfds != 2)
      return ipcb_fail(ctx, -EINVAL, "expected 2 inherited fds, got %d",
                       rdv->nfds);
    c->rx = rdv->fds[0];
    c->tx = rdv->fds[1];
  }
  if (mq_getattr(c->rx, &a) != 0)
    return ipcb_fail_errno(ctx, "mq_getattr");
  c->chunk = (size_t)a.mq_msgsize;
  if (c->chunk != chunk_size(cfg))
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "queue holds %zu-byte messages, "
                     "expected %zu",
                     c->chunk, chunk_size(cfg));
  c->sbuf = malloc(cfg->max_bytes);
  /* mq_receive wants room for a whole message even for a short last chunk */
  c->rbuf = malloc(cfg->max_bytes + c->chunk);
  if (!c->sbuf || !c->rbuf)
    return ipcb_fail(ctx, -ENOMEM, "malloc(%zu) failed", cfg->max_bytes);
  return 0;
}

static int mq_send_buf(void *ctx, size_t n, void **buf) {
  (void)n;
  *buf = ((mq_ctx *)ctx)->sbuf;
  return 0;
}

static int mq_send_all(void *ctx, size_t n) {
  mq_ctx *c = ctx;
  for (size_t off = 0; off < n; off += c->chunk) {
    size_t len = n - off < c->chunk ? n - off : c->chunk;
    while (mq_send(c->tx, (const char *)c->sbuf + off, len, 0) != 0) {
      int rc = ipcb__retry(ctx, "mq_send");
      if (rc)
        return rc;
    }
  }
  return 0;
}

static int mq_recv(void *ctx, const void **p, size_t *n) {
  mq_ctx *c = ctx;
  size_t want = *n;
  for (size_t off = 0; off < want; off += c->chunk) {
    size_t len = want - off < c->chunk ? want - off : c->chunk;
    ssize_t got;
    /* The buffer has c->chunk bytes from off: nothing lands past its end. */
    while ((got = mq_receive(c->rx, (char *)c->rbuf + off, c->chunk, NULL)) <
           0) {
      int rc = ipcb__retry(ctx, "mq_receive");
      if (rc)
        return rc;
    }
    if ((size_t)got != len)
      return ipcb_fail(ctx, IPCB_ECORRUPT,
                       "mq_receive: chunk at offset %zu has %zd bytes, "
                       "expected %zu",
                       off, got, len);
  }
  *p = c->rbuf;
  return 0;
}

static void mq_teardown(void *ctx, ipcb_role role) {
  mq_ctx *c = ctx;
  (void)role;
  if (!c->ready)
    return;
  ipcb_close_fd(&c->tx); /* mq_close is close() on Linux */
  ipcb_close_fd(&c->rx);
  free(c->sbuf);
  free(c->rbuf);
  c->sbuf = c->rbuf = NULL;
}

static long mq_queue_depth(void *ctx, const ipcb_cfg *cfg, char *limit,
                           size_t len) {
  mq_ctx *c = ctx;
  struct mq_attr a;
  if (mq_getattr(c->tx, &a) != 0)
    return -1;
  long chunks = (long)((cfg->max_bytes + c->chunk - 1) / c->chunk);
  if (a.mq_maxmsg / chunks >= (long)cfg->window)
    return -1;
  snprintf(limit, len, "fs.mqueue.msg_max = %ld", a.mq_maxmsg);
  return a.mq_maxmsg / chunks;
}

const ipcb_transport ipcb_tr_PosixMQ = {
    .name = "PosixMQ",
    .summary = "POSIX message queues (mq_send/mq_receive), one per "
               "direction; depth clamped to fs.mqueue.msg_max",
    .caps = IPCB_CAP_CHUNKED,
    .ctx_size = sizeof(mq_ctx),
    .probe = mq_probe,
    .max_message = mq_limit,
    .setup = mq_setup,
    .attach = mq_attach,
    .send_buf = mq_send_buf,
    .send = mq_send_all,
    .recv = mq_recv,
    .teardown = mq_teardown,
    .queue_depth = mq_queue_depth,
};
