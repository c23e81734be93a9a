/* MachShm: Mach shared memory, a named memory entry mapped by both sides,
 * each message signalled by an empty Mach message (macOS).
 *
 * "One mechanism uses the other", as the 2017 article put it: the payload
 * never travels in a message, only the news that a slot is full does.
 *
 * The region is made as Chromium's shared memory is on macOS:
 * mach_make_memory_entry_64 with MAP_MEM_NAMED_CREATE creates a fresh VM
 * object (the address argument is then ignored, so there is nothing to
 * vm_allocate first) and returns a send right naming it; vm_map maps it in
 * the client, and the right goes to the peer once, in the rendezvous, where
 * vm_map maps the same pages.
 *
 * Ordering: mach_msg takes the port's lock on both sides, so the receiver
 * sees every byte written before the send; the fences below say so to the C
 * memory model. Free slots are counted in the region itself: the receiver
 * bumps `freed` with a release store at release(), and the sender reads it
 * with an acquire load before reusing a slot. */
#include <errno.h>
#include <mach/mach.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "../kit/kit.h"
#include "mach_common.h"

typedef struct dir_ctl {
  _Atomic uint32_t freed; /* slots the receiver has released, ever */
  unsigned char pad[60];
} dir_ctl;

typedef struct note_msg {
  mach_msg_header_t hdr;
  uint32_t seq;
  uint32_t pad;
  uint64_t size;
} note_msg;
typedef struct note_rcv {
  note_msg m;
  mach_msg_max_trailer_t trailer;
} note_rcv;

typedef struct shm_ctx {
  ipcb_mach_link link;
  mach_port_t entry;
  vm_address_t base;
  vm_size_t size;
  size_t slot;
  unsigned depth, tx_dir, rx_dir;
  uint32_t sent, received; /* this side's counts, never shared */
} shm_ctx;

static size_t region_size(const ipcb_cfg *cfg, size_t *slot) {
  *slot = ipcb__slot_size(cfg->max_bytes);
  return round_page(2 * sizeof(dir_ctl) + 2 * (size_t)cfg->window * *slot);
}

static dir_ctl *ctl(shm_ctx *c, unsigned dir) {
  return (dir_ctl *)c->base + dir;
}

static unsigned char *slot_at(shm_ctx *c, unsigned dir, uint32_t seq) {
  size_t i = (size_t)dir * c->depth + seq % c->depth;
  return (unsigned char *)c->base + 2 * sizeof(dir_ctl) + i * c->slot;
}

static int map_entry(void *ctx, shm_ctx *c) {
  kern_return_t kr =
      vm_map(mach_task_self(), &c->base, c->size, 0, VM_FLAGS_ANYWHERE,
             c->entry, 0, FALSE, VM_PROT_READ | VM_PROT_WRITE,
             VM_PROT_READ | VM_PROT_WRITE, VM_INHERIT_NONE);
  if (kr != KERN_SUCCESS) {
    c->base = 0;
    return ipcb__mach_fail(ctx, "vm_map(memory entry)", kr);
  }
  return 0;
}

static int shm_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  shm_ctx *c = ctx;
  c->size = region_size(cfg, &c->slot);
  memory_object_size_t size = c->size;
  kern_return_t kr = mach_make_memory_entry_64(mach_task_self(), &size, 0,
                                               MAP_MEM_NAMED_CREATE |
                                                   VM_PROT_READ | VM_PROT_WRITE,
                                               &c->entry, MACH_PORT_NULL);
  if (kr != KERN_SUCCESS) {
    c->entry = MACH_PORT_NULL;
    return ipcb__mach_fail(ctx, "mach_make_memory_entry_64(NAMED_CREATE)", kr);
  }
  int rc = map_entry(ctx, c);
  return rc ? rc : ipcb__mach_setup(ctx, &c->link, cfg, rdv);
}

