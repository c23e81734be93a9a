/* XPC: libxpc peer-to-peer messages, the payload as XPC data in a
 * dictionary, one message each way per round trip (macOS).
 *
 * The rendezvous. A process that launchd did not start cannot listen on a
 * Mach service name of its own: XPC_CONNECTION_MACH_SERVICE_LISTENER "may
 * only be passed for services which are advertised in the process'
 * launchd.plist(5). You may not use this flag to dynamically add services"
 * (xpc/connection.h, at the flag). A launchd job submitted for the run
 * would be started by launchd, not by the core, and would outlive a crash.
 * So the client makes an anonymous listener (xpc_connection_create(NULL)),
 * takes a send right to its port with xpc_endpoint_copy_listener_port_4sim
 * and hands it to the peer as an extra right of the Mach rendezvous
 * (mach_rendezvous.c), whose name is withdrawn as soon as the peer has
 * called; the peer wraps the right in an endpoint with
 * xpc_endpoint_create_mach_port_4sim, which adopts it, and connects. Both
 * calls are exported by libxpc but declared in no header; they are looked
 * up at run time so that a libxpc without them is reported, not a crash at
 * load. Nothing is registered with launchd beyond the rendezvous name.
 *
 * The handshake: the peer's first message makes the listener hand the
 * client a connection (libxpc connects lazily), the client checks that it
 * comes from the peer it spawned and answers, and only then does either
 * side send data.
 *
 * Payload: the sender writes into a fresh buffer which becomes the XPC data
 * with no copy (dispatch data with the free destructor: libxpc may map it
 * at any time, xpc.h at xpc_data_create_with_dispatch_data); the receiver
 * reads xpc_data_get_bytes_ptr of the message, kept until release(). The
 * bridge (xpc_bridge.c) carries each message from libxpc's dispatch queue
 * to the receiving thread. */
#include <dispatch/dispatch.h>
#include <dlfcn.h>
#include <errno.h>
#include <mach/mach.h>
#include <pthread/qos.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xpc/xpc.h>

#include "mach_common.h"
#include "xpc_bridge.h"

typedef mach_port_t (*copy_port_fn)(xpc_endpoint_t);
typedef xpc_endpoint_t (*from_port_fn)(mach_port_t);
static const char *const COPY_PORT = "xpc_endpoint_copy_listener_port_4sim";
static const char *const FROM_PORT = "xpc_endpoint_create_mach_port_4sim";
#define KEY_DATA "d"
#define KEY_HELLO "h"

typedef struct xpcx_ctx {
  ipcb_mach_link link;
  dispatch_queue_t q;
  ipcb_xpc_bridge *bridge;
  xpc_connection_t listener, conn;
  xpc_object_t got;    /* the message recv() returned, until release() */
  unsigned char *sbuf; /* the next message, until send() hands it over */
  size_t max;
} xpcx_ctx;

static int lookup(copy_port_fn *copy_port, from_port_fn *from_port) {
  *copy_port = (copy_port_fn)dlsym(RTLD_DEFAULT, COPY_PORT);
  *from_port = (from_port_fn)dlsym(RTLD_DEFAULT, FROM_PORT);
  return *copy_port && *from_port;
}

#define MISSING_ENTRY_POINTS                                                   \
  "libxpc exports no %s or %s, which carry an anonymous listener's endpoint "  \
  "across the Mach rendezvous; without them only a launchd job's "             \
  "MachServices name could (a libxpc that exports them would make it work)"

static int xpcx_probe(char *why, size_t len) {
  copy_port_fn copy_port;
  from_port_fn from_port;
  if (lookup(&copy_port, &from_port))
    return 0;
  snprintf(why, len, MISSING_ENTRY_POINTS, COPY_PORT, FROM_PORT);
  return IPCB_EUNAVAIL;
}

