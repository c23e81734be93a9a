/* CFMachPort: CoreFoundation's wrapper of a Mach receive right, served by
 * its run-loop source (macOS).
 *
 * Each side wraps its own receive right (the Mach rendezvous's rx) with
 * CFMachPortCreateWithPort and serves its source in a private run-loop mode
 * with the pump of cf_runloop.c; sends are MachMsg's: mach_msg to the other
 * side's port, the payload inline, in MachMsg's chunks (mach_chunks.h). So the
 * difference from MachMsg is the receive, which is what an app serving a
 * CFMachPort pays: the run loop receives into a 3 KiB buffer with
 * MACH_RCV_LARGE, a larger message stays queued (xnu
 * osfmk/ipc/ipc_mqueue.c:1220-1240) and is received again into a buffer
 * realloc'd to its size (CFRunLoop.c, __CFRunLoopServiceMachPort, 2756-2776),
 * which is freed once the callout returns (3268). Above about 3 KiB each chunk
 * thus costs a second mach_msg and an allocation, and every chunk the callout's
 * copy into the receive buffer. The payload stays inline, not out of line, so
 * that the comparison with MachMsg is of the same kernel copies. CFMachPort's
 * perform returns no reply (CFMachPort.c:486-513), so the run loop sends none
 * (CFRunLoop.c:3250-3254).
 *
 * Rights. CFMachPortCreateWithPort takes no ownership: only CFMachPortCreate
 * marks the rights as CoreFoundation's to release (CFMachPort.c:250-253,
 * 368, 166-169), and a dead-name watch is set up only on a port with send
 * rights (315), which rx is not: its one send right is the other side's.
 * The peer's death is the core's to notice, through the pump's tick. The
 * wrapper is found again by port name (269-281) until it is invalidated,
 * which removes it from that table and invalidates the source (373-408);
 * teardown invalidates first, then ipcb__mach_close destroys the rights.
 *
 * Lines: CFRunLoop.c is swift-corelibs-foundation's (Sources/CoreFoundation,
 * e55e1d88); CFMachPort.c is its last copy (CoreFoundation/RunLoop.subproj,
 * 67abb332). */
#include <CoreFoundation/CoreFoundation.h>
#include <errno.h>
#include <mach/mach.h>
#include <stdlib.h>
#include <string.h>

#include "cf_runloop.h"
#include "mach_chunks.h"
#include "mach_common.h"

#define MODE CFSTR("org.ipcb.CFMachPort")

typedef struct cfmach_ctx {
  ipcb_mach_chunked mach; /* first: its functions are the table's sends */
  ipcb_cf_pump pump;
  CFMachPortRef port;
  CFRunLoopSourceRef source;
  size_t max;
  unsigned char *rbuf; /* max: the callouts' copies */
  uint64_t total;      /* of the message being received */
  uint32_t next;       /* its next chunk */
  int whole;           /* rbuf holds it all */
  int bad;             /* the code of a refused chunk, its text filled */
} cfmach_ctx;

static size_t cfmach_max(void) { return IPCB_MACH_CHUNK; }

/* The length of the chunk due next, or -1 unless h is it. */
static long due(const cfmach_ctx *c, const ipcb_mach_chunk *h, CFIndex size) {
  uint64_t total = c->next ? c->total : h->total;
  if (c->whole || (h->hdr.msgh_bits & MACH_MSGH_BITS_COMPLEX) || total > c->max)
    return -1;
  size_t len = ipcb__mach_chunk_len(total, c->next);
  if (h->total != total || h->count != ipcb__mach_chunks_of(total) ||
      h->index != c->next || (mach_msg_size_t)size != ipcb__mach_wire_size(len))
    return -1;
  return (long)len;
}

/* The run loop's buffer is freed on return, so the bytes are copied out;
 * the header too, since the run loop's buffer on its stack is a byte array
 * that promises no 8-byte alignment. A refused message is destroyed, which
 * releases any right or region it carried; the run loop has already taken its
 * voucher out of the header (CFRunLoop.c:2738, voucher_mach_msg_adopt;
 * libdispatch voucher_internal.h, _voucher_mach_msg_get). */
static void on_chunk(CFMachPortRef port, void *msg, CFIndex size, void *info) {
  cfmach_ctx *c = info;
  ipcb_mach_chunk h;
  long len = -1;
  mach_msg_id_t id = ((mach_msg_header_t *)msg)->msgh_id;
  (void)port;
  memset(&h, 0, sizeof h);
  if (size >= (CFIndex)sizeof h) {
    memcpy(&h, msg, sizeof h);
    len = due(c, &h, size);
  }
  if (len < 0 || c->bad) {
    mach_msg_destroy(msg);
    if (!c->bad)
      c->bad = ipcb_fail(c, IPCB_ECORRUPT,
                         "CFMachPort: a %ld-byte message (id %d, chunk %u/%u "
                         "of %llu bytes) where chunk %u of a message of at "
                         "most %zu bytes was due%s",
                         (long)size, id, h.index, h.count,
                         (unsigned long long)h.total, (unsigned)c->next, c->max,
                         c->whole ? ", a whole one not yet taken" : "");
    return;
  }
  c->total = h.total;
  memcpy(c->rbuf + (size_t)c->next * IPCB_MACH_CHUNK,
         (const unsigned char *)msg + sizeof h, (size_t)len);
  if (++c->next == h.count)
    c->whole = 1;
}

