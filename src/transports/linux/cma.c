/* CMA: cross-memory attach, process_vm_writev(2) straight into the other
 * side's receive buffer (linux). One copy per message, made by the kernel
 * from the sender's pages to the receiver's; a pipe per direction carries an
 * 8-byte notice (the size) once the copy is done.
 *
 * Each side owns `depth` receive slots; message k goes to slot k % depth,
 * which is free again by then because the patterns never have more than
 * depth messages unreceived. At attach, each side sends the other its
 * slots' address over the pipe, then tries a 1-byte write into them, and
 * the two report the outcome to each other, so a refusal is explained on
 * the client rather than seen as a peer that exited.
 *
 * Ordering: process_vm_writev has finished copying when it returns; the
 * notice is written after, and the receiver's read() of it synchronises
 * through the pipe's lock, so the receiver sees every byte of the slot.
 *
 * Permission: the kernel checks PTRACE_MODE_ATTACH_REALCREDS on the target:
 * the same uid (real credentials against the target's), or CAP_SYS_PTRACE,
 * and a dumpable target; Yama adds kernel.yama.ptrace_scope: 1 allows only
 * a descendant or a process the target named with PR_SET_PTRACER (so the
 * client names its peer), 2 needs CAP_SYS_PTRACE, 3 forbids it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../kit/kit.h"

#define SCOPE_NAME "kernel.yama.ptrace_scope"

typedef struct cma_ctx {
  int ready, named_ptracer;
  int rd, wr, pid;
  unsigned char *sbuf, *rslots;
  uint64_t remote; /* the other side's slots */
  size_t slot, max;
  unsigned depth, tx_next, rx_next;
} cma_ctx;

typedef struct hello {
  uint64_t slots, slot_size, depth;
} hello;

/* The Yama scope, or -1 without Yama (only the uid/capability rule). */
static int ptrace_scope(void) {
  ipcb_limit scope;
  return ipcb_kernel_limit(IPCB_LIMIT_PTRACE_SCOPE, &scope) ? -1
                                                            : (int)scope.value;
}

static int has_cap_sys_ptrace(void) {
  char line[128];
  unsigned long long caps = 0;
  FILE *f = fopen("/proc/self/status", "r");
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "CapEff: %llx", &caps) == 1)
      break;
  if (f)
    fclose(f);
  return (caps >> 19) & 1; /* CAP_SYS_PTRACE */
}

static int cma_probe(char *why, size_t len) {
  char byte = 0, into = 1;
  struct iovec l = {&byte, 1}, r = {&into, 1};
  /* Self is always allowed: a failure here is seccomp or an old kernel. */
  if (process_vm_writev(getpid(), &l, 1, &r, 1, 0) != 1) {
    snprintf(why, len, "process_vm_writev on itself: %s", strerror(errno));
    return IPCB_EUNAVAIL;
  }
  int scope = ptrace_scope();
  if (scope >= 3 || (scope == 2 && !has_cap_sys_ptrace())) {
    snprintf(why, len, "%s is %d: process_vm_writev needs PTRACE_MODE_ATTACH%s",
             SCOPE_NAME, scope,
             scope == 2 ? " and CAP_SYS_PTRACE" : ", which it forbids");
    return IPCB_EUNAVAIL;
  }
  return 0;
}

static int denied(void *ctx, int err, int pid, const char *who) {
  int scope = ptrace_scope();
  char s[48] = "absent (no Yama)";
  if (scope >= 0)
    snprintf(s, sizeof s, "%d", scope);
  return ipcb_fail(ctx, IPCB_EUNAVAIL,
                   "%s process_vm_writev into pid %d: %s: needs "
                   "PTRACE_MODE_ATTACH_REALCREDS (same uid or CAP_SYS_PTRACE, "
                   "a dumpable target, Yama scope <= 1); %s is %s",
                   who, pid, err == EPERM ? "EPERM" : strerror(err), SCOPE_NAME,
                   s);
}

/* Copy n bytes to the other side's slot at `remote`. */
static int write_remote(void *ctx, cma_ctx *c, const void *src, size_t n,
                        uint64_t remote) {
  struct iovec l = {(void *)src, n}, r = {(void *)(uintptr_t)remote, n};
  while (l.iov_len > 0) {
    ssize_t w = process_vm_writev(c->pid, &l, 1, &r, 1, 0);
    if (w > 0) { /* partial only at a fault in the range: go on */
      l.iov_base = (char *)l.iov_base + w, l.iov_len -= (size_t)w;
      r.iov_base = (char *)r.iov_base + w, r.iov_len -= (size_t)w;
      continue;
    }
    if (w < 0 && errno == ESRCH)
      return ipcb_fail(ctx, IPCB_EPEERDIED, "process_vm_writev: pid %d is gone",
                       c->pid);
    if (w < 0 && errno == EPERM)
      return denied(ctx, EPERM, c->pid, "this side's");
    int rc = w < 0 ? ipcb__retry(ctx, "process_vm_writev")
                   : ipcb_fail_errno(ctx, "process_vm_writev");
    if (rc)
      return rc;
  }
  return 0;
}

static int cma_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  cma_ctx *c = ctx;
  (void)cfg;
  c->ready = 1;
  c->rd = c->wr = -1;
  return ipcb_pipe_pair(ctx, &c->rd, &c->wr, rdv);
}