/* What ended the connection, said for the phase it ended in. */
static int ended(void *ctx, int why, int refused) {
  switch (why) {
  case IPCB_XPC_LISTENER:
    return ipcb_fail(ctx, IPCB_EUNAVAIL,
                     "XPC: the anonymous listener went invalid before the "
                     "peer connected (XPC_ERROR_CONNECTION_INVALID)");
  case IPCB_XPC_OVERFLOW:
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "XPC: more messages arrived than the window allows");
  default:
    if (refused)
      return ipcb_fail(
          ctx, IPCB_EUNAVAIL,
          "XPC: the connection made from the listener's Mach port (%s) went "
          "invalid before the client answered: this libxpc refuses an "
          "endpoint rebuilt from a port; an endpoint carried inside an XPC "
          "message, which needs a launchd job's MachServices name, would "
          "make it work",
          FROM_PORT);
    return ipcb_fail(ctx, IPCB_EPEERDIED, "XPC: %s, the other side is gone",
                     why == IPCB_XPC_INTERRUPTED
                         ? "XPC_ERROR_CONNECTION_INTERRUPTED"
                         : "XPC_ERROR_CONNECTION_INVALID");
  }
}

static int setup_queue(void *ctx, xpcx_ctx *c, const ipcb_cfg *cfg) {
  c->max = cfg->max_bytes;
  /* The handlers' thread runs at the session thread's class: at the
   * default one, a session run as user-interactive would have each message
   * handed over by a thread the scheduler may place on a slower core. An
   * unspecified class gives NULL, which is DISPATCH_QUEUE_SERIAL itself
   * (dispatch/queue.h, dispatch_queue_attr_make_with_qos_class). */
  dispatch_queue_attr_t attr = dispatch_queue_attr_make_with_qos_class(
      DISPATCH_QUEUE_SERIAL, qos_class_self(), 0);
  c->q = dispatch_queue_create("org.ipcb.XPC", attr);
  if (c->q)
    c->bridge = ipcb__xpc_bridge_new(cfg->window + 1, c->q); /* + the hello */
  if (!c->bridge)
    return ipcb_fail(ctx, -ENOMEM, "XPC: out of memory for the queue");
  return 0;
}

static int send_msg(void *ctx, xpcx_ctx *c, const char *key, xpc_object_t v) {
  int why = ipcb__xpc_bridge_fault(c->bridge);
  if (why) {
    xpc_release(v);
    return ended(ctx, why, 0);
  }
  xpc_object_t msg = xpc_dictionary_create(NULL, NULL, 0);
  xpc_dictionary_set_value(msg, key, v);
  xpc_release(v);
  xpc_connection_send_message(c->conn, msg);
  xpc_release(msg);
  return 0;
}

/* The other side's hello; anything else is a broken handshake. The peer
 * takes a connection that ends before the hello for a refused endpoint;
 * the client, for a peer gone. */
static int await_hello(void *ctx, xpcx_ctx *c, int refused) {
  xpc_object_t msg = NULL;
  int rc = ipcb__xpc_bridge_take(ctx, c->bridge, &msg);
  if (rc > 0)
    return ended(ctx, rc, refused);
  if (rc)
    return rc;
  int ok = xpc_dictionary_get_value(msg, KEY_HELLO) != NULL;
  xpc_release(msg);
  return ok ? 0
            : ipcb_fail(ctx, IPCB_ECORRUPT, "XPC: data before the handshake");
}

static int make_listener(void *ctx, xpcx_ctx *c, mach_port_t *port) {
  copy_port_fn copy_port;
  from_port_fn from_port;
  if (!lookup(&copy_port, &from_port))
    return ipcb_fail(ctx, IPCB_EUNAVAIL, MISSING_ENTRY_POINTS, COPY_PORT,
                     FROM_PORT);
  c->listener = xpc_connection_create(NULL, c->q);
  if (!c->listener)
    return ipcb_fail(ctx, IPCB_EUNAVAIL, "xpc_connection_create(NULL) failed");
  ipcb__xpc_bridge_listen(c->bridge, c->listener);
  /* An endpoint needs a resumed listener; the port is a send right of ours
   * that outlives the endpoint. */
  xpc_endpoint_t ep = xpc_endpoint_create(c->listener);
  *port = ep ? copy_port(ep) : MACH_PORT_NULL;
  if (ep)
    xpc_release(ep);
  if (!MACH_PORT_VALID(*port))
    return ipcb_fail(ctx, IPCB_EUNAVAIL,
                     "XPC: %s gave no port for the anonymous listener's "
                     "endpoint",
                     COPY_PORT);
  return 0;
}

