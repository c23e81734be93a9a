/* Mach ports, the bootstrap rendezvous and deadline-aware mach_msg() for the
 * darwin transports (macOS). A helper file: it has no registry line.
 *
 * Rendezvous. Mach rights cannot be inherited across posix_spawn, so the
 * client publishes a receive port under a unique name. bootstrap_check_in
 * creates the service on the fly, as Chromium's MachPortRendezvousServer
 * does; where launchd refuses, bootstrap_register2 (the 2017 article's call,
 * and servo's ipc-channel's) registers a port we made. The peer looks the
 * name up and sends a right to its own port; the client answers on that port
 * with a right to its own, then drops the named port, which removes the name.
 *
 * Waiting. libsystem_kernel's mach_msg() restarts an interrupted receive
 * unless MACH_RCV_INTERRUPT is given (libsyscall/mach/mach_msg.c), so every
 * call here passes it: the watchdog's signal then ends the wait with
 * MACH_RCV_INTERRUPTED, answered with ipcb_interrupted(). */
#include <errno.h>
#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "ipcb/ipcb.h"
#include "mach_common.h"

/* Exported by libSystem (liblaunch), declared in no public header. */
extern kern_return_t bootstrap_register2(mach_port_t bp, name_t service_name,
                                         mach_port_t sp, uint64_t flags);

enum { METHOD_UNKNOWN, METHOD_CHECK_IN, METHOD_REGISTER2 };
static _Atomic int bootstrap_method;

/* The handshake: the sender's own port, and one more right (MachShm's memory
 * entry) or MACH_PORT_NULL, which a port descriptor may carry. */
typedef struct hello_msg {
  mach_msg_header_t hdr;
  mach_msg_body_t body;
  mach_msg_port_descriptor_t port[2];
} hello_msg;
typedef struct hello_rcv {
  hello_msg m;
  mach_msg_max_trailer_t trailer;
} hello_rcv;

int ipcb__mach_fail(void *ctx, const char *call, kern_return_t kr) {
  return ipcb_fail(ctx, IPCB_EKERN, "%s: %s (0x%x)", call,
                   mach_error_string(kr), (unsigned)kr);
}

unsigned ipcb__mach_qlimit_max(void) { return MACH_PORT_QLIMIT_MAX; }

static mach_msg_timeout_t wait_ms(ipcb_role role, const ipcb_cfg *cfg) {
  int64_t ms = cfg->timeout_ns / 1000000;
  if (role == IPCB_ROLE_PEER)
    return IPCB_MACH_PEER_SLICE_MS;
  return ms < 1 ? 1 : ms > UINT32_MAX ? UINT32_MAX : (mach_msg_timeout_t)ms;
}

/* "org.ipcb.<pid>.<n>.<random>": unique per run and per session. */
static void make_name(char *out, size_t len) {
  char unique[64];
  ipcb_unique_name(unique, sizeof unique);
  snprintf(out, len, "org%s", unique);
  for (char *c = out; *c; c++)
    if (*c == '/')
      *c = '.';
}

static int new_port(void *ctx, unsigned qlimit, mach_port_t *out) {
  kern_return_t kr =
      mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, out);
  if (kr != KERN_SUCCESS)
    return ipcb__mach_fail(ctx, "mach_port_allocate(RECEIVE)", kr);
  if (qlimit <= MACH_PORT_QLIMIT_DEFAULT)
    return 0;
  /* A port queues 5 messages by default; a send to a full queue blocks. */
  mach_port_limits_t limits = {.mpl_qlimit = qlimit};
  kr = mach_port_set_attributes(mach_task_self(), *out, MACH_PORT_LIMITS_INFO,
                                (mach_port_info_t)&limits,
                                MACH_PORT_LIMITS_INFO_COUNT);
  if (kr != KERN_SUCCESS)
    return ipcb__mach_fail(ctx, "mach_port_set_attributes(LIMITS_INFO)", kr);
  return 0;
}