/* Addresses both ways, a trial write both ways, outcomes both ways. */
static int handshake(void *ctx, cma_ctx *c) {
  hello mine = {(uintptr_t)c->rslots, c->slot, c->depth}, theirs;
  int rc = ipcb_write_all(ctx, c->wr, &mine, sizeof mine);
  if (!rc)
    rc = ipcb_read_all(ctx, c->rd, &theirs, sizeof theirs);
  if (rc)
    return rc;
  if (theirs.slot_size != c->slot || theirs.depth != c->depth)
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "the other side has %llu slots of "
                     "%llu bytes",
                     (unsigned long long)theirs.depth,
                     (unsigned long long)theirs.slot_size);
  c->remote = theirs.slots;
  struct iovec l = {&mine, 1}, r = {(void *)(uintptr_t)c->remote, 1};
  int32_t my_err = 0, their_err = 0;
  if (process_vm_writev(c->pid, &l, 1, &r, 1, 0) != 1)
    my_err = errno;
  rc = ipcb_write_all(ctx, c->wr, &my_err, sizeof my_err);
  if (!rc)
    rc = ipcb_read_all(ctx, c->rd, &their_err, sizeof their_err);
  if (rc)
    return rc;
  /* ESRCH: killed after its hello, not refused (its outcome may be sent). */
  if (my_err == ESRCH)
    return ipcb_fail(ctx, IPCB_EPEERDIED, "process_vm_writev: pid %d is gone",
                     c->pid);
  if (my_err)
    return denied(ctx, my_err, c->pid, "this side's");
  if (their_err)
    return denied(ctx, their_err, getpid(), "the other side's");
  return 0;
}

static int cma_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                      const ipcb_rdv *rdv) {
  cma_ctx *c = ctx;
  if (role == IPCB_ROLE_PEER) {
    c->ready = 1;
    if (rdv->nfds != 2)
      return ipcb_fail(ctx, -EINVAL, "expected 2 inherited fds, got %d",
                       rdv->nfds);
    c->rd = rdv->fds[0];
    c->wr = rdv->fds[1];
  } else {
    /* Yama scope 1 lets only descendants in: the peer writes to its parent,
     * so name it; without Yama this fails with EINVAL, harmlessly. */
    c->named_ptracer =
        prctl(PR_SET_PTRACER, (unsigned long)ipcb_other_pid(ctx), 0, 0, 0) == 0;
  }
  c->pid = ipcb_other_pid(ctx);
  c->max = cfg->max_bytes;
  c->slot = ipcb__slot_size(cfg->max_bytes);
  c->depth = cfg->window;
  c->sbuf = malloc(cfg->max_bytes);
  /* Zeroed: only the other process writes these bytes, where valgrind's
   * memcheck cannot see it, so malloc's would read as uninitialised. The
   * zeroing is done at attach, outside any timing. */
  c->rslots = calloc(c->depth, c->slot);
  if (!c->sbuf || !c->rslots)
    return ipcb_fail(ctx, -ENOMEM, "allocating %u x %zu bytes failed", c->depth,
                     c->slot);
  return handshake(ctx, c);
}

static int cma_send_buf(void *ctx, size_t n, void **buf) {
  (void)n;
  *buf = ((cma_ctx *)ctx)->sbuf;
  return 0;
}

static int cma_send(void *ctx, size_t n) {
  cma_ctx *c = ctx;
  uint64_t notice = n;
  uint64_t at = c->remote + (uint64_t)c->tx_next * c->slot;
  c->tx_next = (c->tx_next + 1) % c->depth;
  int rc = write_remote(ctx, c, c->sbuf, n, at);
  return rc ? rc : ipcb_write_all(ctx, c->wr, &notice, sizeof notice);
}

static int cma_recv(void *ctx, const void **p, size_t *n) {
  cma_ctx *c = ctx;
  uint64_t notice;
  int rc = ipcb_read_all(ctx, c->rd, &notice, sizeof notice);
  if (rc)
    return rc;
  if (notice == 0 || notice > c->max)
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "a notice of %llu bytes; messages have 1 to %zu",
                     (unsigned long long)notice, c->max);
  *p = c->rslots + (size_t)c->rx_next * c->slot;
  *n = (size_t)notice;
  c->rx_next = (c->rx_next + 1) % c->depth;
  return 0;
}

static void cma_teardown(void *ctx, ipcb_role role) {
  cma_ctx *c = ctx;
  (void)role;
  if (!c->ready)
    return;
  if (c->named_ptracer) /* leave no process allowed to write into us */
    prctl(PR_SET_PTRACER, 0UL, 0, 0, 0);
  c->named_ptracer = 0;
  ipcb_close_fd(&c->rd);
  ipcb_close_fd(&c->wr);
  free(c->sbuf);
  free(c->rslots);
  c->sbuf = c->rslots = NULL;
}

const ipcb_transport ipcb_tr_CMA = {
    .name = "CMA",
    .summary = "process_vm_writev(2) into the other side's buffer (one copy), "
               "pipe notices; needs PTRACE_MODE_ATTACH_REALCREDS: same uid or "
               "CAP_SYS_PTRACE, kernel.yama.ptrace_scope <= 1",
    .caps = 0,
    .ctx_size = sizeof(cma_ctx),
    .probe = cma_probe,
    .setup = cma_setup,
    .attach = cma_attach,
    .send_buf = cma_send_buf,
    .send = cma_send,
    .recv = cma_recv,
    .teardown = cma_teardown,
};
