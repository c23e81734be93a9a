/* MachMsg: mach_msg with the payload inline in the message (macOS).
 *
 * xnu copies an inline body into a kernel buffer at send and out again at
 * receive, and refuses a body above ipc_kmsg_max_body_space, 3/4 of
 * IPC_KMSG_MAX_SPACE (64 MiB) less the largest trailer (osfmk/ipc/
 * ipc_kmsg.c). Larger messages are sent as several Mach messages, each
 * chunk's header written in place before it (mach_chunks.h).
 *
 * The receiver receives each chunk in place the same way, saving and
 * restoring the previous chunk's last 40 bytes; the trailer the kernel
 * appends lands on the next chunk's room, or on spare room after the
 * buffer. */
#include <errno.h>
#include <mach/mach.h>
#include <stdlib.h>
#include <string.h>

#include "mach_chunks.h"
#include "mach_common.h"

typedef struct machmsg_ctx {
  ipcb_mach_chunked mach; /* first: its functions are the table's sends */
  size_t max;
  unsigned char *rbuf; /* IPCB_MACH_SPARE + max + IPCB_MACH_TAIL */
} machmsg_ctx;

static size_t machmsg_max(void) { return IPCB_MACH_CHUNK; }

static int machmsg_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  machmsg_ctx *c = ctx;
  return ipcb__mach_setup(ctx, &c->mach.link, cfg, rdv);
}

static int machmsg_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                          const ipcb_rdv *rdv) {
  machmsg_ctx *c = ctx;
  c->max = cfg->max_bytes;
  if (posix_memalign((void **)&c->mach.sbuf, 64,
                     IPCB_MACH_SPARE + c->max + IPCB_MACH_TAIL) ||
      posix_memalign((void **)&c->rbuf, 64,
                     IPCB_MACH_SPARE + c->max + IPCB_MACH_TAIL))
    return ipcb_fail(ctx, -ENOMEM, "out of memory for %zu-byte buffers",
                     c->max);
  /* Room for the whole window where the port allows it; beyond
   * MACH_PORT_QLIMIT_MAX the sender waits for the receiver mid-window. */
  return ipcb__mach_connect(ctx, &c->mach.link, role, cfg, rdv,
                            cfg->window * ipcb__mach_chunks_of(cfg->max_bytes),
                            NULL, 0);
}

/* Check a chunk's header before the bytes it carries are trusted. */
static int check_chunk(void *ctx, const machmsg_ctx *c, ipcb_mach_chunk *h,
                       size_t i, size_t *total) {
  if (i == 0)
    *total = h->total;
  size_t count = ipcb__mach_chunks_of(*total);
  size_t len = ipcb__mach_chunk_len(*total, i);
  if ((h->hdr.msgh_bits & MACH_MSGH_BITS_COMPLEX) || *total > c->max ||
      h->total != *total || h->count != count || h->index != i ||
      h->hdr.msgh_size != ipcb__mach_wire_size(len)) {
    mach_msg_destroy(&h->hdr);
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "MachMsg: chunk %u/%u of a %llu-byte message (%u bytes) "
                     "where chunk %zu of at most %zu bytes was due",
                     h->index, h->count, (unsigned long long)h->total,
                     h->hdr.msgh_size, i, c->max);
  }
  return 0;
}

static int machmsg_recv(void *ctx, const void **p, size_t *n) {
  machmsg_ctx *c = ctx;
  size_t total = 0, count = 1;
  for (size_t i = 0; i < count; i++) {
    size_t off = i * IPCB_MACH_CHUNK, room = c->max - off < IPCB_MACH_CHUNK
                                                 ? c->max - off
                                                 : IPCB_MACH_CHUNK;
    ipcb_mach_chunk *at =
        (ipcb_mach_chunk *)(c->rbuf + IPCB_MACH_SPARE + off - sizeof *at);
    unsigned char saved[sizeof *at];
    memcpy(saved, at, sizeof saved); /* the previous chunk's last bytes */
    int rc =
        ipcb__mach_recv(ctx, c->mach.link.rx, &at->hdr,
                        ipcb__mach_wire_size(room) +
                            (mach_msg_size_t)sizeof(mach_msg_max_trailer_t));
    if (!rc)
      rc = check_chunk(ctx, c, at, i, &total);
    memcpy(at, saved, sizeof saved);
    if (rc)
      return rc;
    count = ipcb__mach_chunks_of(total);
  }
  *p = c->rbuf + IPCB_MACH_SPARE;
  *n = total;
  return 0;
}

static void machmsg_teardown(void *ctx, ipcb_role role) {
  machmsg_ctx *c = ctx;
  (void)role;
  free(c->mach.sbuf);
  free(c->rbuf);
  c->mach.sbuf = c->rbuf = NULL;
  ipcb__mach_close(&c->mach.link);
}

const ipcb_transport ipcb_tr_MachMsg = {
    .name = "MachMsg",
    .summary = "mach_msg with the payload inline (copied in and out by the "
               "kernel), chunked at 48 MiB",
    .caps = IPCB_CAP_CHUNKED,
    .ctx_size = sizeof(machmsg_ctx),
    .max_message = machmsg_max,
    .setup = machmsg_setup,
    .attach = machmsg_attach,
    .send_buf = ipcb__mach_chunked_send_buf,
    .send = ipcb__mach_chunked_send,
    .recv = machmsg_recv,
    .teardown = machmsg_teardown,
    .queue_depth = ipcb__mach_chunked_queue_depth,
};
