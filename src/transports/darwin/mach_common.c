/* Mach ports and mach_msg() that the watchdog can interrupt, for the darwin
 * transports (macOS). A helper file: it has no registry line. The bootstrap
 * rendezvous is in mach_rendezvous.c.
 *
 * Waiting. Every mach_msg() here is untimed, so the core's watchdog is the
 * one timer, as on Linux: a transport timeout would fire first (the watchdog
 * looks every 20 ms) and report MACH_RCV_TIMED_OUT instead of the deadline,
 * and the peer's slices would arm a kernel timer on every receive that the
 * benchmark then times. libsystem_kernel's mach_msg() restarts an
 * interrupted send or receive unless MACH_SEND_INTERRUPT/MACH_RCV_INTERRUPT
 * is given (xnu libsyscall/mach/mach_msg.c: the loops at lines 120-144), so
 * every call passes both: the watchdog's signal then ends the wait with
 * MACH_*_INTERRUPTED, answered with ipcb_interrupted(). */
#include <mach/mach.h>
#include <stdio.h>
#include <string.h>

#include "mach_chunks.h"
#include "mach_common.h"

int ipcb__mach_fail(void *ctx, const char *call, kern_return_t kr) {
  return ipcb_fail(ctx, IPCB_EKERN, "%s: %s (0x%x)", call,
                   mach_error_string(kr), (unsigned)kr);
}

/* An unsent message comes back in received form (osfmk/ipc/mach_msg.c:
 * ipc_kmsg_copyout_pseudo): the rights it carried are ours again, and each
 * out-of-line region a fresh mapping, which mach_msg_destroy frees only
 * where the kernel set `deallocate`, for a virtual copy alone
 * (ipc_kmsg.c, ipc_kmsg_deflate_memory_descriptor). So a returned region is
 * marked ours first, unless it is still the sender's own (at the same place
 * in `head`). Destroying our sends' own dispositions (COPY_SEND, MAKE_SEND)
 * is a no-op where nothing was taken (libsyscall mach_msg.c,
 * mach_msg_destroy_port). */
static void destroy_returned(mach_msg_header_t *msg, const void *head,
                             mach_msg_size_t head_size) {
  if (msg->msgh_bits & MACH_MSGH_BITS_COMPLEX) {
    mach_msg_body_t *body = (mach_msg_body_t *)(msg + 1);
    unsigned char *at = (unsigned char *)(body + 1);
    for (mach_msg_size_t i = 0; i < body->msgh_descriptor_count; i++) {
      mach_msg_type_descriptor_t *d = (mach_msg_type_descriptor_t *)at;
      size_t off = (size_t)(at - (unsigned char *)msg), size;
      if (d->type == MACH_MSG_PORT_DESCRIPTOR)
        size = sizeof(mach_msg_port_descriptor_t);
      else if (d->type != MACH_MSG_OOL_DESCRIPTOR)
        break; /* no other kind is sent here */
      else {
        mach_msg_ool_descriptor_t *ool = (mach_msg_ool_descriptor_t *)at;
        size = sizeof *ool;
        const mach_msg_ool_descriptor_t *sent =
            (const mach_msg_ool_descriptor_t *)((const unsigned char *)head +
                                                off);
        if (off + size <= head_size && ool->address != sent->address)
          ool->deallocate = 1;
      }
      at += size;
    }
  }
  mach_msg_destroy(msg);
}

