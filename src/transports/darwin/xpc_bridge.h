/* The bridge between libxpc's event handlers and the thread that calls
 * recv() (macOS). A helper of xpc.c: it has no registry line.
 *
 * libxpc delivers messages only to a block on a dispatch queue, while the
 * core's loop receives on its own thread and must be woken by the watchdog's
 * signal. The handlers (all on one serial queue) put each message in a ring
 * and wake the receiver with a compare-and-wait word, the wait the watchdog
 * can end. */
#ifndef IPCB_XPC_BRIDGE_H
#define IPCB_XPC_BRIDGE_H

#include <dispatch/dispatch.h>
#include <xpc/xpc.h>

typedef struct ipcb_xpc_bridge ipcb_xpc_bridge;

/* What ended the connection, as ipcb__xpc_bridge_take() reports it. */
enum {
  IPCB_XPC_INVALID = 1,     /* XPC_ERROR_CONNECTION_INVALID */
  IPCB_XPC_INTERRUPTED = 2, /* XPC_ERROR_CONNECTION_INTERRUPTED */
  IPCB_XPC_OVERFLOW = 3,    /* more messages in flight than the ring holds */
  IPCB_XPC_LISTENER = 4,    /* the listener went invalid before a peer came */
};

/* A bridge whose ring holds `depth` messages and whose handlers run on the
 * serial queue q (retained). NULL when out of memory. */
ipcb_xpc_bridge *ipcb__xpc_bridge_new(unsigned depth, dispatch_queue_t q);

/* Give up the owner's reference. The handlers hold one each until libxpc
 * finalises their connection, so this never waits for them. */
void ipcb__xpc_bridge_unref(ipcb_xpc_bridge *b);

/* Deliver connection c's messages and errors to b, then resume c. */
void ipcb__xpc_bridge_serve(ipcb_xpc_bridge *b, xpc_connection_t c);

/* Listener l accepts its first connection and serves it to b; it refuses
 * any later one. Then resume l. */
void ipcb__xpc_bridge_listen(ipcb_xpc_bridge *b, xpc_connection_t l);

/* The connection the listener accepted (the caller owns it from then on),
 * or NULL. Valid once a message from it was taken. */
xpc_connection_t ipcb__xpc_bridge_claim(ipcb_xpc_bridge *b);

/* Cancel and release an accepted connection nobody claimed; later ones
 * are refused. Asynchronous (on the bridge's queue), never blocks. */
void ipcb__xpc_bridge_close(ipcb_xpc_bridge *b);

/* Nonzero (an IPCB_XPC_* value) once the connection has ended. */
int ipcb__xpc_bridge_fault(const ipcb_xpc_bridge *b);

/* The next message, retained for the caller; messages that arrived before
 * the connection ended come first. Returns 0, the watchdog's code
 * (ipcb_interrupted) with the text filled, or an IPCB_XPC_* value (> 0)
 * whose text the caller writes. */
int ipcb__xpc_bridge_take(void *ctx, ipcb_xpc_bridge *b, xpc_object_t *msg);

#endif /* IPCB_XPC_BRIDGE_H */