static int shm_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                      const ipcb_rdv *rdv) {
  shm_ctx *c = ctx;
  c->depth = cfg->window;
  c->tx_dir = role == IPCB_ROLE_CLIENT ? 0 : 1;
  c->rx_dir = 1 - c->tx_dir;
  c->size = region_size(cfg, &c->slot);
  int rc = ipcb__mach_connect(ctx, &c->link, role, cfg, rdv, cfg->window,
                              &c->entry, 1);
  if (!rc && role == IPCB_ROLE_PEER) {
    if (!MACH_PORT_VALID(c->entry))
      return ipcb_fail(ctx, IPCB_ECORRUPT, "rendezvous: no memory entry");
    rc = map_entry(ctx, c);
  }
  /* The mapping holds the object; the right is no longer needed. */
  if (MACH_PORT_VALID(c->entry))
    mach_port_deallocate(mach_task_self(), c->entry);
  c->entry = MACH_PORT_NULL;
  return rc;
}

/* Only a stream deeper than the pattern's window gets here: ping-pong never
 * finds every slot in flight. Waiting is rare, so it yields rather than
 * adding a message per release. */
static int shm_send_buf(void *ctx, size_t n, void **buf) {
  shm_ctx *c = ctx;
  (void)n;
  dir_ctl *d = ctl(c, c->tx_dir);
  while (c->sent - atomic_load_explicit(&d->freed, memory_order_acquire) >=
         c->depth) {
    int rc = ipcb_interrupted(ctx);
    if (rc)
      return rc;
    sched_yield();
  }
  *buf = slot_at(c, c->tx_dir, c->sent);
  return 0;
}

static int shm_send(void *ctx, size_t n) {
  shm_ctx *c = ctx;
  note_msg m, head;
  memset(&head, 0, sizeof head);
  head.hdr.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
  head.hdr.msgh_size = sizeof head;
  head.hdr.msgh_remote_port = c->link.tx;
  head.seq = c->sent;
  head.size = n;
  atomic_thread_fence(memory_order_release);
  int rc = ipcb__mach_send(ctx, &m.hdr, &head, sizeof head);
  if (!rc)
    c->sent++;
  return rc;
}

static int shm_recv(void *ctx, const void **p, size_t *n) {
  shm_ctx *c = ctx;
  note_rcv r;
  int rc = ipcb__mach_recv(ctx, c->link.rx, &r.m.hdr, sizeof r);
  if (rc)
    return rc;
  if ((r.m.hdr.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||
      r.m.hdr.msgh_size != sizeof r.m || r.m.seq != c->received ||
      r.m.size > c->slot) {
    mach_msg_destroy(&r.m.hdr);
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "MachShm: notice of message %u (%llu bytes) where "
                     "message %u of at most %zu bytes was due",
                     r.m.seq, (unsigned long long)r.m.size, c->received,
                     c->slot);
  }
  atomic_thread_fence(memory_order_acquire);
  *p = slot_at(c, c->rx_dir, c->received);
  *n = (size_t)r.m.size;
  return 0;
}

static int shm_release(void *ctx) {
  shm_ctx *c = ctx;
  c->received++;
  atomic_store_explicit(&ctl(c, c->rx_dir)->freed, c->received,
                        memory_order_release);
  return 0;
}

static long shm_queue_depth(void *ctx, const ipcb_cfg *cfg, char *limit,
                            size_t len) {
  return ipcb__mach_queue_depth(&((shm_ctx *)ctx)->link, cfg, 1, limit, len);
}

static void shm_teardown(void *ctx, ipcb_role role) {
  shm_ctx *c = ctx;
  (void)role;
  if (c->base)
    vm_deallocate(mach_task_self(), c->base, c->size);
  c->base = 0;
  if (MACH_PORT_VALID(c->entry))
    mach_port_deallocate(mach_task_self(), c->entry);
  c->entry = MACH_PORT_NULL;
  ipcb__mach_close(&c->link);
}

const ipcb_transport ipcb_tr_MachShm = {
    .name = "MachShm",
    .summary = "a named memory entry (mach_make_memory_entry_64) vm_mapped "
               "by both sides, each message signalled by a Mach message",
    .caps = IPCB_CAP_SHARED_MEMORY,
    .ctx_size = sizeof(shm_ctx),
    .setup = shm_setup,
    .attach = shm_attach,
    .send_buf = shm_send_buf,
    .send = shm_send,
    .recv = shm_recv,
    .release = shm_release,
    .teardown = shm_teardown,
    .queue_depth = shm_queue_depth,
};
