/* The XPC bridge (macOS): libxpc's event handlers hand messages to the
 * thread that calls recv(). A helper file: it has no registry line.
 *
 * The ring has one producer, the handlers, which all run on one serial
 * queue, and one consumer, the session's thread. `seq` counts events
 * (messages and the connection's end); the consumer sleeps on it with the
 * kernel's compare-and-wait and the producer wakes it only when it sleeps.
 * The producer stores `head` then bumps `seq` then reads `waiters`; the
 * consumer reads `seq`, then `head`, and before it sleeps bumps `waiters`
 * and reads `seq` again, all sequentially consistent, so a message is
 * either seen or woken for, and the kernel compares the word again before
 * it sleeps (as in shm_ulock.c).
 *
 * The wait is ulock.h's, untimed: the watchdog's signal ends it with EINTR,
 * whereas a dispatch semaphore would restart its wait after the signal.
 *
 * Lifetime. Each connection served holds a reference, dropped by its
 * finaliser, which libxpc calls once the connection is deallocated, after
 * its last event (connection.h: xpc_connection_set_finalizer_f, and
 * xpc_connection_cancel: no event after the final
 * XPC_ERROR_CONNECTION_INVALID). So teardown cancels and never waits, and
 * a late event never touches freed memory. */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "../kit/kit.h"
#include "ulock.h"
#include "xpc_bridge.h"

struct ipcb_xpc_bridge {
  _Atomic uint32_t seq, waiters;
  _Atomic uint32_t head, tail;
  _Atomic int refs;
  _Atomic int fault;
  _Atomic(xpc_connection_t) held; /* accepted, not yet claimed */
  int accepted, closed;           /* the queue's own */
  dispatch_queue_t q;
  unsigned depth;
  xpc_object_t slot[];
};

ipcb_xpc_bridge *ipcb__xpc_bridge_new(unsigned depth, dispatch_queue_t q) {
  ipcb_xpc_bridge *b = calloc(1, sizeof *b + depth * sizeof(xpc_object_t));
  if (!b)
    return NULL;
  atomic_init(&b->refs, 1);
  b->depth = depth;
  b->q = q;
  dispatch_retain(q);
  return b;
}

void ipcb__xpc_bridge_unref(ipcb_xpc_bridge *b) {
  if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
    return;
  uint32_t head = atomic_load(&b->head);
  for (uint32_t t = atomic_load(&b->tail); t != head; t++)
    xpc_release(b->slot[t % b->depth]);
  dispatch_release(b->q);
  free(b);
}

static void finalize(void *b) { ipcb__xpc_bridge_unref(b); }

static void wake(ipcb_xpc_bridge *b) {
  atomic_fetch_add(&b->seq, 1);
  if (atomic_load(&b->waiters))
    ipcb__ulock_wake(&b->seq, IPCB_ULOCK_PRIVATE);
}

/* The first end wins: it is the one the receiver reports. */
static void end(ipcb_xpc_bridge *b, int why) {
  int none = 0;
  atomic_compare_exchange_strong(&b->fault, &none, why);
  wake(b);
}

static void push(ipcb_xpc_bridge *b, xpc_object_t msg) {
  uint32_t head = atomic_load_explicit(&b->head, memory_order_relaxed);
  if (head - atomic_load(&b->tail) >= b->depth) {
    end(b, IPCB_XPC_OVERFLOW);
    return;
  }
  b->slot[head % b->depth] = xpc_retain(msg);
  atomic_store(&b->head, head + 1);
  wake(b);
}

/* Messages are dictionaries; TERMINATION_IMMINENT concerns launchd's own
 * services and ends nothing here. */
static void on_event(ipcb_xpc_bridge *b, xpc_object_t ev) {
  if (xpc_get_type(ev) == XPC_TYPE_DICTIONARY)
    push(b, ev);
  else if (ev == XPC_ERROR_CONNECTION_INVALID)
    end(b, IPCB_XPC_INVALID);
  else if (ev == XPC_ERROR_CONNECTION_INTERRUPTED)
    end(b, IPCB_XPC_INTERRUPTED);
}

