/* MachOOL: mach_msg with one out-of-line descriptor per message, virtual copy
 * (macOS). The implementation is shared with MachOOLPhysical.
 *
 * The sender writes into one region it vm_allocate'd at attach and sends it
 * with deallocate false, so it keeps the region. With MACH_MSG_VIRTUAL_COPY
 * xnu copies a region above 16 KiB (x86_64) or 32 KiB (arm64) by mapping its
 * pages copy-on-write in both tasks, and smaller ones physically. The next
 * stamping of the sender's region then takes the copy-on-write faults the
 * send deferred: that cost belongs to the mechanism and is measured, by
 * design. The receiver gets a fresh mapping per message and vm_deallocates
 * it at release, which the design also counts. */
#include <errno.h>
#include <mach/mach.h>
#include <string.h>

#include "mach_common.h"

typedef struct ool_msg {
  mach_msg_header_t hdr;
  mach_msg_body_t body;
  mach_msg_ool_descriptor_t ool;
} ool_msg;
typedef struct ool_rcv {
  ool_msg m;
  mach_msg_max_trailer_t trailer;
} ool_rcv;

int ipcb__ool_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  ipcb_ool_ctx *c = ctx;
  return ipcb__mach_setup(ctx, &c->link, cfg, rdv);
}

int ipcb__ool_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                     const ipcb_rdv *rdv) {
  ipcb_ool_ctx *c = ctx;
  c->max = cfg->max_bytes;
  if (c->max > UINT32_MAX) /* mach_msg_ool_descriptor_t.size is 32 bits */
    return ipcb_fail(ctx, IPCB_ELIMIT,
                     "an out-of-line descriptor carries at most 4 GiB - 1");
  int rc =
      ipcb__mach_connect(ctx, &c->link, role, cfg, rdv, cfg->window, NULL, 0);
  if (rc)
    return rc;
  c->sbuf_size = round_page(c->max);
  kern_return_t kr =
      vm_allocate(mach_task_self(), &c->sbuf, c->sbuf_size, VM_FLAGS_ANYWHERE);
  if (kr != KERN_SUCCESS) {
    c->sbuf = 0;
    return ipcb__mach_fail(ctx, "vm_allocate", kr);
  }
  return 0;
}

int ipcb__ool_send_buf(void *ctx, size_t n, void **buf) {
  ipcb_ool_ctx *c = ctx;
  (void)n;
  *buf = (void *)c->sbuf;
  return 0;
}

int ipcb__ool_send(void *ctx, size_t n) {
  ipcb_ool_ctx *c = ctx;
  ool_msg m, head;
  memset(&head, 0, sizeof head);
  head.hdr.msgh_bits =
      MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  head.hdr.msgh_size = sizeof head;
  head.hdr.msgh_remote_port = c->link.tx;
  head.body.msgh_descriptor_count = 1;
  head.ool.address = (void *)c->sbuf;
  head.ool.size = (mach_msg_size_t)n;
  head.ool.deallocate = 0; /* the region is reused for the next message */
  head.ool.copy = c->copy;
  head.ool.type = MACH_MSG_OOL_DESCRIPTOR;
  return ipcb__mach_send(ctx, &m.hdr, &head, sizeof head);
}

int ipcb__ool_recv(void *ctx, const void **p, size_t *n) {
  ipcb_ool_ctx *c = ctx;
  ool_rcv r;
  int rc = ipcb__mach_recv(ctx, c->link.rx, &r.m.hdr, sizeof r);
  if (rc)
    return rc;
  if (!(r.m.hdr.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||
      r.m.hdr.msgh_size != sizeof r.m || r.m.body.msgh_descriptor_count != 1 ||
      r.m.ool.type != MACH_MSG_OOL_DESCRIPTOR || r.m.ool.size > c->max) {
    mach_msg_destroy(&r.m.hdr); /* frees whatever memory it carried */
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "mach_msg: expected one out-of-line region of at most "
                     "%zu bytes (message id %d, %u bytes)",
                     c->max, r.m.hdr.msgh_id, r.m.hdr.msgh_size);
  }
  c->got = (vm_address_t)r.m.ool.address;
  c->got_size = r.m.ool.size;
  *p = r.m.ool.address;
  *n = r.m.ool.size;
  return 0;
}

/* The kernel mapped the region into our space; it is ours to remove. */
int ipcb__ool_release(void *ctx) {
  ipcb_ool_ctx *c = ctx;
  kern_return_t kr = KERN_SUCCESS;
  if (c->got_size)
    kr = vm_deallocate(mach_task_self(), c->got, c->got_size);
  c->got = 0;
  c->got_size = 0;
  return kr == KERN_SUCCESS ? 0 : ipcb__mach_fail(ctx, "vm_deallocate", kr);
}

void ipcb__ool_teardown(void *ctx, ipcb_role role) {
  ipcb_ool_ctx *c = ctx;
  (void)role;
  ipcb__ool_release(ctx);
  if (c->sbuf)
    vm_deallocate(mach_task_self(), c->sbuf, c->sbuf_size);
  c->sbuf = 0;
  ipcb__mach_close(&c->link);
}

long ipcb__ool_queue_depth(void *ctx, const ipcb_cfg *cfg, char *limit,
                           size_t len) {
  return ipcb__mach_queue_depth(&((ipcb_ool_ctx *)ctx)->link, cfg, 1, limit,
                                len);
}

static int virtual_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  ((ipcb_ool_ctx *)ctx)->copy = MACH_MSG_VIRTUAL_COPY;
  return ipcb__ool_setup(ctx, cfg, rdv);
}

static int virtual_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                          const ipcb_rdv *rdv) {
  ((ipcb_ool_ctx *)ctx)->copy = MACH_MSG_VIRTUAL_COPY;
  return ipcb__ool_attach(ctx, role, cfg, rdv);
}

const ipcb_transport ipcb_tr_MachOOL = {
    .name = "MachOOL",
    .summary = "mach_msg with an out-of-line descriptor, "
               "MACH_MSG_VIRTUAL_COPY (copy-on-write above 16/32 KiB)",
    .caps = IPCB_CAP_ZERO_COPY,
    .ctx_size = sizeof(ipcb_ool_ctx),
    .setup = virtual_setup,
    .attach = virtual_attach,
    .send_buf = ipcb__ool_send_buf,
    .send = ipcb__ool_send,
    .recv = ipcb__ool_recv,
    .release = ipcb__ool_release,
    .teardown = ipcb__ool_teardown,
    .queue_depth = ipcb__ool_queue_depth,
};