int ipcb__mach_send(void *ctx, mach_msg_header_t *msg, const void *head,
                    mach_msg_size_t head_size) {
  for (;;) {
    memcpy(msg, head, head_size);
    kern_return_t kr =
        mach_msg(msg, MACH_SEND_MSG | MACH_SEND_INTERRUPT, msg->msgh_size, 0,
                 MACH_PORT_NULL, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
    if (kr == MACH_MSG_SUCCESS)
      return 0;
    /* A failed pseudo-receive ORs its MACH_MSG_* bits into the code
     * (osfmk/ipc/mach_msg.c, mach_msg_trap_send). */
    kr &= ~MACH_MSG_MASK;
    if (kr == MACH_SEND_INVALID_DEST) {
      /* Also when the receiver died while the send waited for room, after
       * copy-in (osfmk/ipc/ipc_mqueue.c, ipc_mqueue_send: THREAD_RESTART). */
      destroy_returned(msg, head, head_size);
      return ipcb_fail(ctx, IPCB_EPEERDIED,
                       "mach_msg(send): MACH_SEND_INVALID_DEST, the other "
                       "side's port is gone");
    }
    if (kr != MACH_SEND_INTERRUPTED)
      return ipcb__mach_fail(ctx, "mach_msg(send)", kr);
    /* Destroyed, as libsyscall's mach_msg_server does, and sent afresh. */
    destroy_returned(msg, head, head_size);
    int rc = ipcb_interrupted(ctx);
    if (rc)
      return rc;
  }
}

int ipcb__mach_recv(void *ctx, mach_port_t port, mach_msg_header_t *buf,
                    mach_msg_size_t size) {
  for (;;) {
    kern_return_t kr = mach_msg(buf, MACH_RCV_MSG | MACH_RCV_INTERRUPT, 0, size,
                                port, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
    if (kr == MACH_MSG_SUCCESS)
      return 0;
    if (kr == MACH_RCV_TOO_LARGE) /* without MACH_RCV_LARGE: dropped */
      return ipcb_fail(ctx, IPCB_ECORRUPT,
                       "mach_msg(receive): MACH_RCV_TOO_LARGE, a message "
                       "above the %u bytes expected",
                       (unsigned)size);
    if (kr != MACH_RCV_INTERRUPTED)
      return ipcb__mach_fail(ctx, "mach_msg(receive)", kr);
    int rc = ipcb_interrupted(ctx);
    if (rc)
      return rc;
  }
}

int ipcb__mach_new_port(void *ctx, unsigned qlimit, mach_port_t *out) {
  kern_return_t kr =
      mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, out);
  if (kr != KERN_SUCCESS) {
    *out = MACH_PORT_NULL;
    return ipcb__mach_fail(ctx, "mach_port_allocate(RECEIVE)", kr);
  }
  if (qlimit <= MACH_PORT_QLIMIT_DEFAULT)
    return 0;
  /* A port queues 5 messages by default; a send to a full queue blocks.
   * xnu refuses a limit above MACH_PORT_QLIMIT_MAX with KERN_INVALID_VALUE
   * (osfmk/ipc/mach_port.c:2019), so callers clamp first. */
  mach_port_limits_t limits = {.mpl_qlimit = qlimit};
  kr = mach_port_set_attributes(mach_task_self(), *out, MACH_PORT_LIMITS_INFO,
                                (mach_port_info_t)&limits,
                                MACH_PORT_LIMITS_INFO_COUNT);
  if (kr != KERN_SUCCESS)
    return ipcb__mach_fail(ctx, "mach_port_set_attributes(LIMITS_INFO)", kr);
  return 0;
}

unsigned ipcb__mach_clamp_qlimit(size_t queued) {
  return queued > MACH_PORT_QLIMIT_MAX ? MACH_PORT_QLIMIT_MAX
                                       : (unsigned)queued;
}

long ipcb__mach_queue_depth(const ipcb_mach_link *l, const ipcb_cfg *cfg,
                            size_t per_message, char *limit, size_t len) {
  size_t qlimit = l->qlimit > MACH_PORT_QLIMIT_DEFAULT
                      ? l->qlimit
                      : (size_t)MACH_PORT_QLIMIT_DEFAULT;
  size_t held = qlimit / (per_message ? per_message : 1);
  if (held >= cfg->window)
    return -1;
  snprintf(limit, len, "MACH_PORT_QLIMIT_MAX = %u", MACH_PORT_QLIMIT_MAX);
  return (long)held;
}

int ipcb__mach_chunked_send_buf(void *ctx, size_t n, void **buf) {
  ipcb_mach_chunked *c = ctx;
  (void)n;
  *buf = c->sbuf + IPCB_MACH_SPARE;
  return 0;
}

long ipcb__mach_chunked_queue_depth(void *ctx, const ipcb_cfg *cfg, char *limit,
                                    size_t len) {
  ipcb_mach_chunked *c = ctx;
  return ipcb__mach_queue_depth(
      &c->link, cfg, ipcb__mach_chunks_of(cfg->max_bytes), limit, len);
}

int ipcb__mach_chunked_send(void *ctx, size_t n) {
  ipcb_mach_chunked *c = ctx;
  unsigned char *sbuf = c->sbuf;
  mach_port_t to = c->link.tx;
  size_t count = ipcb__mach_chunks_of(n);
  for (size_t i = 0; i < count; i++) {
    size_t off = i * IPCB_MACH_CHUNK;
    ipcb_mach_chunk head,
        *at = (ipcb_mach_chunk *)(sbuf + IPCB_MACH_SPARE + off - sizeof head);
    memset(&head, 0, sizeof head);
    head.hdr.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
    head.hdr.msgh_size = ipcb__mach_wire_size(ipcb__mach_chunk_len(n, i));
    head.hdr.msgh_remote_port = to;
    head.index = (uint32_t)i;
    head.count = (uint32_t)count;
    head.total = n;
    int rc = ipcb__mach_send(ctx, &at->hdr, &head, sizeof head);
    if (rc)
      return rc;
  }
  return 0;
}