/* bootstrap_register2 wants a send right; launchd keeps its own copy. */
static kern_return_t register_port(ipcb_mach_link *l) {
  kern_return_t kr =
      mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &l->rdv);
  if (kr != KERN_SUCCESS)
    return kr;
  kr = mach_port_insert_right(mach_task_self(), l->rdv, l->rdv,
                              MACH_MSG_TYPE_MAKE_SEND);
  if (kr == KERN_SUCCESS) {
    kr = bootstrap_register2(bootstrap_port, l->name, l->rdv, 0);
    mach_port_deallocate(mach_task_self(), l->rdv);
  }
  l->registered = kr == KERN_SUCCESS;
  return kr;
}

static int publish(void *ctx, ipcb_mach_link *l) {
  int method = atomic_load(&bootstrap_method);
  kern_return_t kr = KERN_FAILURE;
  if (method != METHOD_REGISTER2) {
    kr = bootstrap_check_in(bootstrap_port, l->name, &l->rdv);
    if (kr == KERN_SUCCESS) {
      atomic_store(&bootstrap_method, METHOD_CHECK_IN);
      return 0;
    }
    l->rdv = MACH_PORT_NULL;
  }
  kern_return_t kr2 = register_port(l);
  if (kr2 == KERN_SUCCESS) {
    atomic_store(&bootstrap_method, METHOD_REGISTER2);
    return 0;
  }
  return ipcb_fail(ctx, IPCB_EKERN,
                   "bootstrap_check_in(%s): %s (0x%x); "
                   "bootstrap_register2: %s (0x%x)",
                   l->name, bootstrap_strerror(kr), (unsigned)kr,
                   bootstrap_strerror(kr2), (unsigned)kr2);
}

const char *ipcb_bootstrap_method(void) {
  if (atomic_load(&bootstrap_method) == METHOD_UNKNOWN) {
    /* Asked before any session: try a check-in once, as setup would. */
    ipcb_mach_link probe;
    memset(&probe, 0, sizeof probe);
    make_name(probe.name, sizeof probe.name);
    if (bootstrap_check_in(bootstrap_port, probe.name, &probe.rdv) ==
        KERN_SUCCESS) {
      mach_port_mod_refs(mach_task_self(), probe.rdv, MACH_PORT_RIGHT_RECEIVE,
                         -1);
      atomic_store(&bootstrap_method, METHOD_CHECK_IN);
    } else {
      atomic_store(&bootstrap_method, METHOD_REGISTER2);
    }
  }
  return atomic_load(&bootstrap_method) == METHOD_CHECK_IN
             ? "bootstrap_check_in"
             : "bootstrap_register2";
}

int ipcb__mach_setup(void *ctx, ipcb_mach_link *l, const ipcb_cfg *cfg,
                     ipcb_rdv *rdv) {
  l->ready = 1;
  l->role = IPCB_ROLE_CLIENT;
  l->wait_ms = wait_ms(IPCB_ROLE_CLIENT, cfg);
  make_name(l->name, sizeof l->name);
  int rc = publish(ctx, l);
  if (!rc)
    snprintf(rdv->token, sizeof rdv->token, "%s", l->name);
  return rc;
}

/* Destroying the receive right kills launchd's send right to it, which ends
 * a checked-in service; a registered name is withdrawn explicitly, as servo's
 * ipc-channel does, by registering MACH_PORT_NULL. */
static void drop_rendezvous(ipcb_mach_link *l) {
  if (MACH_PORT_VALID(l->rdv))
    mach_port_mod_refs(mach_task_self(), l->rdv, MACH_PORT_RIGHT_RECEIVE, -1);
  if (l->registered)
    bootstrap_register2(bootstrap_port, l->name, MACH_PORT_NULL, 0);
  l->rdv = MACH_PORT_NULL;
  l->registered = 0;
}