static int client_attach(void *ctx, xpcx_ctx *c, const ipcb_cfg *cfg,
                         const ipcb_rdv *rdv) {
  mach_port_t port = MACH_PORT_NULL;
  int rc = make_listener(ctx, c, &port);
  if (!rc)
    rc = ipcb__mach_connect(ctx, &c->link, IPCB_ROLE_CLIENT, cfg, rdv, 1, &port,
                            1);
  if (MACH_PORT_VALID(port)) /* the peer holds its own copy now */
    mach_port_deallocate(mach_task_self(), port);
  if (!rc)
    rc = await_hello(ctx, c, 0);
  if (rc)
    return rc;
  /* Not before: the peer may not have received our Mach hello yet, and a
   * right to a port destroyed in transit reaches it as MACH_PORT_DEAD
   * (osfmk/ipc/ipc_object.c, ipc_object_copyout: KERN_INVALID_CAPABILITY;
   * ipc_kmsg.c, ipc_kmsg_copyout_port), which its rendezvous refuses. Its
   * XPC hello comes after it has. */
  ipcb__mach_close(&c->link);
  c->conn = ipcb__xpc_bridge_claim(c->bridge);
  pid_t from = c->conn ? xpc_connection_get_pid(c->conn) : 0;
  if (from != (pid_t)ipcb_other_pid(ctx))
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "XPC: the listener's first connection came from pid %d, "
                     "not from the peer (pid %d)",
                     (int)from, ipcb_other_pid(ctx));
  return send_msg(ctx, c, KEY_HELLO, xpc_bool_create(true));
}

static int peer_attach(void *ctx, xpcx_ctx *c, const ipcb_cfg *cfg,
                       const ipcb_rdv *rdv) {
  copy_port_fn copy_port;
  from_port_fn from_port;
  mach_port_t port = MACH_PORT_NULL;
  int rc =
      ipcb__mach_connect(ctx, &c->link, IPCB_ROLE_PEER, cfg, rdv, 1, &port, 1);
  ipcb__mach_close(&c->link);
  if (!rc && !MACH_PORT_VALID(port))
    rc = ipcb_fail(ctx, IPCB_ECORRUPT,
                   "rendezvous: the client sent no listener port");
  if (!rc && !lookup(&copy_port, &from_port))
    rc = ipcb_fail(ctx, IPCB_EUNAVAIL, MISSING_ENTRY_POINTS, COPY_PORT,
                   FROM_PORT);
  xpc_endpoint_t ep = rc ? NULL : from_port(port);
  if (!ep) {
    if (MACH_PORT_VALID(port))
      mach_port_deallocate(mach_task_self(), port);
    return rc ? rc
              : ipcb_fail(ctx, IPCB_EUNAVAIL, "XPC: %s refused the port",
                          FROM_PORT);
  }
  c->conn = xpc_connection_create_from_endpoint(ep);
  xpc_release(ep); /* the endpoint owned the port */
  if (!c->conn)
    return ipcb_fail(ctx, IPCB_EUNAVAIL,
                     "xpc_connection_create_from_endpoint failed");
  ipcb__xpc_bridge_serve(c->bridge, c->conn);
  rc = send_msg(ctx, c, KEY_HELLO, xpc_bool_create(true));
  return rc ? rc : await_hello(ctx, c, 1);
}

static int xpcx_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  xpcx_ctx *c = ctx;
  return ipcb__mach_setup(ctx, &c->link, cfg, rdv);
}

