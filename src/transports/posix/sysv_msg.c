/* SysVMsg: System V message queues, msgsnd/msgrcv, one queue per direction
 * (posix). Messages above the kernel's per-message limit are sent as chunks.
 *
 * msgsnd and msgrcv want the message type in the long just before the text.
 * Rather than copy each chunk into a header-prefixed buffer, the sender writes
 * the type into the 8 bytes before the chunk (part of the previous chunk,
 * already sent, or a spare header before the first), and the receiver saves
 * and restores those bytes around msgrcv. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>

#include "../kit/kit.h"

#define HDR sizeof(long)

typedef struct msg_ctx {
  int ready;
  int to_peer, to_client; /* queue ids, -1 when removed */
  int tx, rx;             /* this side's two queues */
  size_t chunk;
  unsigned char *sbuf, *rbuf; /* HDR spare bytes, then the payload */
} msg_ctx;

static size_t msg_chunk_limit(void) {
  ipcb_limit max, mnb;
  if (ipcb_kernel_limit(IPCB_LIMIT_MSGMAX, &max) || !max.value)
    return 0;
  /* A queue must hold a whole chunk, so the smaller of the two applies. */
  if (ipcb_kernel_limit(IPCB_LIMIT_MSGMNB, &mnb) == 0 && mnb.value &&
      mnb.value < max.value)
    return (size_t)mnb.value;
  return (size_t)max.value;
}

/* Why msgget gave ENOSPC, with the limit's value where it can be read. */
static void no_queue_left(char *out, size_t len) {
  ipcb_limit mni;
  if (ipcb_kernel_limit(IPCB_LIMIT_MSGMNI, &mni) == 0)
    snprintf(out, len,
             "msgget: ENOSPC: the system-wide number of message queues, %s = "
             "%llu, is reached; remove stale ones (ipcs -q) or raise it with "
             "%s",
             mni.name, (unsigned long long)mni.value, mni.how);
  else
    snprintf(out, len,
             "msgget: ENOSPC: the system-wide number of message queues "
             "(MSGMNI) is reached; remove stale ones (ipcs -q)");
}

/* 0 when kernel.msgmax reads; else the code, and why in `why`. */
static int msgmax_unreadable(char *why, size_t len) {
  ipcb_limit max;
  int err = ipcb_kernel_limit(IPCB_LIMIT_MSGMAX, &max);
  if (!err && max.value)
    return 0;
  snprintf(why, len, "%s cannot be read: %s", max.name,
           err ? ipcb_errno_name(-err) : "it reads 0");
  return err == -EMFILE ? IPCB_ELIMIT : IPCB_EUNAVAIL;
}

static int msg_probe(char *why, size_t len) {
  int err = msgmax_unreadable(why, len);
  if (err)
    return err;
  int id = ipcb_sysv_create(IPCB_OBJ_SYSV_MSG, 0);
  if (id < 0 && errno == ENOSPC) {
    no_queue_left(why, len);
    return IPCB_ELIMIT;
  }
  if (id < 0) {
    snprintf(why, len, "msgget: %s (%s)", ipcb_errno_name(errno),
             strerror(errno));
    return IPCB_EUNAVAIL;
  }
  msgctl(id, IPC_RMID, NULL); /* tracked till here: a SIGINT removes it */
  ipcb_untrack_id(IPCB_OBJ_SYSV_MSG, id);
  return 0;
}

static int new_queue(void *ctx, int *id) {
  *id = ipcb_sysv_create(IPCB_OBJ_SYSV_MSG, 0);
  if (*id < 0 && errno == ENOSPC) {
    char why[512];
    no_queue_left(why, sizeof why);
    return ipcb_fail(ctx, IPCB_ELIMIT, "%s", why);
  }
  if (*id < 0)
    return ipcb_fail_errno(ctx, "msgget(IPC_CREAT | IPC_EXCL, 0600)");
  return 0;
}

static int msg_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  msg_ctx *c = ctx;
  int rc;
  (void)cfg;
  c->ready = 1;
  c->to_peer = c->to_client = -1;
  if ((rc = new_queue(ctx, &c->to_peer)) ||
      (rc = new_queue(ctx, &c->to_client)))
    return rc;
  snprintf(rdv->token, sizeof rdv->token, "%d,%d", c->to_peer, c->to_client);
  return 0;
}

static int msg_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                      const ipcb_rdv *rdv) {
  msg_ctx *c = ctx;
  if (role == IPCB_ROLE_PEER) {
    c->ready = 1;
    if (sscanf(rdv->token, "%d,%d", &c->to_peer, &c->to_client) != 2)
      return ipcb_fail(ctx, -EINVAL, "malformed rendezvous '%s'", rdv->token);
  }
  c->tx = role == IPCB_ROLE_CLIENT ? c->to_peer : c->to_client;
  c->rx = role == IPCB_ROLE_CLIENT ? c->to_client : c->to_peer;
  c->chunk = msg_chunk_limit();
  if (!c->chunk) { /* the probe read it, but descriptors may be out now */
    char why[160] = "kernel.msgmax cannot be read";
    int err = msgmax_unreadable(why, sizeof why);
    return ipcb_fail(ctx, err ? err : IPCB_EUNAVAIL, "%s", why);
  }
  c->sbuf = malloc(HDR + cfg->max_bytes);
  c->rbuf = malloc(HDR + cfg->max_bytes);
  if (!c->sbuf || !c->rbuf)
    return ipcb_fail(ctx, -ENOMEM, "malloc(%zu) failed", cfg->max_bytes);
  return 0;
}

