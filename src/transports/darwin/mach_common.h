/* Mach plumbing shared by the darwin transports (macOS): receive ports, the
 * bootstrap rendezvous and closing a link (mach_rendezvous.c), sends and
 * receives that the watchdog interrupts (mach_common.c), and kern_return_t
 * errors. */
#ifndef IPCB_MACH_COMMON_H
#define IPCB_MACH_COMMON_H

#include <mach/mach.h>

#include "ipcb/transport.h"

/* One side's two ports. The client also owns, until the peer has called,
 * the port published under a bootstrap name. Every wait is untimed: the
 * core's watchdog is the one timer, and its signal ends a blocked mach_msg
 * (MACH_RCV_INTERRUPT, MACH_SEND_INTERRUPT). */
typedef struct ipcb_mach_link {
  int ready;
  unsigned qlimit; /* messages rx queues, at most MACH_PORT_QLIMIT_MAX */
  mach_port_t rx;  /* receive right: messages for this side */
  mach_port_t tx;  /* send right to the other side's rx */
  mach_port_t rdv; /* client: the named rendezvous port */
  int registered;  /* rdv's name came from bootstrap_register2 */
  char name[128];  /* BOOTSTRAP_MAX_NAME_LEN */
} ipcb_mach_link;

/* "<call>: <mach_error_string> (0x<kr>)"; returns IPCB_EKERN. */
int ipcb__mach_fail(void *ctx, const char *call, kern_return_t kr);

/* Client, in setup: publish a receive port under a unique bootstrap name
 * (bootstrap_register2, else bootstrap_check_in) and put the name in the
 * token. */
int ipcb__mach_setup(void *ctx, ipcb_mach_link *l, const ipcb_cfg *cfg,
                     ipcb_rdv *rdv);

/* Both sides, in attach: exchange send rights to each side's rx, whose queue
 * holds `queued` messages, or MACH_PORT_QLIMIT_MAX if that is fewer (a
 * sender then waits for the receiver, as transport.h allows). The peer looks
 * the name up and sends its right; the client answers with its own right
 * plus the n_extra send rights extra[0..n_extra) (each may be
 * MACH_PORT_NULL; the client keeps its own), which the peer receives in
 * extra[0..n_extra). n_extra is at most IPCB_MACH_EXTRAS. Each side accepts the
 * other's message only from the process it expects (the audit trailer's pid),
 * and the client withdraws the name once the peer has called. */
#define IPCB_MACH_EXTRAS 3
int ipcb__mach_connect(void *ctx, ipcb_mach_link *l, ipcb_role role,
                       const ipcb_cfg *cfg, const ipcb_rdv *rdv, size_t queued,
                       mach_port_t *extra, unsigned n_extra);

/* Send the message at msg to l->tx. The first head_size bytes are copied from
 * head before each attempt, because an interrupted send hands the message
 * back in received form. */
int ipcb__mach_send(void *ctx, mach_msg_header_t *msg, const void *head,
                    mach_msg_size_t head_size);

/* Receive one message on `port` into buf (size includes the trailer). */
int ipcb__mach_recv(void *ctx, mach_port_t port, mach_msg_header_t *buf,
                    mach_msg_size_t size);

/* A receive right whose queue holds qlimit messages (5 at least). */
int ipcb__mach_new_port(void *ctx, unsigned qlimit, mach_port_t *out);
/* `queued`, or MACH_PORT_QLIMIT_MAX if that is smaller. */
unsigned ipcb__mach_clamp_qlimit(size_t queued);

/* Withdraw the rendezvous name and destroy its port. Idempotent. */
void ipcb__mach_drop_rendezvous(ipcb_mach_link *l);
/* Release both ports and the rendezvous name. Idempotent. */
void ipcb__mach_close(ipcb_mach_link *l);

/* queue_depth() for a link whose messages take `per_message` Mach messages
 * each: -1 when rx holds cfg->window of them, else how many it holds, with
 * the limit named. */
long ipcb__mach_queue_depth(const ipcb_mach_link *l, const ipcb_cfg *cfg,
                            size_t per_message, char *limit, size_t len);

/* MachOOL and MachOOLPhysical: one implementation, two copy options. */
typedef struct ipcb_ool_ctx {
  ipcb_mach_link link;
  mach_msg_copy_options_t copy;
  size_t max;
  vm_address_t sbuf; /* the sender's region, vm_allocate'd once */
  vm_size_t sbuf_size;
  vm_address_t got; /* the region received and not yet released */
  vm_size_t got_size;
} ipcb_ool_ctx;
int ipcb__ool_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv);
int ipcb__ool_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                     const ipcb_rdv *rdv);
int ipcb__ool_send_buf(void *ctx, size_t n, void **buf);
int ipcb__ool_send(void *ctx, size_t n);
int ipcb__ool_recv(void *ctx, const void **p, size_t *n);
int ipcb__ool_release(void *ctx);
void ipcb__ool_teardown(void *ctx, ipcb_role role);
long ipcb__ool_queue_depth(void *ctx, const ipcb_cfg *cfg, char *limit,
                           size_t len);

#endif /* IPCB_MACH_COMMON_H */
