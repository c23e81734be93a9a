/* ShmUlock: shared-memory slots with the kernel's compare-and-wait
 * (os_sync_wait_on_address, or __ulock_wait before macOS 14.4), the macOS
 * counterpart of a futex.
 *
 * The region is a POSIX shared memory object whose name is unlinked right
 * after shm_open created it, before it is sized or mapped; the peer inherits
 * the descriptor, so no name outlives setup. Per direction, `head` counts
 * messages published and `tail` messages released; a side waits on the word it
 * needs to change.
 *
 * Ordering: the sender writes the slot, then stores `head` with release
 * semantics; the receiver's acquire load of `head` then sees the slot's
 * bytes. `tail` orders the slot's reuse the same way. The waiter counts let a
 * publisher skip the wake system call when nobody sleeps: the publisher
 * stores the word then reads the count, the waiter bumps the count then
 * reads the word, both sequentially consistent, so at least one of them sees
 * the other (a lost wake-up would need both to miss). The kernel compares
 * the word again before sleeping, so a wake between the two is not lost
 * either. _SHARED variants are required: the plain ones key the wait on the
 * process's virtual address, the shared ones on the VM object. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kit/kit.h"
#include "ulock.h"

typedef struct ring_ctl {
  _Atomic uint32_t head, head_waiters;
  unsigned char pad1[56];
  _Atomic uint32_t tail, tail_waiters;
  unsigned char pad2[56];
} ring_ctl;

typedef struct ulock_ctx {
  int ready;
  unsigned char *base;
  size_t size, slot;
  unsigned depth, tx_dir, rx_dir;
  uint32_t sent, received;
} ulock_ctx;

/* Each slot starts with its message's size, on a line of its own. */
static size_t region_size(const ipcb_cfg *cfg, size_t *slot) {
  *slot = 64 + ipcb__slot_size(cfg->max_bytes);
  return 2 * sizeof(ring_ctl) + 2 * (size_t)cfg->window * *slot;
}

static ring_ctl *ring(ulock_ctx *c, unsigned dir) {
  return (ring_ctl *)c->base + dir;
}

static unsigned char *slot_at(ulock_ctx *c, unsigned dir, uint32_t seq) {
  size_t i = (size_t)dir * c->depth + seq % c->depth;
  return c->base + 2 * sizeof(ring_ctl) + i * c->slot;
}

static void publish(_Atomic uint32_t *word, _Atomic uint32_t *waiters,
                    uint32_t value) {
  atomic_store_explicit(word, value, memory_order_seq_cst);
  if (atomic_load_explicit(waiters, memory_order_seq_cst))
    ipcb__ulock_wake(word, IPCB_ULOCK_SHARED);
}

/* Wait until *word differs from `seen`, then acquire what it publishes. */
static int await_change(void *ctx, _Atomic uint32_t *word,
                        _Atomic uint32_t *waiters, uint32_t seen) {
  while (atomic_load_explicit(word, memory_order_acquire) == seen) {
    int r = 0;
    atomic_fetch_add_explicit(waiters, 1, memory_order_seq_cst);
    if (atomic_load_explicit(word, memory_order_seq_cst) == seen)
      r = ipcb__ulock_wait(word, seen, IPCB_ULOCK_SHARED);
    atomic_fetch_sub_explicit(waiters, 1, memory_order_relaxed);
    if (r == 0)
      continue;
    /* EFAULT: the word's page was not resident, and xnu reads it under a
     * spinlock where it cannot fault ("let the user level code fault it
     * in", bsd/kern/sys_ulock.c:670); the loop's load faults it in. The
     * watchdog is asked here too, so a persistent EFAULT cannot spin past
     * the deadline. */
    errno = r == -EFAULT ? EINTR : -r;
    int rc = ipcb__retry(ctx, "wait on address (SHARED)");
    if (rc)
      return rc;
  }
  return 0;
}