static void fill_hello(hello_msg *m, mach_port_t to, mach_port_t own,
                       mach_port_t extra) {
  memset(m, 0, sizeof *m);
  m->hdr.msgh_bits =
      MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  m->hdr.msgh_size = sizeof *m;
  m->hdr.msgh_remote_port = to;
  m->body.msgh_descriptor_count = 2;
  m->port[0].name = own;
  m->port[0].disposition = MACH_MSG_TYPE_MAKE_SEND;
  m->port[0].type = MACH_MSG_PORT_DESCRIPTOR;
  m->port[1].name = extra;
  m->port[1].disposition = MACH_MSG_TYPE_COPY_SEND;
  m->port[1].type = MACH_MSG_PORT_DESCRIPTOR;
}

static int recv_hello(void *ctx, ipcb_mach_link *l, mach_port_t on,
                      mach_port_t *other, mach_port_t *extra) {
  hello_rcv r;
  int rc = ipcb__mach_recv(ctx, l, on, &r.m.hdr, sizeof r);
  if (rc)
    return rc;
  if (!(r.m.hdr.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||
      r.m.hdr.msgh_size != sizeof r.m || r.m.body.msgh_descriptor_count != 2 ||
      r.m.port[0].type != MACH_MSG_PORT_DESCRIPTOR ||
      r.m.port[1].type != MACH_MSG_PORT_DESCRIPTOR ||
      !MACH_PORT_VALID(r.m.port[0].name)) {
    mach_msg_destroy(&r.m.hdr);
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "rendezvous: unexpected message (id %d, %u bytes)",
                     r.m.hdr.msgh_id, r.m.hdr.msgh_size);
  }
  *other = r.m.port[0].name;
  if (extra)
    *extra = r.m.port[1].name;
  else if (MACH_PORT_VALID(r.m.port[1].name))
    mach_port_deallocate(mach_task_self(), r.m.port[1].name);
  return 0;
}

static int connect_peer(void *ctx, ipcb_mach_link *l, unsigned qlimit,
                        mach_port_t *extra) {
  mach_port_t server = MACH_PORT_NULL;
  hello_msg m, head;
  kern_return_t kr = bootstrap_look_up(bootstrap_port, l->name, &server);
  if (kr != KERN_SUCCESS)
    return ipcb_fail(ctx, IPCB_EKERN, "bootstrap_look_up(%s): %s (0x%x)",
                     l->name, bootstrap_strerror(kr), (unsigned)kr);
  int rc = new_port(ctx, qlimit, &l->rx);
  if (!rc) {
    fill_hello(&head, server, l->rx, MACH_PORT_NULL);
    rc = ipcb__mach_send(ctx, l, &m.hdr, &head, sizeof head);
  }
  mach_port_deallocate(mach_task_self(), server);
  return rc ? rc : recv_hello(ctx, l, l->rx, &l->tx, extra);
}

static int connect_client(void *ctx, ipcb_mach_link *l, unsigned qlimit,
                          mach_port_t extra) {
  hello_msg m, head;
  int rc = recv_hello(ctx, l, l->rdv, &l->tx, NULL);
  drop_rendezvous(l); /* both sides hold rights now: the name goes */
  if (!rc)
    rc = new_port(ctx, qlimit, &l->rx);
  if (rc)
    return rc;
  fill_hello(&head, l->tx, l->rx, extra);
  return ipcb__mach_send(ctx, l, &m.hdr, &head, sizeof head);
}

int ipcb__mach_connect(void *ctx, ipcb_mach_link *l, ipcb_role role,
                       const ipcb_cfg *cfg, const ipcb_rdv *rdv,
                       unsigned qlimit, mach_port_t *extra) {
  if (role == IPCB_ROLE_CLIENT)
    return connect_client(ctx, l, qlimit, extra ? *extra : MACH_PORT_NULL);
  l->ready = 1;
  l->role = IPCB_ROLE_PEER;
  l->wait_ms = wait_ms(IPCB_ROLE_PEER, cfg);
  if (!rdv->token[0] || strlen(rdv->token) >= sizeof l->name)
    return ipcb_fail(ctx, -EINVAL, "malformed rendezvous '%s'", rdv->token);
  snprintf(l->name, sizeof l->name, "%s", rdv->token);
  return connect_peer(ctx, l, qlimit, extra);
}

