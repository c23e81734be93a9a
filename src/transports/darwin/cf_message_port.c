/* CFMessagePort: CoreFoundation's named message ports, which run on Mach
 * messages and the run loop (macOS).
 *
 * Each side has a local port under a unique name, served by its run loop in
 * a private mode, and sends to the other's with CFMessagePortSendRequest.
 * CoreFoundation answers a request only from inside the callout, and the
 * core's peer answers after recv() returns, so a reply would cost a second
 * peer thread and two hand-offs per round trip: both directions are one-way
 * requests instead. Each still costs the receiver a failing send: the
 * callout path builds a reply to the absent reply port (CFMessagePort.c,
 * __CFMessagePortPerform), the run loop sends it (CFRunLoop.c, after
 * __CFRunLoopDoSource1), and the kernel refuses it (xnu ipc_kmsg.c,
 * ipc_kmsg_copyin_header_validate). The callout copies the data it is
 * handed, which CoreFoundation frees on return (CFMessagePort.h).
 *
 * Waiting. A receive is the run-loop pump of cf_runloop.c. A send's
 * mach_msg() passes no MACH_SEND_INTERRUPT either, so libsyscall restarts it
 * after the watchdog's signal, with the timeout it had (xnu
 * libsyscall/mach/mach_msg.c:120-129). A send blocks only while the other
 * side's port is full (MACH_PORT_QLIMIT_DEFAULT = 5: CoreFoundation sets no
 * limit), and waits ATTEMPT_S at most before it asks ipcb_interrupted(): a
 * longer timeout, renewed at every signal, would never run out. The kernel arms
 * that timer only at a full queue (ipc_mqueue.c:473-502); CoreFoundation does
 * not destroy a message whose send timed out, so each such attempt leaks the
 * returned copy of a payload sent out of line.
 *
 * Names. __CFMessagePortCreateLocal publishes the name (bootstrap_check_in,
 * else bootstrap_register2) and nothing in CoreFoundation withdraws it.
 * launchd ends the service once the port dies; each side also withdraws its
 * own name by registering MACH_PORT_NULL (as servo's ipc-channel does). Any
 * process of the user may send to either name: at worst it fails the
 * session (an unexpected message). */
#include <CoreFoundation/CoreFoundation.h>
#include <errno.h>
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf_runloop.h"
#include "ipcb/transport.h"

/* Exported by libSystem (liblaunch), declared in no public header. */
extern kern_return_t bootstrap_register2(mach_port_t bp, name_t service_name,
                                         mach_port_t sp, uint64_t flags);

#define MODE CFSTR("org.ipcb.CFMessagePort")
/* Below the watchdog's 20 ms period, so that a restarted send still ends. */
#define ATTEMPT_S 0.01
enum { MSG_HELLO = 1, MSG_DATA = 2 };
enum { CLIENT_NAME, PEER_NAME };

typedef struct cfmp_ctx {
  CFMessagePortRef local, remote;
  CFRunLoopSourceRef source;
  ipcb_cf_pump pump;
  size_t max;
  unsigned depth;
  unsigned char *sbuf, *rbuf; /* rbuf: depth slots of max bytes */
  size_t *rlen;
  unsigned rhead, rtail; /* slots filled by the callout, taken by recv */
  int hello, bad;
  int withdrawn[2];
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
  return NULL; /* no reply data; CoreFoundation still tries to send one */
}

/* Registering MACH_PORT_NULL under a name removes it (launchd-842 core.c,
 * job_mig_register2, 8966-9020), which only its owner may, and not while
 * launchd calls the service active (9010-9013); launchd also deletes the
 * service itself once it has taken the port's death notice (7104-7108).
 * So one try when the name is no longer needed and one at teardown, once
 * the port is gone; no waiting, which ColdStart would time. */
static void withdraw(cfmp_ctx *c, int which) {
  if (!c->names[which][0] || c->withdrawn[which])
    return;
  kern_return_t kr =
      bootstrap_register2(bootstrap_port, c->names[which], MACH_PORT_NULL, 0);
  c->withdrawn[which] = kr == KERN_SUCCESS || kr == BOOTSTRAP_UNKNOWN_SERVICE;
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
  int rc = ipcb__cf_pump_start(ctx, &c->pump, MODE);
  if (!rc)
    ipcb__cf_pump_add(&c->pump, c->source);
  return rc;
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
  case kCFMessagePortTransportError:
    /* Every mach_msg() failure but MACH_SEND_TIMED_OUT (CFMessagePort.c,
     * CFMessagePortSendRequest), and with our sizes the one that occurs is
     * a dead port's MACH_SEND_INVALID_DEST; the session adds the peer's
     * status when it is gone. */
    return ipcb_fail(ctx, IPCB_EPEERDIED,
                     "CFMessagePortSendRequest: kCFMessagePortTransportError, "
                     "taken as the other side's port gone (CoreFoundation "
                     "reports MACH_SEND_INVALID_DEST so)");
  case kCFMessagePortIsInvalid:
  case kCFMessagePortBecameInvalidError:
    /* CFMachPort's dead-name watch invalidated it (CFMachPort.c). */
    return ipcb_fail(ctx, IPCB_EPEERDIED,
                     "CFMessagePortSendRequest: the other side's port is "
                     "invalid (%d): CoreFoundation saw its receive right die",
                     (int)r);
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
  int rc = 0;
  for (;;) {
    SInt32 r =
        CFMessagePortSendRequest(c->remote, id, d, ATTEMPT_S, 0, NULL, NULL);
    if (r == kCFMessagePortSuccess)
      break;
    rc = r == kCFMessagePortSendTimeout ? ipcb_interrupted(ctx)
                                        : send_error(ctx, r);
    if (rc)
      break;
  }
  if (d)
    CFRelease(d);
  return rc;
}

