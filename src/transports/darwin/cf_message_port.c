/* CFMessagePort: CoreFoundation's named message ports, which run on Mach
 * messages and the run loop (macOS).
 *
 * Each side has a local port under a unique name, served by its run loop in
 * a private mode, and sends to the other's with CFMessagePortSendRequest.
 * The peer's local port is the one the peer's run loop drives; the client
 * has one too because CoreFoundation can only answer a request from inside
 * the callout, synchronously, while the core's peer loop produces its answer
 * after recv() has returned. A reply from the callout would need a second
 * thread in the peer and two thread hand-offs per round trip, which would be
 * measured as CFMessagePort's cost. So both directions are one-way requests
 * (no reply mode) and a round trip is two of them.
 *
 * The data handed to the callout points into the Mach message, which
 * CoreFoundation frees when the callout returns (CFMessagePort.h: "it must
 * COPY the data"), so the callout copies it into a receive slot.
 *
 * The run loop's own mach_msg() restarts after a signal, so waits run in
 * short slices and ask ipcb_interrupted() between them. */
#include <CoreFoundation/CoreFoundation.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipcb/transport.h"

#define MODE CFSTR("org.ipcb.CFMessagePort")
#define SLICE_S 0.02
enum { MSG_HELLO = 1, MSG_DATA = 2 };
enum { CLIENT_NAME, PEER_NAME };

typedef struct cfmp_ctx {
  CFMessagePortRef local, remote;
  CFRunLoopSourceRef source;
  CFTimeInterval send_timeout;
  size_t max;
  unsigned depth;
  unsigned char *sbuf, *rbuf; /* rbuf: depth slots of max bytes */
  size_t *rlen;
  unsigned rhead, rtail; /* slots filled by the callout, taken by recv */
  int hello, bad;
  char names[2][128];
} cfmp_ctx;

static CFDataRef on_message(CFMessagePortRef port, SInt32 msgid, CFDataRef data,
                            void *info) {
  cfmp_ctx *c = info;
  CFIndex len = data ? CFDataGetLength(data) : 0;
  (void)port;
  if (msgid == MSG_HELLO) {
    c->hello = 1;
    return NULL;
  }
  if (msgid != MSG_DATA || !c->rbuf || len < 0 || (size_t)len > c->max ||
      c->rhead - c->rtail >= c->depth) {
    c->bad = 1;
    return NULL;
  }
  unsigned i = c->rhead % c->depth;
  if (len)
    CFDataGetBytes(data, CFRangeMake(0, len), c->rbuf + (size_t)i * c->max);
  c->rlen[i] = (size_t)len;
  c->rhead++;
  return NULL; /* a one-way request: CoreFoundation sends no reply */
}

static CFStringRef cf_name(const char *name) {
  return CFStringCreateWithCString(kCFAllocatorDefault, name,
                                   kCFStringEncodingUTF8);
}

static int make_local(void *ctx, cfmp_ctx *c, const char *name) {
  CFMessagePortContext pc = {0, c, NULL, NULL, NULL};
  Boolean should_free = false;
  CFStringRef s = cf_name(name);
  c->local = s ? CFMessagePortCreateLocal(kCFAllocatorDefault, s, on_message,
                                          &pc, &should_free)
               : NULL;
  if (s)
    CFRelease(s);
  if (!c->local)
    return ipcb_fail(ctx, IPCB_EUNAVAIL,
                     "CFMessagePortCreateLocal(%s) failed: the name is taken "
                     "or the bootstrap server refused it",
                     name);
  c->source =
      CFMessagePortCreateRunLoopSource(kCFAllocatorDefault, c->local, 0);
  if (!c->source)
    return ipcb_fail(ctx, IPCB_EUNAVAIL,
                     "CFMessagePortCreateRunLoopSource(%s) failed", name);
  /* The thread that sets up is the one that receives: the session's. */
  CFRunLoopAddSource(CFRunLoopGetCurrent(), c->source, MODE);
  return 0;
}

static int make_remote(void *ctx, cfmp_ctx *c, const char *name) {
  CFStringRef s = cf_name(name);
  c->remote = s ? CFMessagePortCreateRemote(kCFAllocatorDefault, s) : NULL;
  if (s)
    CFRelease(s);
  if (!c->remote)
    return ipcb_fail(ctx, IPCB_EPEERDIED,
                     "CFMessagePortCreateRemote(%s): no such port", name);
  return 0;
}

static int send_error(void *ctx, SInt32 r) {
  switch (r) {
  case kCFMessagePortIsInvalid:
  case kCFMessagePortBecameInvalidError:
    return ipcb_fail(ctx, IPCB_EPEERDIED,
                     "CFMessagePortSendRequest: the other side's port is "
                     "invalid (%d)",
                     (int)r);
  case kCFMessagePortSendTimeout:
    return ipcb_fail(ctx, IPCB_ETIMEDOUT,
                     "CFMessagePortSendRequest: kCFMessagePortSendTimeout; "
                     "raise --ipc_timeout if the peer is only slow");
  default:
    return ipcb_fail(
        ctx, -EIO, "CFMessagePortSendRequest: kCFMessagePort error %d", (int)r);
  }
}

static int send_msg(void *ctx, cfmp_ctx *c, SInt32 id, const void *p,
                    size_t n) {
  CFDataRef d = NULL;
  if (p) {
    d = CFDataCreateWithBytesNoCopy(kCFAllocatorDefault, p, (CFIndex)n,
                                    kCFAllocatorNull);
    if (!d)
      return ipcb_fail(ctx, -ENOMEM, "CFDataCreateWithBytesNoCopy failed");
  }
  SInt32 r = CFMessagePortSendRequest(c->remote, id, d, c->send_timeout, 0,
                                      NULL, NULL);
  if (d)
    CFRelease(d);
  return r == kCFMessagePortSuccess ? 0 : send_error(ctx, r);
}

