/* The bootstrap rendezvous of the Mach transports (macOS). A helper file: it
 * has no registry line.
 *
 * Mach rights cannot be inherited across posix_spawn, so the client
 * publishes a receive port under a unique name, the peer looks the name up
 * and sends a right to its own port, and the client answers on that port
 * with a right to its own.
 *
 * The name. bootstrap_register2 (the 2017 article's call, and servo's
 * ipc-channel's: src/platform/macos/mod.rs:290) registers a send right to a
 * port we made; the client destroys that port as soon as the peer has
 * called, which ends the registration, and withdraws the name by
 * registering MACH_PORT_NULL under it (mod.rs:316). bootstrap_check_in is
 * the fallback where launchd refuses a registration; a checked-in receive
 * right may go back to launchd when it is destroyed (launch(3)) instead of
 * ending the service, so the context records which call was used.
 *
 * Who may call. The name is in the peer's argv, so another process of the
 * same user can look it up and send a hello first. Each side therefore
 * receives with the audit trailer and accepts a hello only from the pid it
 * expects, as Chromium's MachPortRendezvousServerMac does
 * (base/apple/mach_port_rendezvous.cc, HandleRequest and PortsForClient):
 * the client from the peer it spawned (a child, so its pid cannot be reused
 * while it is unreaped), the peer from its parent. A stranger's hello is
 * destroyed, which also releases the rights it carried, and the wait goes
 * on. The random part of the name comes from getentropy (ipcb_unique_name).
 */
#include <bsm/libbsm.h>
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

enum { METHOD_UNKNOWN, METHOD_REGISTER2, METHOD_CHECK_IN };
static _Atomic int bootstrap_method;

/* The handshake: the sender's own port, then IPCB_MACH_EXTRAS more send
 * rights (MachShm's memory entry, MachSemaphore's semaphores), each slot a
 * right or MACH_PORT_NULL, which a port descriptor may carry. One shape for
 * every transport keeps well_formed() exact. */
#define HELLO_PORTS (1 + IPCB_MACH_EXTRAS)
typedef struct hello_msg {
  mach_msg_header_t hdr;
  mach_msg_body_t body;
  mach_msg_port_descriptor_t port[HELLO_PORTS];
} hello_msg;
/* message.h packs these to 4 bytes, so the trailer starts at
 * round_msg(sizeof(hello_msg)), where the kernel writes it. */
typedef struct hello_rcv {
  hello_msg m;
  mach_msg_max_trailer_t trailer;
} hello_rcv;

#define AUDIT_TRAILER                                                          \
  (MACH_RCV_TRAILER_TYPE(MACH_MSG_TRAILER_FORMAT_0) |                          \
   MACH_RCV_TRAILER_ELEMENTS(MACH_RCV_TRAILER_AUDIT))

/* "org.ipcb.<pid>.<n>.<random>": unique per run and per session. */
static void make_name(char *out, size_t len) {
  char unique[64];
  ipcb_unique_name(unique, sizeof unique);
  snprintf(out, len, "org%s", unique);
  for (char *c = out; *c; c++)
    if (*c == '/')
      *c = '.';
}

/* bootstrap_register2 wants a send right; launchd keeps its own copy. */
static kern_return_t register_port(ipcb_mach_link *l) {
  kern_return_t kr =
      mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &l->rdv);
  if (kr != KERN_SUCCESS) {
    l->rdv = MACH_PORT_NULL;
    return kr;
  }
  kr = mach_port_insert_right(mach_task_self(), l->rdv, l->rdv,
                              MACH_MSG_TYPE_MAKE_SEND);
  if (kr == KERN_SUCCESS) {
    kr = bootstrap_register2(bootstrap_port, l->name, l->rdv, 0);
    mach_port_deallocate(mach_task_self(), l->rdv);
  }
  l->registered = kr == KERN_SUCCESS;
  if (kr != KERN_SUCCESS) {
    mach_port_mod_refs(mach_task_self(), l->rdv, MACH_PORT_RIGHT_RECEIVE, -1);
    l->rdv = MACH_PORT_NULL;
  }
  return kr;
}

static int publish(void *ctx, ipcb_mach_link *l) {
  kern_return_t kr = KERN_FAILURE, kr2 = KERN_FAILURE;
  if (atomic_load(&bootstrap_method) != METHOD_CHECK_IN) {
    kr = register_port(l);
    if (kr == KERN_SUCCESS) {
      atomic_store(&bootstrap_method, METHOD_REGISTER2);
      return 0;
    }
  }
  kr2 = bootstrap_check_in(bootstrap_port, l->name, &l->rdv);
  if (kr2 == KERN_SUCCESS) {
    atomic_store(&bootstrap_method, METHOD_CHECK_IN);
    return 0;
  }
  l->rdv = MACH_PORT_NULL;
  if (!ctx)
    return IPCB_EKERN;
  return ipcb_fail(ctx, IPCB_EKERN,
                   "bootstrap_register2(%s): %s (0x%x); "
                   "bootstrap_check_in: %s (0x%x)",
                   l->name, bootstrap_strerror(kr), (unsigned)kr,
                   bootstrap_strerror(kr2), (unsigned)kr2);
}