/* The deadline passed: the client gives up, the peer waits on (it stops when
 * the client stops it or exits). */
static int expired(void *ctx, ipcb_mach_link *l, const char *what) {
  int rc = ipcb_interrupted(ctx);
  if (rc || l->role == IPCB_ROLE_PEER)
    return rc;
  return ipcb_fail(ctx, IPCB_ETIMEDOUT,
                   "mach_msg: %s after %u ms; raise --ipc_timeout if the "
                   "peer is only slow",
                   what, (unsigned)l->wait_ms);
}

int ipcb__mach_send(void *ctx, ipcb_mach_link *l, mach_msg_header_t *msg,
                    const void *head, mach_msg_size_t head_size) {
  for (;;) {
    memcpy(msg, head, head_size);
    kern_return_t kr =
        mach_msg(msg, MACH_SEND_MSG | MACH_SEND_TIMEOUT | MACH_SEND_INTERRUPT,
                 msg->msgh_size, 0, MACH_PORT_NULL, l->wait_ms, MACH_PORT_NULL);
    if (kr == MACH_MSG_SUCCESS)
      return 0;
    if (kr == MACH_SEND_INVALID_DEST)
      return ipcb_fail(ctx, IPCB_EPEERDIED,
                       "mach_msg(send): MACH_SEND_INVALID_DEST, the other "
                       "side's port is gone");
    if (kr != MACH_SEND_INTERRUPTED && kr != MACH_SEND_TIMED_OUT)
      return ipcb__mach_fail(ctx, "mach_msg(send)", kr);
    /* xnu returns an unsent message in received form: rights it carried and
     * out-of-line memory copied back into our space. Destroy them, as
     * libsyscall's mach_msg_server does, and send afresh. */
    mach_msg_destroy(msg);
    int rc =
        kr == MACH_SEND_INTERRUPTED
            ? ipcb_interrupted(ctx)
            : expired(ctx, l, "MACH_SEND_TIMED_OUT, the queue stayed full");
    if (rc)
      return rc;
  }
}

int ipcb__mach_recv(void *ctx, ipcb_mach_link *l, mach_port_t port,
                    mach_msg_header_t *buf, mach_msg_size_t size) {
  for (;;) {
    kern_return_t kr =
        mach_msg(buf, MACH_RCV_MSG | MACH_RCV_TIMEOUT | MACH_RCV_INTERRUPT, 0,
                 size, port, l->wait_ms, MACH_PORT_NULL);
    int rc;
    if (kr == MACH_MSG_SUCCESS)
      return 0;
    if (kr == MACH_RCV_INTERRUPTED)
      rc = ipcb_interrupted(ctx);
    else if (kr == MACH_RCV_TIMED_OUT)
      rc = expired(ctx, l, "MACH_RCV_TIMED_OUT, nothing arrived");
    else if (kr == MACH_RCV_TOO_LARGE) /* without MACH_RCV_LARGE: dropped */
      return ipcb_fail(ctx, IPCB_ECORRUPT,
                       "mach_msg(receive): MACH_RCV_TOO_LARGE, a message "
                       "above the %u bytes expected",
                       (unsigned)size);
    else
      return ipcb__mach_fail(ctx, "mach_msg(receive)", kr);
    if (rc)
      return rc;
  }
}

void ipcb__mach_close(ipcb_mach_link *l) {
  if (!l->ready)
    return;
  drop_rendezvous(l);
  if (MACH_PORT_VALID(l->rx))
    mach_port_mod_refs(mach_task_self(), l->rx, MACH_PORT_RIGHT_RECEIVE, -1);
  if (MACH_PORT_VALID(l->tx))
    mach_port_deallocate(mach_task_self(), l->tx);
  l->rx = l->tx = MACH_PORT_NULL;
}