static int whole_or_bad(void *ctx) {
  cfmach_ctx *c = ctx;
  return c->bad ? c->bad : c->whole;
}

static int cfmach_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  cfmach_ctx *c = ctx;
  return ipcb__mach_setup(ctx, &c->mach.link, cfg, rdv);
}

/* A wrapper found by name belongs to someone else (shouldFreeInfo stays
 * true, CFMachPort.c:255, 313), and so would its callout and context. */
static int wrap(void *ctx, cfmach_ctx *c) {
  CFMachPortContext pc = {0, c, NULL, NULL, NULL};
  Boolean should_free = false;
  c->port = CFMachPortCreateWithPort(kCFAllocatorDefault, c->mach.link.rx,
                                     on_chunk, &pc, &should_free);
  if (c->port && should_free) {
    CFRelease(c->port);
    c->port = NULL;
    return ipcb_fail(ctx, IPCB_EUNAVAIL,
                     "CFMachPortCreateWithPort(0x%x): the port already has a "
                     "CFMachPort, with another callout",
                     (unsigned)c->mach.link.rx);
  }
  if (!c->port)
    return ipcb_fail(ctx, IPCB_EUNAVAIL,
                     "CFMachPortCreateWithPort(0x%x) failed",
                     (unsigned)c->mach.link.rx);
  c->source = CFMachPortCreateRunLoopSource(kCFAllocatorDefault, c->port, 0);
  if (!c->source)
    return ipcb_fail(ctx, IPCB_EUNAVAIL,
                     "CFMachPortCreateRunLoopSource(0x%x) failed",
                     (unsigned)c->mach.link.rx);
  /* attach runs on the session's thread, the one that receives. */
  int rc = ipcb__cf_pump_start(ctx, &c->pump, MODE);
  if (!rc)
    ipcb__cf_pump_add(&c->pump, c->source);
  return rc;
}

static int cfmach_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                         const ipcb_rdv *rdv) {
  cfmach_ctx *c = ctx;
  c->max = cfg->max_bytes;
  if (posix_memalign((void **)&c->mach.sbuf, 64,
                     IPCB_MACH_SPARE + c->max + IPCB_MACH_TAIL) ||
      posix_memalign((void **)&c->rbuf, 64, c->max ? c->max : 1))
    return ipcb_fail(ctx, -ENOMEM, "out of memory for %zu-byte buffers",
                     c->max);
  /* As MachMsg: room for the whole window where the port allows it. */
  int rc = ipcb__mach_connect(
      ctx, &c->mach.link, role, cfg, rdv,
      cfg->window * ipcb__mach_chunks_of(cfg->max_bytes), NULL, 0);
  return rc ? rc : wrap(ctx, c);
}

/* Each run of the pump hands one chunk to on_chunk; the next message waits
 * in the port's queue until the next recv(). */
static int cfmach_recv(void *ctx, const void **p, size_t *n) {
  cfmach_ctx *c = ctx;
  c->whole = 0;
  c->next = 0;
  c->total = 0;
  int rc = ipcb__cf_pump_run(ctx, &c->pump, whole_or_bad);
  if (rc)
    return rc;
  *p = c->rbuf;
  *n = (size_t)c->total;
  return 0;
}

static void cfmach_teardown(void *ctx, ipcb_role role) {
  cfmach_ctx *c = ctx;
  (void)role;
  ipcb__cf_pump_stop(&c->pump);
  if (c->port) { /* invalidates its source too, which retains it */
    CFMachPortInvalidate(c->port);
    CFRelease(c->port);
  }
  if (c->source) {
    CFRunLoopSourceInvalidate(c->source);
    CFRelease(c->source);
  }
  c->port = NULL;
  c->source = NULL;
  ipcb__mach_close(&c->mach.link);
  free(c->mach.sbuf);
  free(c->rbuf);
  c->mach.sbuf = c->rbuf = NULL;
}

const ipcb_transport ipcb_tr_CFMachPort = {
    .name = "CFMachPort",
    .summary = "CoreFoundation's CFMachPort and its run-loop source receiving "
               "MachMsg's inline messages (chunked at 48 MiB); above ~3 KiB "
               "the run loop receives twice, into a buffer it allocates",
    .caps = IPCB_CAP_CHUNKED,
    .ctx_size = sizeof(cfmach_ctx),
    .max_message = cfmach_max,
    .setup = cfmach_setup,
    .attach = cfmach_attach,
    .send_buf = ipcb__mach_chunked_send_buf,
    .send = ipcb__mach_chunked_send,
    .recv = cfmach_recv,
    .teardown = cfmach_teardown,
    .queue_depth = ipcb__mach_chunked_queue_depth,
};