/* The port goes first, then the name. launchd watches a registered port for
 * its death and deletes the service when it dies (launchd-842 core.c:
 * machservice_request_notifications, 7309-7320, and the dead-name handler,
 * 7104-7108), but refuses to withdraw it while the port lives
 * (job_mig_register2, BOOTSTRAP_SERVICE_ACTIVE, 9010-9013). So the name is
 * gone once launchd has taken the notice; the explicit withdrawal after it
 * covers a launchd that does not watch, and its answer is not needed. */
void ipcb__mach_drop_rendezvous(ipcb_mach_link *l) {
  if (MACH_PORT_VALID(l->rdv))
    mach_port_mod_refs(mach_task_self(), l->rdv, MACH_PORT_RIGHT_RECEIVE, -1);
  if (l->registered)
    bootstrap_register2(bootstrap_port, l->name, MACH_PORT_NULL, 0);
  l->rdv = MACH_PORT_NULL;
  l->registered = 0;
}

const char *ipcb_probe_bootstrap_method(void) {
  if (atomic_load(&bootstrap_method) == METHOD_UNKNOWN) {
    /* Asked before any session: publish and withdraw once, as a session
     * would. */
    ipcb_mach_link probe;
    memset(&probe, 0, sizeof probe);
    make_name(probe.name, sizeof probe.name);
    if (publish(NULL, &probe) != 0)
      return "none (bootstrap_register2 and bootstrap_check_in refused)";
    ipcb__mach_drop_rendezvous(&probe);
  }
  return atomic_load(&bootstrap_method) == METHOD_REGISTER2
             ? "bootstrap_register2"
             : "bootstrap_check_in";
}

int ipcb__mach_setup(void *ctx, ipcb_mach_link *l, const ipcb_cfg *cfg,
                     ipcb_rdv *rdv) {
  (void)cfg;
  l->ready = 1;
  make_name(l->name, sizeof l->name);
  int rc = publish(ctx, l);
  if (!rc)
    snprintf(rdv->token, sizeof rdv->token, "%s", l->name);
  return rc;
}

/* extra[0..n) are copied (COPY_SEND: the sender keeps its own right); the
 * remaining slots carry MACH_PORT_NULL. */
static void fill_hello(hello_msg *m, mach_port_t to, mach_port_t own,
                       const mach_port_t *extra, unsigned n) {
  memset(m, 0, sizeof *m);
  m->hdr.msgh_bits =
      MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  m->hdr.msgh_size = sizeof *m;
  m->hdr.msgh_remote_port = to;
  m->body.msgh_descriptor_count = HELLO_PORTS;
  m->port[0].name = own;
  m->port[0].disposition = MACH_MSG_TYPE_MAKE_SEND;
  m->port[0].type = MACH_MSG_PORT_DESCRIPTOR;
  for (unsigned i = 1; i < HELLO_PORTS; i++) {
    m->port[i].name = i <= n ? extra[i - 1] : MACH_PORT_NULL;
    m->port[i].disposition = MACH_MSG_TYPE_COPY_SEND;
    m->port[i].type = MACH_MSG_PORT_DESCRIPTOR;
  }
}

static int well_formed(const hello_msg *m) {
  if (!(m->hdr.msgh_bits & MACH_MSGH_BITS_COMPLEX) ||
      m->hdr.msgh_size != sizeof *m ||
      m->body.msgh_descriptor_count != HELLO_PORTS ||
      !MACH_PORT_VALID(m->port[0].name))
    return 0;
  for (unsigned i = 0; i < HELLO_PORTS; i++)
    if (m->port[i].type != MACH_MSG_PORT_DESCRIPTOR)
      return 0;
  return 1;
}

/* The sender's pid from the audit trailer, which the kernel writes at the
 * received message's msgh_size (osfmk/ipc/ipc_kmsg.c, ipc_kmsg_get_trailer):
 * at r->trailer only for a message of a hello's size; -1 for any other. */
static pid_t sender_of(const hello_rcv *r) {
  const mach_msg_audit_trailer_t *t =
      (const mach_msg_audit_trailer_t *)&r->trailer;
  if (r->m.hdr.msgh_size != sizeof r->m ||
      t->msgh_trailer_type != MACH_MSG_TRAILER_FORMAT_0 ||
      t->msgh_trailer_size < sizeof *t)
    return -1;
  return audit_token_to_pid(t->msgh_audit);
}

/* The next message on `on` from process `from`. A stranger's is destroyed
 * unread, which releases the rights it carried; one too large for the
 * buffer the kernel has already destroyed (MACH_RCV_TOO_LARGE without
 * MACH_RCV_LARGE: osfmk/ipc/mach_msg.c, mach_msg_receive_error). Either way
 * the wait goes on, so a stranger can neither take part nor end it. */