static int xpcx_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                       const ipcb_rdv *rdv) {
  xpcx_ctx *c = ctx;
  int rc = setup_queue(ctx, c, cfg);
  if (rc)
    return rc;
  return role == IPCB_ROLE_CLIENT ? client_attach(ctx, c, cfg, rdv)
                                  : peer_attach(ctx, c, cfg, rdv);
}

static int xpcx_send_buf(void *ctx, size_t n, void **buf) {
  xpcx_ctx *c = ctx;
  free(c->sbuf);
  c->sbuf = malloc(n ? n : 1);
  if (!c->sbuf)
    return ipcb_fail(ctx, -ENOMEM, "XPC: out of memory for %zu bytes", n);
  *buf = c->sbuf;
  return 0;
}

/* The buffer goes to libxpc with the message, which frees it once sent. */
static int xpcx_send(void *ctx, size_t n) {
  xpcx_ctx *c = ctx;
  dispatch_data_t d =
      dispatch_data_create(c->sbuf, n, NULL, DISPATCH_DATA_DESTRUCTOR_FREE);
  c->sbuf = NULL;
  xpc_object_t data = d ? xpc_data_create_with_dispatch_data(d) : NULL;
  if (d)
    dispatch_release(d);
  if (!data)
    return ipcb_fail(ctx, -ENOMEM, "xpc_data_create_with_dispatch_data(%zu)",
                     n);
  return send_msg(ctx, c, KEY_DATA, data);
}

static int xpcx_recv(void *ctx, const void **p, size_t *n) {
  xpcx_ctx *c = ctx;
  xpc_object_t msg = NULL;
  int rc = ipcb__xpc_bridge_take(ctx, c->bridge, &msg);
  if (rc > 0)
    return ended(ctx, rc, 0);
  if (rc)
    return rc;
  xpc_object_t data = xpc_dictionary_get_value(msg, KEY_DATA);
  size_t len = data && xpc_get_type(data) == XPC_TYPE_DATA
                   ? xpc_data_get_length(data)
                   : (size_t)-1;
  if (len > c->max) {
    xpc_release(msg);
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "XPC: a message without data, or above %zu bytes", c->max);
  }
  const void *bytes = xpc_data_get_bytes_ptr(data);
  c->got = msg;
  *p = bytes ? bytes : (const void *)c;
  *n = len;
  return 0;
}

static int xpcx_release(void *ctx) {
  xpcx_ctx *c = ctx;
  if (c->got)
    xpc_release(c->got);
  c->got = NULL;
  return 0;
}

/* Cancelling is asynchronous; the bridge outlives the handlers by itself. */
static void xpcx_teardown(void *ctx, ipcb_role role) {
  xpcx_ctx *c = ctx;
  (void)role;
  xpcx_release(ctx);
  if (c->conn) {
    xpc_connection_cancel(c->conn);
    xpc_release(c->conn);
  }
  if (c->listener) {
    ipcb__xpc_bridge_close(c->bridge); /* an accepted one never claimed */
    xpc_connection_cancel(c->listener);
    xpc_release(c->listener);
  }
  ipcb__xpc_bridge_unref(c->bridge);
  if (c->q)
    dispatch_release(c->q);
  free(c->sbuf);
  ipcb__mach_close(&c->link);
  memset(c, 0, sizeof *c);
}

const ipcb_transport ipcb_tr_XPC = {
    .name = "XPC",
    .summary = "libxpc peer-to-peer messages (XPC data in a dictionary, sent "
               "without a copy) over an anonymous listener; each message "
               "received costs a hand-off from libxpc's dispatch queue to "
               "the receiving thread (a thread wake-up and a ulock wake)",
    .caps = 0,
    .ctx_size = sizeof(xpcx_ctx),
    .probe = xpcx_probe,
    .setup = xpcx_setup,
    .attach = xpcx_attach,
    .send_buf = xpcx_send_buf,
    .send = xpcx_send,
    .recv = xpcx_recv,
    .release = xpcx_release,
    .teardown = xpcx_teardown,
};