static int msg_send_buf(void *ctx, size_t n, void **buf) {
  (void)n;
  *buf = ((msg_ctx *)ctx)->sbuf + HDR;
  return 0;
}

/* A queue removed under us means the other side tore down: it is gone. */
static int msg_error(void *ctx, const char *call) {
  if (errno == EIDRM || errno == EINVAL)
    return ipcb_fail(ctx, IPCB_EPEERDIED, "%s: the queue was removed", call);
  return ipcb_fail_errno(ctx, call);
}

static int msg_send(void *ctx, size_t n) {
  msg_ctx *c = ctx;
  for (size_t off = 0; off < n; off += c->chunk) {
    size_t len = n - off < c->chunk ? n - off : c->chunk;
    long type = 1;
    memcpy(c->sbuf + off, &type, HDR); /* the header slot before the chunk */
    while (msgsnd(c->tx, c->sbuf + off, len, 0) != 0) {
      int rc = ipcb__retry_or(ctx, "msgsnd", msg_error);
      if (rc)
        return rc;
    }
  }
  return 0;
}

static int msg_recv(void *ctx, const void **p, size_t *n) {
  msg_ctx *c = ctx;
  size_t want = *n;
  for (size_t off = 0; off < want; off += c->chunk) {
    size_t len = want - off < c->chunk ? want - off : c->chunk;
    unsigned char saved[HDR];
    memcpy(saved, c->rbuf + off, HDR);
    ssize_t got;
    /* Without MSG_NOERROR a longer message fails with E2BIG: nothing is
     * written past the chunk. */
    while ((got = msgrcv(c->rx, c->rbuf + off, len, 0, 0)) < 0) {
      int rc = ipcb__retry_or(ctx, "msgrcv", msg_error);
      if (rc)
        return rc;
    }
    memcpy(c->rbuf + off, saved, HDR);
    if ((size_t)got != len)
      return ipcb_fail(ctx, IPCB_ECORRUPT,
                       "msgrcv: chunk at offset %zu has %zd bytes, expected "
                       "%zu",
                       off, got, len);
  }
  *p = c->rbuf + HDR;
  return 0;
}

static void remove_queue(int *id) {
  if (*id < 0)
    return;
  msgctl(*id, IPC_RMID, NULL);
  ipcb_untrack_id(IPCB_OBJ_SYSV_MSG, *id);
  *id = -1;
}

/* Both roles remove the queues: whichever side outlives the other cleans up
 * (IPC_RMID of a removed id just fails). */
static void msg_teardown(void *ctx, ipcb_role role) {
  msg_ctx *c = ctx;
  (void)role;
  if (!c->ready)
    return;
  remove_queue(&c->to_peer);
  remove_queue(&c->to_client);
  free(c->sbuf);
  free(c->rbuf);
  c->sbuf = c->rbuf = NULL;
}

/* The queue's byte budget (msg_qbytes, from MSGMNB) counts message text
 * only, so it holds floor(qbytes / n) whole messages of n bytes. macOS also
 * has MSGTQL message headers for all queues of the system together (xnu
 * bsd/sys/msg.h), 40, fewer than 2048 bytes hold of messages up to 49
 * bytes; msgsnd waits for a free one. Our acks never compete for them, as
 * they follow the receipt of the whole window; other users' queues may.
 * xnu's text pool, MSGSEG * MSGSSZ = 16 KiB system-wide, holds both queues'
 * 2048 bytes and never binds first. */
static long msg_queue_depth(void *ctx, const ipcb_cfg *cfg, char *limit,
                            size_t len) {
  msg_ctx *c = ctx;
  struct msqid_ds ds;
  ipcb_limit mnb, tql;
  if (msgctl(c->tx, IPC_STAT, &ds) != 0)
    return -1;
  long held = (long)(ds.msg_qbytes / cfg->max_bytes);
  int headers = ipcb_kernel_limit(IPCB_LIMIT_MSGTQL, &tql) == 0 && tql.value &&
                (uint64_t)held > tql.value;
  if (headers)
    held = (long)tql.value;
  if (held >= (long)cfg->window)
    return -1;
  if (headers) {
    snprintf(limit, len, "%s = %llu", tql.name, (unsigned long long)tql.value);
    return held;
  }
  ipcb_kernel_limit(IPCB_LIMIT_MSGMNB, &mnb);
  snprintf(limit, len, "%s = %lu", mnb.name, (unsigned long)ds.msg_qbytes);
  return held;
}

const ipcb_transport ipcb_tr_SysVMsg = {
    .name = "SysVMsg",
    .summary = "System V message queues (msgsnd/msgrcv), one per direction",
    .caps = IPCB_CAP_CHUNKED,
    .ctx_size = sizeof(msg_ctx),
    .probe = msg_probe,
    .max_message = msg_chunk_limit,
    .setup = msg_setup,
    .attach = msg_attach,
    .send_buf = msg_send_buf,
    .send = msg_send,
    .recv = msg_recv,
    .teardown = msg_teardown,
    .queue_depth = msg_queue_depth,
};