static int recv_from(void *ctx, mach_port_t on, pid_t from, hello_rcv *r) {
  for (;;) {
    memset(r, 0, sizeof *r);
    kern_return_t kr =
        mach_msg(&r->m.hdr, MACH_RCV_MSG | MACH_RCV_INTERRUPT | AUDIT_TRAILER,
                 0, sizeof *r, on, MACH_MSG_TIMEOUT_NONE, MACH_PORT_NULL);
    if (kr == MACH_MSG_SUCCESS && sender_of(r) == from)
      return 0;
    if (kr == MACH_MSG_SUCCESS)
      mach_msg_destroy(&r->m.hdr);
    else if (kr == MACH_RCV_INTERRUPTED) {
      int rc = ipcb_interrupted(ctx);
      if (rc)
        return rc;
    } else if (kr != MACH_RCV_TOO_LARGE)
      return ipcb__mach_fail(ctx, "mach_msg(receive hello)", kr);
  }
}

/* Keeps extra[0..n) and releases any other right the hello carried. */
static int recv_hello(void *ctx, mach_port_t on, pid_t from, mach_port_t *other,
                      mach_port_t *extra, unsigned n) {
  hello_rcv r;
  int rc = recv_from(ctx, on, from, &r);
  if (rc)
    return rc;
  if (!well_formed(&r.m)) {
    mach_msg_destroy(&r.m.hdr);
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "rendezvous: unexpected message from pid %d (id %d, %u "
                     "bytes)",
                     (int)from, r.m.hdr.msgh_id, r.m.hdr.msgh_size);
  }
  *other = r.m.port[0].name;
  for (unsigned i = 1; i < HELLO_PORTS; i++) {
    mach_port_t got = r.m.port[i].name;
    if (i <= n)
      extra[i - 1] = got;
    else if (MACH_PORT_VALID(got))
      mach_port_deallocate(mach_task_self(), got);
  }
  return 0;
}

static int connect_peer(void *ctx, ipcb_mach_link *l, mach_port_t *extra,
                        unsigned n) {
  mach_port_t server = MACH_PORT_NULL;
  hello_msg m, head;
  kern_return_t kr = bootstrap_look_up(bootstrap_port, l->name, &server);
  if (kr != KERN_SUCCESS)
    return ipcb_fail(ctx, IPCB_EKERN, "bootstrap_look_up(%s): %s (0x%x)",
                     l->name, bootstrap_strerror(kr), (unsigned)kr);
  int rc = ipcb__mach_new_port(ctx, l->qlimit, &l->rx);
  if (!rc) {
    fill_hello(&head, server, l->rx, NULL, 0);
    rc = ipcb__mach_send(ctx, &m.hdr, &head, sizeof head);
  }
  mach_port_deallocate(mach_task_self(), server);
  if (rc)
    return rc;
  return recv_hello(ctx, l->rx, (pid_t)ipcb_other_pid(ctx), &l->tx, extra, n);
}

static int connect_client(void *ctx, ipcb_mach_link *l,
                          const mach_port_t *extra, unsigned n) {
  hello_msg m, head;
  int rc = recv_hello(ctx, l->rdv, (pid_t)ipcb_other_pid(ctx), &l->tx, NULL, 0);
  ipcb__mach_drop_rendezvous(l); /* both sides hold rights now: the name goes */
  if (!rc)
    rc = ipcb__mach_new_port(ctx, l->qlimit, &l->rx);
  if (rc)
    return rc;
  fill_hello(&head, l->tx, l->rx, extra, n);
  return ipcb__mach_send(ctx, &m.hdr, &head, sizeof head);
}

int ipcb__mach_connect(void *ctx, ipcb_mach_link *l, ipcb_role role,
                       const ipcb_cfg *cfg, const ipcb_rdv *rdv, size_t queued,
                       mach_port_t *extra, unsigned n_extra) {
  (void)cfg;
  if (n_extra > IPCB_MACH_EXTRAS)
    return ipcb_fail(ctx, -EINVAL, "rendezvous carries %d extra rights, not %u",
                     IPCB_MACH_EXTRAS, n_extra);
  l->qlimit = ipcb__mach_clamp_qlimit(queued);
  if (role == IPCB_ROLE_CLIENT)
    return connect_client(ctx, l, extra, n_extra);
  l->ready = 1;
  if (!rdv->token[0] || strlen(rdv->token) >= sizeof l->name)
    return ipcb_fail(ctx, -EINVAL, "malformed rendezvous '%s'", rdv->token);
  snprintf(l->name, sizeof l->name, "%s", rdv->token);
  return connect_peer(ctx, l, extra, n_extra);
}

void ipcb__mach_close(ipcb_mach_link *l) {
  if (!l->ready)
    return;
  ipcb__mach_drop_rendezvous(l);
  if (MACH_PORT_VALID(l->rx))
    mach_port_mod_refs(mach_task_self(), l->rx, MACH_PORT_RIGHT_RECEIVE, -1);
  if (MACH_PORT_VALID(l->tx))
    mach_port_deallocate(mach_task_self(), l->tx);
  l->rx = l->tx = MACH_PORT_NULL;
}
