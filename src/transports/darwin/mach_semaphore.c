/* MachSemaphore: the MachShm region, each message handed over by a Mach
 * semaphore (semaphore_signal / semaphore_wait) instead of a Mach message
 * (macOS): the public-API counterpart of ShmUlock.
 *
 * The client creates one counting semaphore per direction, "messages ready",
 * and sends send rights to both with the memory entry in the rendezvous. Any
 * send right names the semaphore to the traps, in whichever task holds it:
 * port_name_to_semaphore only translates the name in the caller's space
 * (xnu osfmk/kern/sync_sema.c:1173), and neither wait nor signal asks who the
 * owner is, only that there still is one (semaphore_active, line 71). Free
 * slots need no semaphore: the region counts them (mach_region.c).
 *
 * Waiting. semaphore_wait is untimed, so the core's watchdog is the one
 * timer: the trap waits THREAD_ABORTSAFE (sync_sema.c:694), so the watchdog's
 * signal (bsd/kern/kern_sig.c:2552, thread_abort_safely) ends it with
 * KERN_ABORTED (sync_sema.c:616), and libsyscall does not restart it
 * (libsyscall/mach/semaphore.c:55, the bare trap). An interrupted wait loses
 * no signal: the next semaphore_signal finds no waiter, resets the count
 * and posts it (sync_sema.c:406-411).
 *
 * Death. The semaphores belong to the client's task: when it dies,
 * task_terminate_internal destroys them (osfmk/kern/task.c:3152,
 * semaphore_destroy_all), which wakes the peer's wait with KERN_TERMINATED
 * (sync_sema.c:187 THREAD_RESTART, 619) and fails every later wait or
 * signal the same way (681, 353): the peer reads that as its client gone. A
 * dead peer leaves the client's semaphores alive, so the client's wait ends
 * at the watchdog's signal like any other.
 *
 * Ordering: both traps take the semaphore's lock, so the waiter sees every
 * byte written before the signal; the fences say so to the C memory model. */
#include <mach/mach.h>
#include <stdatomic.h>
#include <string.h>

#include "mach_common.h"
#include "mach_region.h"

enum { HEAD = 64 }; /* a slot's first line: its message's number and size */

typedef struct slot_head {
  uint32_t seq;
  uint32_t pad;
  uint64_t size;
} slot_head;

typedef struct sem_ctx {
  ipcb_mach_link link;
  ipcb_mach_region region;
  ipcb_role role;
  semaphore_t ready[2]; /* per direction: messages published, not taken */
} sem_ctx;

/* KERN_TERMINATED is the owner's death only where the owner is the other
 * side; in the client it would be its own semaphore destroyed. */
static int sem_fail(void *ctx, const char *call, kern_return_t kr) {
  sem_ctx *c = ctx;
  if (kr == KERN_TERMINATED && c->role == IPCB_ROLE_PEER)
    return ipcb_fail(ctx, IPCB_EPEERDIED,
                     "%s: KERN_TERMINATED, the semaphore was destroyed with "
                     "the client that owned it",
                     call);
  return ipcb__mach_fail(ctx, call, kr);
}

static int sem_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  sem_ctx *c = ctx;
  c->role = IPCB_ROLE_CLIENT;
  ipcb__mach_region_layout(&c->region, cfg, IPCB_ROLE_CLIENT, HEAD);
  int rc = ipcb__mach_region_create(ctx, &c->region);
  for (unsigned d = 0; d < 2 && !rc; d++) {
    kern_return_t kr =
        semaphore_create(mach_task_self(), &c->ready[d], SYNC_POLICY_FIFO, 0);
    if (kr != KERN_SUCCESS) {
      c->ready[d] = MACH_PORT_NULL;
      rc = ipcb__mach_fail(ctx, "semaphore_create", kr);
    }
  }
  return rc ? rc : ipcb__mach_setup(ctx, &c->link, cfg, rdv);
}

/* The rendezvous carries the memory entry, then each direction's semaphore.
 * The link's own ports carry nothing after it: its queue needs no room. */