/* Each connection on the bridge's queue holds a reference to it, which its
 * finaliser drops. */
static void watch(ipcb_xpc_bridge *b, xpc_connection_t c, xpc_handler_t h) {
  atomic_fetch_add(&b->refs, 1);
  xpc_connection_set_target_queue(c, b->q);
  xpc_connection_set_context(c, b);
  xpc_connection_set_finalizer_f(c, finalize);
  xpc_connection_set_event_handler(c, h);
  xpc_connection_resume(c);
}

void ipcb__xpc_bridge_serve(ipcb_xpc_bridge *b, xpc_connection_t c) {
  watch(b, c, ^(xpc_object_t ev) {
    on_event(b, ev);
  });
}

/* On the queue: a refused connection is cancelled without a handler, which
 * connection.h allows for connections a listener hands over. */
static void on_listener_event(ipcb_xpc_bridge *b, xpc_object_t ev) {
  if (xpc_get_type(ev) == XPC_TYPE_CONNECTION) {
    xpc_connection_t c = (xpc_connection_t)ev;
    if (b->accepted || b->closed) {
      xpc_connection_cancel(c);
      return;
    }
    b->accepted = 1;
    atomic_store(&b->held, (xpc_connection_t)xpc_retain(c));
    ipcb__xpc_bridge_serve(b, c);
  } else if (ev == XPC_ERROR_CONNECTION_INVALID && !b->accepted) {
    end(b, IPCB_XPC_LISTENER);
  }
}

void ipcb__xpc_bridge_listen(ipcb_xpc_bridge *b, xpc_connection_t l) {
  watch(b, l, ^(xpc_object_t ev) {
    on_listener_event(b, ev);
  });
}

xpc_connection_t ipcb__xpc_bridge_claim(ipcb_xpc_bridge *b) {
  return atomic_exchange(&b->held, NULL);
}

static void close_on_queue(void *arg) {
  ipcb_xpc_bridge *b = arg;
  xpc_connection_t c = atomic_exchange(&b->held, NULL);
  b->closed = 1;
  if (c) {
    xpc_connection_cancel(c);
    xpc_release(c);
  }
  ipcb__xpc_bridge_unref(b);
}

/* Run where the listener's handler runs, so that the two never race. */
void ipcb__xpc_bridge_close(ipcb_xpc_bridge *b) {
  atomic_fetch_add(&b->refs, 1);
  dispatch_async_f(b->q, b, close_on_queue);
}

int ipcb__xpc_bridge_fault(const ipcb_xpc_bridge *b) {
  return atomic_load(&b->fault);
}

int ipcb__xpc_bridge_take(void *ctx, ipcb_xpc_bridge *b, xpc_object_t *msg) {
  for (;;) {
    uint32_t seen = atomic_load(&b->seq);
    /* The end before the ring: a message pushed before the end is then
     * seen, rather than overtaken by it. */
    int why = atomic_load(&b->fault);
    uint32_t tail = atomic_load_explicit(&b->tail, memory_order_relaxed);
    if (tail != atomic_load(&b->head)) {
      *msg = b->slot[tail % b->depth];
      atomic_store(&b->tail, tail + 1);
      return 0;
    }
    if (why)
      return why;
    int r = 0;
    atomic_fetch_add(&b->waiters, 1);
    if (atomic_load(&b->seq) == seen)
      r = ipcb__ulock_wait(&b->seq, seen, IPCB_ULOCK_PRIVATE);
    atomic_fetch_sub(&b->waiters, 1);
    if (r == 0)
      continue;
    /* EFAULT cannot happen on our own resident word, but is asked about
     * like an interruption so that it cannot spin past the deadline. */
    errno = r == -EFAULT ? EINTR : -r;
    int rc = ipcb__retry(ctx, "wait on address");
    if (rc)
      return rc;
  }
}