static int ulock_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  ulock_ctx *c = ctx;
  int fd;
  void *map;
  c->ready = 1;
  c->size = region_size(cfg, &c->slot);
  int rc = ipcb__shm_create(ctx, c->size, NULL, &fd, &map);
  if (rc)
    return rc;
  c->base = map;
  rdv->fds[0] = fd; /* the core's from here on */
  rdv->nfds = 1;
  snprintf(rdv->token, sizeof rdv->token, "%zu", c->size);
  return 0;
}

static int ulock_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                        const ipcb_rdv *rdv) {
  ulock_ctx *c = ctx;
  c->ready = 1;
  c->depth = cfg->window;
  c->tx_dir = role == IPCB_ROLE_CLIENT ? 0 : 1;
  c->rx_dir = 1 - c->tx_dir;
  if (role == IPCB_ROLE_CLIENT)
    return 0;
  c->size = region_size(cfg, &c->slot);
  if (rdv->nfds != 1 || strtoull(rdv->token, NULL, 10) != c->size)
    return ipcb_fail(ctx, -EINVAL, "malformed rendezvous '%s'", rdv->token);
  void *map;
  int rc = ipcb__shm_map_fd(ctx, rdv, c->size, &map);
  c->base = rc ? NULL : map;
  return rc;
}

static int ulock_send_buf(void *ctx, size_t n, void **buf) {
  ulock_ctx *c = ctx;
  ring_ctl *r = ring(c, c->tx_dir);
  (void)n;
  while (c->sent - atomic_load_explicit(&r->tail, memory_order_acquire) >=
         c->depth) {
    uint32_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    int rc = await_change(ctx, &r->tail, &r->tail_waiters, tail);
    if (rc)
      return rc;
  }
  *buf = slot_at(c, c->tx_dir, c->sent) + 64;
  return 0;
}

static int ulock_send(void *ctx, size_t n) {
  ulock_ctx *c = ctx;
  ring_ctl *r = ring(c, c->tx_dir);
  uint64_t size = n;
  memcpy(slot_at(c, c->tx_dir, c->sent), &size, sizeof size);
  c->sent++;
  publish(&r->head, &r->head_waiters, c->sent);
  return 0;
}

static int ulock_recv(void *ctx, const void **p, size_t *n) {
  ulock_ctx *c = ctx;
  ring_ctl *r = ring(c, c->rx_dir);
  int rc = await_change(ctx, &r->head, &r->head_waiters, c->received);
  if (rc)
    return rc;
  uint64_t size;
  unsigned char *s = slot_at(c, c->rx_dir, c->received);
  memcpy(&size, s, sizeof size);
  if (size > c->slot - 64)
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "ShmUlock: a slot claims %llu bytes, it holds %zu",
                     (unsigned long long)size, c->slot - 64);
  *p = s + 64;
  *n = (size_t)size;
  return 0;
}

static int ulock_release(void *ctx) {
  ulock_ctx *c = ctx;
  ring_ctl *r = ring(c, c->rx_dir);
  c->received++;
  publish(&r->tail, &r->tail_waiters, c->received);
  return 0;
}

static void ulock_teardown(void *ctx, ipcb_role role) {
  ulock_ctx *c = ctx;
  (void)role;
  if (c->base)
    munmap(c->base, c->size);
  c->base = NULL;
}

const ipcb_transport ipcb_tr_ShmUlock = {
    .name = "ShmUlock",
    .summary = "shared memory slots with os_sync_wait_on_address "
               "(macOS 14.4+) or __ulock_wait, the macOS futex",
    .caps = IPCB_CAP_SHARED_MEMORY,
    .ctx_size = sizeof(ulock_ctx),
    .setup = ulock_setup,
    .attach = ulock_attach,
    .send_buf = ulock_send_buf,
    .send = ulock_send,
    .recv = ulock_recv,
    .release = ulock_release,
    .teardown = ulock_teardown,
};
