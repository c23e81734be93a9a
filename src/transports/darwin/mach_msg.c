/* MachMsg: mach_msg with the payload inline in the message (macOS).
 *
 * xnu copies an inline body into a kernel buffer at send and out again at
 * receive, and refuses a body above ipc_kmsg_max_body_space, 3/4 of
 * IPC_KMSG_MAX_SPACE (64 MiB) less the largest trailer (osfmk/ipc/
 * ipc_kmsg.c). Messages above CHUNK are sent as several Mach messages.
 *
 * No extra copy: each chunk's 40-byte header is written into the bytes just
 * before the chunk, which belong to the previous chunk (already sent) or to
 * spare room ahead of the buffer. The receiver receives each chunk in place
 * the same way, saving and restoring the previous chunk's last 40 bytes; the
 * trailer the kernel appends lands on the next chunk's room, or on spare room
 * after the buffer. */
#include <errno.h>
#include <mach/mach.h>
#include <stdlib.h>
#include <string.h>

#include "mach_common.h"

/* A multiple of 64 so every chunk starts on a line, well under the cap. */
#define CHUNK ((size_t)(48u << 20) - 4096)
#define SPARE 64 /* room before the payload for the first chunk's header */
#define TAIL 128 /* room after it: size rounding and the largest trailer */

typedef struct chunk_head {
  mach_msg_header_t hdr;
  uint32_t index, count;
  uint64_t total;
} chunk_head;

typedef struct machmsg_ctx {
  ipcb_mach_link link;
  size_t max;
  unsigned char *sbuf, *rbuf; /* SPARE + max + TAIL each */
} machmsg_ctx;

static size_t machmsg_max(void) { return CHUNK; }

static size_t chunks_of(size_t n) { return n ? (n + CHUNK - 1) / CHUNK : 1; }

/* xnu wants message sizes in multiples of 4 bytes. */
static mach_msg_size_t wire_size(size_t len) {
  return (mach_msg_size_t)((sizeof(chunk_head) + len + 3) & ~(size_t)3);
}

static int machmsg_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  machmsg_ctx *c = ctx;
  return ipcb__mach_setup(ctx, &c->link, cfg, rdv);
}

static int machmsg_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                          const ipcb_rdv *rdv) {
  machmsg_ctx *c = ctx;
  c->max = cfg->max_bytes;
  if (posix_memalign((void **)&c->sbuf, 64, SPARE + c->max + TAIL) ||
      posix_memalign((void **)&c->rbuf, 64, SPARE + c->max + TAIL))
    return ipcb_fail(ctx, -ENOMEM, "out of memory for %zu-byte buffers",
                     c->max);
  /* Room for the whole window where the port allows it; beyond
   * MACH_PORT_QLIMIT_MAX the sender waits for the receiver mid-window. */
  return ipcb__mach_connect(ctx, &c->link, role, cfg, rdv,
                            cfg->window * chunks_of(cfg->max_bytes), NULL, 0);
}

static long machmsg_queue_depth(void *ctx, const ipcb_cfg *cfg, char *limit,
                                size_t len) {
  machmsg_ctx *c = ctx;
  return ipcb__mach_queue_depth(&c->link, cfg, chunks_of(cfg->max_bytes), limit,
                                len);
}

static int machmsg_send_buf(void *ctx, size_t n, void **buf) {
  machmsg_ctx *c = ctx;
  (void)n;
  *buf = c->sbuf + SPARE;
  return 0;
}

static int machmsg_send(void *ctx, size_t n) {
  machmsg_ctx *c = ctx;
  size_t count = chunks_of(n);
  for (size_t i = 0; i < count; i++) {
    size_t off = i * CHUNK, len = n - off < CHUNK ? n - off : CHUNK;
    chunk_head head, *at = (chunk_head *)(c->sbuf + SPARE + off - sizeof head);
    memset(&head, 0, sizeof head);
    head.hdr.msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
    head.hdr.msgh_size = wire_size(len);
    head.hdr.msgh_remote_port = c->link.tx;
    head.index = (uint32_t)i;
    head.count = (uint32_t)count;
    head.total = n;
    int rc = ipcb__mach_send(ctx, &at->hdr, &head, sizeof head);
    if (rc)
      return rc;
  }
  return 0;
}

/* Check a chunk's header before the bytes it carries are trusted. */
static int check_chunk(void *ctx, const machmsg_ctx *c, chunk_head *h, size_t i,
                       size_t *total) {
  if (i == 0)
    *total = h->total;
  size_t count = chunks_of(*total), off = i * CHUNK;
  size_t len = *total - off < CHUNK ? *total - off : CHUNK;
  if ((h->hdr.msgh_bits & MACH_MSGH_BITS_COMPLEX) || *total > c->max ||
      h->total != *total || h->count != count || h->index != i ||
      h->hdr.msgh_size != wire_size(len)) {
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
    size_t off = i * CHUNK, room = c->max - off < CHUNK ? c->max - off : CHUNK;
    chunk_head *at = (chunk_head *)(c->rbuf + SPARE + off - sizeof *at);
    unsigned char saved[sizeof *at];
    memcpy(saved, at, sizeof saved); /* the previous chunk's last bytes */
    int rc = ipcb__mach_recv(
        ctx, c->link.rx, &at->hdr,
        wire_size(room) + (mach_msg_size_t)sizeof(mach_msg_max_trailer_t));
    if (!rc)
      rc = check_chunk(ctx, c, at, i, &total);
    memcpy(at, saved, sizeof saved);
    if (rc)
      return rc;
    count = chunks_of(total);
  }
  *p = c->rbuf + SPARE;
  *n = total;
  return 0;
}

static void machmsg_teardown(void *ctx, ipcb_role role) {
  machmsg_ctx *c = ctx;
  (void)role;
  free(c->sbuf);
  free(c->rbuf);
  c->sbuf = c->rbuf = NULL;
  ipcb__mach_close(&c->link);
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
    .send_buf = machmsg_send_buf,
    .send = machmsg_send,
    .recv = machmsg_recv,
    .teardown = machmsg_teardown,
    .queue_depth = machmsg_queue_depth,
};