static int sem_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                      const ipcb_rdv *rdv) {
  sem_ctx *c = ctx;
  c->role = role;
  ipcb__mach_region_layout(&c->region, cfg, role, HEAD);
  mach_port_t extra[3] = {c->region.entry, c->ready[0], c->ready[1]};
  int rc = ipcb__mach_connect(ctx, &c->link, role, cfg, rdv, 1, extra, 3);
  if (!rc && role == IPCB_ROLE_PEER) {
    c->region.entry = extra[0];
    c->ready[0] = extra[1];
    c->ready[1] = extra[2];
    if (!MACH_PORT_VALID(extra[0]) || !MACH_PORT_VALID(extra[1]) ||
        !MACH_PORT_VALID(extra[2]))
      return ipcb_fail(ctx, IPCB_ECORRUPT,
                       "rendezvous: the memory entry or a semaphore is "
                       "missing");
    rc = ipcb__mach_region_map(ctx, &c->region);
  }
  ipcb__mach_region_drop_entry(&c->region);
  return rc;
}

static int sem_send_buf(void *ctx, size_t n, void **buf) {
  (void)n;
  return ipcb__mach_region_send_buf(ctx, &((sem_ctx *)ctx)->region, buf);
}

static int sem_send(void *ctx, size_t n) {
  sem_ctx *c = ctx;
  ipcb_mach_region *g = &c->region;
  slot_head h = {.seq = g->sent, .size = n};
  memcpy(ipcb__mach_region_slot(g, g->tx_dir, g->sent), &h, sizeof h);
  atomic_thread_fence(memory_order_release);
  kern_return_t kr = semaphore_signal(c->ready[g->tx_dir]);
  if (kr != KERN_SUCCESS)
    return sem_fail(ctx, "semaphore_signal", kr);
  g->sent++;
  return 0;
}

static int sem_recv(void *ctx, const void **p, size_t *n) {
  sem_ctx *c = ctx;
  ipcb_mach_region *g = &c->region;
  for (;;) {
    kern_return_t kr = semaphore_wait(c->ready[g->rx_dir]);
    if (kr == KERN_SUCCESS)
      break;
    if (kr != KERN_ABORTED)
      return sem_fail(ctx, "semaphore_wait", kr);
    int rc = ipcb_interrupted(ctx);
    if (rc)
      return rc;
  }
  atomic_thread_fence(memory_order_acquire);
  unsigned char *s = ipcb__mach_region_slot(g, g->rx_dir, g->received);
  slot_head h;
  memcpy(&h, s, sizeof h);
  if (h.seq != g->received || h.size > g->slot - HEAD)
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "MachSemaphore: slot of message %u holds message %u "
                     "(%llu bytes) where at most %zu bytes fit",
                     g->received, h.seq, (unsigned long long)h.size,
                     g->slot - HEAD);
  *p = s + HEAD;
  *n = (size_t)h.size;
  return 0;
}

static int sem_release(void *ctx) {
  ipcb__mach_region_release(&((sem_ctx *)ctx)->region);
  return 0;
}

/* semaphore_destroy takes the send right with it (osfmk/mach/task.defs:345:
 * a semaphore_consume_ref_t, which mach_types.defs:617 makes a
 * mach_port_move_send_t), so the client deallocates nothing after it. */
static void sem_teardown(void *ctx, ipcb_role role) {
  sem_ctx *c = ctx;
  for (unsigned d = 0; d < 2; d++) {
    if (MACH_PORT_VALID(c->ready[d])) {
      if (role == IPCB_ROLE_CLIENT)
        semaphore_destroy(mach_task_self(), c->ready[d]);
      else
        mach_port_deallocate(mach_task_self(), c->ready[d]);
    }
    c->ready[d] = MACH_PORT_NULL;
  }
  ipcb__mach_region_close(&c->region);
  ipcb__mach_close(&c->link);
}

const ipcb_transport ipcb_tr_MachSemaphore = {
    .name = "MachSemaphore",
    .summary = "the MachShm region, each message handed over by a Mach "
               "semaphore (semaphore_signal, semaphore_wait)",
    .caps = IPCB_CAP_SHARED_MEMORY,
    .ctx_size = sizeof(sem_ctx),
    .setup = sem_setup,
    .attach = sem_attach,
    .send_buf = sem_send_buf,
    .send = sem_send,
    .recv = sem_recv,
    .release = sem_release,
    .teardown = sem_teardown,
};
