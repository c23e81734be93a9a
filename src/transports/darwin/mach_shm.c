/* MachShm: Mach shared memory, a named memory entry mapped by both sides,
 * each message signalled by an empty Mach message (macOS).
 *
 * "One mechanism uses the other", as the 2017 article put it: the payload
 * never travels in a message, only the news that a slot is full does. The
 * region, its slots and their release counters are mach_region.c's.
 *
 * Ordering: mach_msg takes the port's lock on both sides, so the receiver
 * sees every byte written before the send; the fences below say so to the C
 * memory model. */
#include <mach/mach.h>
#include <stdatomic.h>
#include <string.h>

#include "mach_common.h"
#include "mach_region.h"

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
  ipcb_mach_region region;
} shm_ctx;

static int shm_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  shm_ctx *c = ctx;
  ipcb__mach_region_layout(&c->region, cfg, IPCB_ROLE_CLIENT, 0);
  int rc = ipcb__mach_region_create(ctx, &c->region);
  return rc ? rc : ipcb__mach_setup(ctx, &c->link, cfg, rdv);
}

static int shm_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                      const ipcb_rdv *rdv) {
  shm_ctx *c = ctx;
  ipcb__mach_region_layout(&c->region, cfg, role, 0);
  int rc = ipcb__mach_connect(ctx, &c->link, role, cfg, rdv, cfg->window,
                              &c->region.entry, 1);
  if (!rc && role == IPCB_ROLE_PEER) {
    if (!MACH_PORT_VALID(c->region.entry))
      return ipcb_fail(ctx, IPCB_ECORRUPT, "rendezvous: no memory entry");
    rc = ipcb__mach_region_map(ctx, &c->region);
  }
  ipcb__mach_region_drop_entry(&c->region);
  return rc;
}

static int shm_send_buf(void *ctx, size_t n, void **buf) {
  (void)n;
  return ipcb__mach_region_send_buf(ctx, &((shm_ctx *)ctx)->region, buf);
}

static int shm_send(void *ctx, size_t n) {
  shm_ctx *c = ctx;
  ipcb_mach_region *g = &c->region;
  note_msg m, head;
  memset(&head, 0, sizeof head);
  head.hdr.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
  head.hdr.msgh_size = sizeof head;
  head.hdr.msgh_remote_port = c->link.tx;
  head.seq = g->sent;
  head.size = n;
  atomic_thread_fence(memory_order_release);
  int rc = ipcb__mach_send(ctx, &m.hdr, &head, sizeof head);
  if (!rc)
    g->sent++;
  return rc;
}

static int shm_recv(void *ctx, const void **p, size_t *n) {
  shm_ctx *c = ctx;
  ipcb_mach_region *g = &c->region;
  note_rcv r;
  int rc = ipcb__mach_recv(ctx, c->link.rx, &r.m.hdr, sizeof r);
  if (rc)
    return rc;
  if ((r.m.hdr.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||
      r.m.hdr.msgh_size != sizeof r.m || r.m.seq != g->received ||
      r.m.size > g->slot) {
    mach_msg_destroy(&r.m.hdr);
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "MachShm: notice of message %u (%llu bytes) where "
                     "message %u of at most %zu bytes was due",
                     r.m.seq, (unsigned long long)r.m.size, g->received,
                     g->slot);
  }
  atomic_thread_fence(memory_order_acquire);
  *p = ipcb__mach_region_slot(g, g->rx_dir, g->received);
  *n = (size_t)r.m.size;
  return 0;
}

static int shm_release(void *ctx) {
  ipcb__mach_region_release(&((shm_ctx *)ctx)->region);
  return 0;
}

static long shm_queue_depth(void *ctx, const ipcb_cfg *cfg, char *limit,
                            size_t len) {
  return ipcb__mach_queue_depth(&((shm_ctx *)ctx)->link, cfg, 1, limit, len);
}

static void shm_teardown(void *ctx, ipcb_role role) {
  shm_ctx *c = ctx;
  (void)role;
  ipcb__mach_region_close(&c->region);
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
