/* Shared-memory slot rings for ShmFutex and ShmEventfd (linux): one memfd,
 * mapped by both sides, holding per direction a control block and `depth`
 * slots of max_bytes. The two transports differ only in how a side sleeps
 * and is woken, which they pass in as wait/wake callbacks. The ring is the
 * FIRST member of their contexts, so that ctx is the ring and the ring's
 * functions below are their table entries.
 *
 * Memory ordering. Per direction, `head` counts messages published (written
 * by the sender only) and `tail` messages released (written by the receiver
 * only). The sender writes a slot, then stores head: a release, so a
 * receiver whose acquire load of head sees the new value also sees every
 * byte of the slot. The receiver reads the slot, then stores tail: a
 * release, so a sender whose acquire load of tail sees it can overwrite the
 * slot without racing the receiver's reads. No other data is shared.
 *
 * Sleeping without lost wake-ups. A side about to sleep until a counter
 * moves past `old` stores old + 1, the value whose publication must wake
 * it, in the counter's `wake_at` word, then re-reads the counter. The other
 * side stores the counter, then reads `wake_at`, and wakes only on a match.
 * Both pairs are seq_cst (the store-buffering pattern): in the single total
 * order either the re-read sees the new counter, or the publisher's read
 * sees old + 1, so a sleeper is always woken, and exactly once per sleep.
 * Only the sleeper writes `wake_at`, so a publisher cannot clear the
 * announcement of a later sleep. (An earlier version used a 0/1 flag that
 * the publisher took with an exchange: a publisher slow to take the flag
 * after its store could consume the flag set for the *next* wait, and that
 * sleeper then slept through the message after. Stream/ShmFutex hung about
 * once in a few million messages that way.) A stale match costs one
 * spurious wake-up, which the wait loops tolerate. The wake is skipped when
 * nobody sleeps, so a busy stream makes no system call per message. */
#ifndef IPCB_LINUX_SHM_RING_H
#define IPCB_LINUX_SHM_RING_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../kit/kit.h"

typedef struct ring_ctl {
  _Alignas(64) _Atomic uint32_t head; /* a futex word: 32 bits, aligned */
  _Atomic uint32_t head_wake_at;      /* the receiver sleeps on head */
  _Alignas(64) _Atomic uint32_t tail;
  _Atomic uint32_t tail_wake_at; /* the sender sleeps on tail */
} ring_ctl;

/* Sleep while *word == old (a spurious return is fine); wake the other side
 * sleeping on `word`. Both get the transport's ctx, which starts with the
 * ring, and return 0 or a negative code. */
typedef int (*ring_wait_fn)(void *ctx, _Atomic uint32_t *word, uint32_t old);
typedef int (*ring_wake_fn)(void *ctx, _Atomic uint32_t *word);

typedef struct shm_ring {
  unsigned char *base;
  size_t map_len, slot;
  uint32_t depth, tx_head, rx_tail; /* this side's private copies */
  ring_ctl *tx, *rx;
  unsigned char *tx_slots, *rx_slots;
  ring_wait_fn wait;
  ring_wake_fn wake;
} shm_ring;

static inline size_t ring_map_len(size_t max_bytes, unsigned depth) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return page + 2 * (size_t)depth * ipcb__slot_size(max_bytes);
}

/* Client: an anonymous memfd (no name to leak) of the ring's size. */
static inline int ring_create(void *ctx, size_t max_bytes, unsigned depth,
                              int *fd) {
  *fd = memfd_create("ipcb-ring", MFD_CLOEXEC);
  if (*fd < 0)
    return ipcb_fail_errno(ctx, "memfd_create");
  if (ftruncate(*fd, (off_t)ring_map_len(max_bytes, depth)) != 0)
    return ipcb_fail_errno(ctx, "ftruncate(memfd)");
  return 0;
}

/* Either side: map the ring; the client sends on direction 0. */
static inline int ring_map(void *ctx, shm_ring *r, int fd, ipcb_role role,
                           const ipcb_cfg *cfg) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  r->slot = ipcb__slot_size(cfg->max_bytes);
  r->depth = cfg->window;
  r->map_len = ring_map_len(cfg->max_bytes, cfg->window);
  void *p = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    return ipcb_fail_errno(ctx, "mmap(ring)");
  r->base = p;
  ring_ctl *ctl = p;
  unsigned char *slots0 = r->base + page;
  unsigned char *slots1 = slots0 + (size_t)r->depth * r->slot;
  int client = role == IPCB_ROLE_CLIENT;
  r->tx = client ? &ctl[0] : &ctl[1];
  r->rx = client ? &ctl[1] : &ctl[0];
  r->tx_slots = client ? slots0 : slots1;
  r->rx_slots = client ? slots1 : slots0;
  return 0;
}

/* Safe on a zeroed ring. */
static inline void ring_unmap(shm_ring *r) {
  if (r->base)
    munmap(r->base, r->map_len);
  r->base = NULL;
}

/* Wait until *word differs from `old`, announcing the sleep in *wake_at. */
static inline int ring_await(shm_ring *r, _Atomic uint32_t *word,
                             _Atomic uint32_t *wake_at, uint32_t old) {
  while (atomic_load_explicit(word, memory_order_acquire) == old) {
    atomic_store_explicit(wake_at, old + 1, memory_order_seq_cst);
    if (atomic_load_explicit(word, memory_order_seq_cst) != old)
      break;
    int rc = r->wait(r, word, old);
    if (rc)
      return rc;
  }
  /* The acquire that matters: the loop exits after an acquire or seq_cst
   * load that saw the new value. */
  return 0;
}

/* Store the counter's new value, and wake the other side if it sleeps
 * waiting for exactly this value. */
static inline int ring_publish(shm_ring *r, _Atomic uint32_t *word,
                               _Atomic uint32_t *wake_at, uint32_t value) {
  atomic_store_explicit(word, value, memory_order_seq_cst);
  if (atomic_load_explicit(wake_at, memory_order_seq_cst) == value)
    return r->wake(r, word);
  return 0;
}

/* The table entries: ctx is the transport's context, the ring its first
 * member. */
static inline int ring_send_buf(void *ctx, size_t n, void **buf) {
  shm_ring *r = ctx;
  _Atomic uint32_t *tail = &r->tx->tail;
  (void)n;
  uint32_t t = atomic_load_explicit(tail, memory_order_acquire);
  while (r->tx_head - t >= r->depth) { /* every slot in flight */
    int rc = ring_await(r, tail, &r->tx->tail_wake_at, t);
    if (rc)
      return rc;
    t = atomic_load_explicit(tail, memory_order_acquire);
  }
  *buf = r->tx_slots + (size_t)(r->tx_head % r->depth) * r->slot;
  return 0;
}

static inline int ring_send(void *ctx, size_t n) {
  shm_ring *r = ctx;
  (void)n;
  return ring_publish(r, &r->tx->head, &r->tx->head_wake_at, ++r->tx_head);
}

static inline int ring_recv(void *ctx, const void **p, size_t *n) {
  shm_ring *r = ctx;
  (void)n; /* a slot holds exactly what the pattern sent */
  int rc = ring_await(r, &r->rx->head, &r->rx->head_wake_at, r->rx_tail);
  if (rc)
    return rc;
  *p = r->rx_slots + (size_t)(r->rx_tail % r->depth) * r->slot;
  return 0;
}

static inline int ring_release(void *ctx) {
  shm_ring *r = ctx;
  return ring_publish(r, &r->rx->tail, &r->rx->tail_wake_at, ++r->rx_tail);
}

#endif /* IPCB_LINUX_SHM_RING_H */