/* Run our mode's run loop until the hello, or a message, has arrived. */
static int pump(void *ctx, cfmp_ctx *c, int want_hello) {
  for (;;) {
    if (c->bad)
      return ipcb_fail(ctx, IPCB_ECORRUPT,
                       "CFMessagePort: an unexpected message, or one above "
                       "%zu bytes, or more than %u in flight",
                       c->max, c->depth);
    if (want_hello ? c->hello : c->rhead != c->rtail)
      return 0;
    CFRunLoopRunResult r = CFRunLoopRunInMode(MODE, SLICE_S, true);
    if (r == kCFRunLoopRunFinished)
      return ipcb_fail(ctx, IPCB_EUNAVAIL,
                       "CFRunLoopRunInMode: the port's source is gone");
    if (r != kCFRunLoopRunHandledSource) {
      int rc = ipcb_interrupted(ctx);
      if (rc)
        return rc;
    }
  }
}

static int alloc_buffers(void *ctx, cfmp_ctx *c, const ipcb_cfg *cfg) {
  c->max = cfg->max_bytes;
  c->depth = cfg->depth ? cfg->depth : 1;
  c->send_timeout = (CFTimeInterval)cfg->timeout_ns / 1e9;
  c->sbuf = malloc(c->max);
  c->rbuf = malloc((size_t)c->depth * c->max);
  c->rlen = calloc(c->depth, sizeof *c->rlen);
  if (!c->sbuf || !c->rbuf || !c->rlen)
    return ipcb_fail(ctx, -ENOMEM, "out of memory for %zu-byte buffers",
                     c->max);
  return 0;
}

static int cfmp_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  cfmp_ctx *c = ctx;
  char unique[64];
  int rc = alloc_buffers(ctx, c, cfg);
  if (rc)
    return rc;
  ipcb_unique_name(unique, sizeof unique);
  snprintf(c->names[CLIENT_NAME], sizeof c->names[0], "org%s.client", unique);
  snprintf(c->names[PEER_NAME], sizeof c->names[1], "org%s.peer", unique);
  for (int i = 0; i < 2; i++)
    for (char *p = c->names[i]; *p; p++)
      if (*p == '/')
        *p = '.';
  snprintf(rdv->token, sizeof rdv->token, "%s,%s", c->names[0], c->names[1]);
  return make_local(ctx, c, c->names[CLIENT_NAME]);
}

static int cfmp_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                       const ipcb_rdv *rdv) {
  cfmp_ctx *c = ctx;
  if (role == IPCB_ROLE_CLIENT) {
    int rc = pump(ctx, c, 1);
    return rc ? rc : make_remote(ctx, c, c->names[PEER_NAME]);
  }
  if (sscanf(rdv->token, "%127[^,],%127s", c->names[0], c->names[1]) != 2)
    return ipcb_fail(ctx, -EINVAL, "malformed rendezvous '%s'", rdv->token);
  int rc = alloc_buffers(ctx, c, cfg);
  if (!rc)
    rc = make_local(ctx, c, c->names[PEER_NAME]);
  if (!rc)
    rc = make_remote(ctx, c, c->names[CLIENT_NAME]);
  return rc ? rc : send_msg(ctx, c, MSG_HELLO, NULL, 0);
}

static int cfmp_send_buf(void *ctx, size_t n, void **buf) {
  (void)n;
  *buf = ((cfmp_ctx *)ctx)->sbuf;
  return 0;
}

static int cfmp_send(void *ctx, size_t n) {
  cfmp_ctx *c = ctx;
  return send_msg(ctx, c, MSG_DATA, c->sbuf, n);
}

static int cfmp_recv(void *ctx, const void **p, size_t *n) {
  cfmp_ctx *c = ctx;
  int rc = pump(ctx, c, 0);
  if (rc)
    return rc;
  unsigned i = c->rtail % c->depth;
  *p = c->rbuf + (size_t)i * c->max;
  *n = c->rlen[i];
  return 0;
}

static int cfmp_release(void *ctx) {
  ((cfmp_ctx *)ctx)->rtail++;
  return 0;
}

static void cfmp_teardown(void *ctx, ipcb_role role) {
  cfmp_ctx *c = ctx;
  (void)role;
  if (c->source) {
    CFRunLoopSourceInvalidate(c->source);
    CFRelease(c->source);
  }
  /* Invalidating a port withdraws its name from the bootstrap server. */
  if (c->local) {
    CFMessagePortInvalidate(c->local);
    CFRelease(c->local);
  }
  if (c->remote) {
    CFMessagePortInvalidate(c->remote);
    CFRelease(c->remote);
  }
  free(c->sbuf);
  free(c->rbuf);
  free(c->rlen);
  memset(c, 0, sizeof *c);
}

const ipcb_transport ipcb_tr_CFMessagePort = {
    .name = "CFMessagePort",
    .summary = "CoreFoundation message ports (Mach messages and the run "
               "loop), one-way requests each way",
    .caps = 0,
    .ctx_size = sizeof(cfmp_ctx),
    .setup = cfmp_setup,
    .attach = cfmp_attach,
    .send_buf = cfmp_send_buf,
    .send = cfmp_send,
    .recv = cfmp_recv,
    .release = cfmp_release,
    .teardown = cfmp_teardown,
};