static int refused(void *ctx, const cfmp_ctx *c) {
  return ipcb_fail(ctx, IPCB_ECORRUPT,
                   "CFMessagePort: an unexpected message, or one above %zu "
                   "bytes, or more than %u in flight",
                   c->max, c->depth);
}

/* What the pump waits for: the hello, or a message. */
static int hello_ready(void *ctx) {
  cfmp_ctx *c = ctx;
  return c->bad ? refused(ctx, c) : c->hello;
}

static int data_ready(void *ctx) {
  cfmp_ctx *c = ctx;
  return c->bad ? refused(ctx, c) : c->rhead != c->rtail;
}

static int alloc_buffers(void *ctx, cfmp_ctx *c, const ipcb_cfg *cfg) {
  c->max = cfg->max_bytes;
  c->depth = cfg->window ? cfg->window : 1;
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

/* Each side's hello says it holds the other's port, whose name then goes:
 * the peer sends its own once it has looked the client's up, the client
 * answers once it has looked the peer's up. */
static int cfmp_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                       const ipcb_rdv *rdv) {
  cfmp_ctx *c = ctx;
  int rc;
  if (role == IPCB_ROLE_CLIENT) {
    if ((rc = ipcb__cf_pump_run(ctx, &c->pump, hello_ready)) != 0)
      return rc;
    withdraw(c, CLIENT_NAME);
    rc = make_remote(ctx, c, c->names[PEER_NAME]);
    return rc ? rc : send_msg(ctx, c, MSG_HELLO, NULL, 0);
  }
  if (sscanf(rdv->token, "%127[^,],%127s", c->names[0], c->names[1]) != 2)
    return ipcb_fail(ctx, -EINVAL, "malformed rendezvous '%s'", rdv->token);
  c->withdrawn[CLIENT_NAME] = 1; /* the client's to withdraw, not ours */
  rc = alloc_buffers(ctx, c, cfg);
  if (!rc)
    rc = make_local(ctx, c, c->names[PEER_NAME]);
  if (!rc)
    rc = make_remote(ctx, c, c->names[CLIENT_NAME]);
  if (!rc)
    rc = send_msg(ctx, c, MSG_HELLO, NULL, 0);
  if (!rc)
    rc = ipcb__cf_pump_run(ctx, &c->pump, hello_ready);
  if (!rc)
    withdraw(c, PEER_NAME);
  return rc;
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
  int rc = ipcb__cf_pump_run(ctx, &c->pump, data_ready);
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

/* The client's port, made as the peer's is, reached through its source's
 * getPort: CFMessagePort hands its Mach port only to the run loop. */
static long cfmp_queue_depth(void *ctx, const ipcb_cfg *cfg, char *limit,
                             size_t len) {
  cfmp_ctx *c = ctx;
  CFRunLoopSourceContext1 sc;
  mach_port_limits_t lim = {MACH_PORT_QLIMIT_DEFAULT};
  mach_msg_type_number_t count = MACH_PORT_LIMITS_INFO_COUNT;
  if (!c->source)
    return -1;
  memset(&sc, 0, sizeof sc);
  sc.version = 1;
  CFRunLoopSourceGetContext(c->source, (CFRunLoopSourceContext *)&sc);
  mach_port_t port = sc.getPort ? sc.getPort(sc.info) : MACH_PORT_NULL;
  if (port == MACH_PORT_NULL ||
      mach_port_get_attributes(mach_task_self(), port, MACH_PORT_LIMITS_INFO,
                               (mach_port_info_t)&lim, &count) != KERN_SUCCESS)
    lim.mpl_qlimit = MACH_PORT_QLIMIT_DEFAULT;
  if (lim.mpl_qlimit >= cfg->window)
    return -1;
  snprintf(limit, len, "CFMessagePort's Mach port, %s = %u",
           lim.mpl_qlimit == MACH_PORT_QLIMIT_DEFAULT
               ? "MACH_PORT_QLIMIT_DEFAULT"
               : "mpl_qlimit",
           (unsigned)lim.mpl_qlimit);
  return (long)lim.mpl_qlimit;
}

static void cfmp_teardown(void *ctx, ipcb_role role) {
  cfmp_ctx *c = ctx;
  (void)role;
  ipcb__cf_pump_stop(&c->pump);
  if (c->source) {
    CFRunLoopSourceInvalidate(c->source);
    CFRelease(c->source);
  }
  if (c->local) {
    CFMessagePortInvalidate(c->local);
    CFRelease(c->local);
  }
  if (c->remote) {
    CFMessagePortInvalidate(c->remote);
    CFRelease(c->remote);
  }
  /* The ports are gone. The client tries the peer's name too: the session
   * SIGKILLs the peer, whose own teardown then never runs. */
  withdraw(c, CLIENT_NAME);
  withdraw(c, PEER_NAME);
  free(c->sbuf);
  free(c->rbuf);
  free(c->rlen);
  memset(c, 0, sizeof *c);
}

const ipcb_transport ipcb_tr_CFMessagePort = {
    .name = "CFMessagePort",
    .summary = "CoreFoundation message ports (Mach messages and the run "
               "loop), one-way requests each way; CF also makes one failing "
               "reply mach_msg per message received",
    .caps = 0,
    .ctx_size = sizeof(cfmp_ctx),
    .setup = cfmp_setup,
    .attach = cfmp_attach,
    .send_buf = cfmp_send_buf,
    .send = cfmp_send,
    .recv = cfmp_recv,
    .release = cfmp_release,
    .teardown = cfmp_teardown,
    .queue_depth = cfmp_queue_depth,
};
