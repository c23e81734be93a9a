/* Mach plumbing shared by the darwin transports (macOS): receive ports, the
 * bootstrap rendezvous, sends and receives that honour the deadline and the
 * watchdog, and kern_return_t errors. */
#ifndef IPCB_MACH_COMMON_H
#define IPCB_MACH_COMMON_H

#include <mach/mach.h>

#include "ipcb/transport.h"

/* A blocked peer looks at its stop flag at least this often: a signal that
 * lands just before mach_msg() enters the kernel is not lost for good. */
#define IPCB_MACH_PEER_SLICE_MS 100

/* One side's two ports. The client also owns, until the peer has called,
 * the port published under a bootstrap name. */
typedef struct ipcb_mach_link {
  int ready;
  ipcb_role role;
  mach_msg_timeout_t wait_ms; /* client: the deadline; peer: a slice */
  mach_port_t rx;             /* receive right: messages for this side */
  mach_port_t tx;             /* send right to the other side's rx */
  mach_port_t rdv;            /* client: the named rendezvous port */
  int registered;             /* rdv's name came from bootstrap_register2 */
  char name[128];             /* BOOTSTRAP_MAX_NAME_LEN */
} ipcb_mach_link;

/* "<call>: <mach_error_string> (0x<kr>)"; returns IPCB_EKERN. */
int ipcb__mach_fail(void *ctx, const char *call, kern_return_t kr);

/* Client, in setup: publish a receive port under a unique bootstrap name
 * (bootstrap_check_in, else bootstrap_register2) and put the name in the
 * token. */
int ipcb__mach_setup(void *ctx, ipcb_mach_link *l, const ipcb_cfg *cfg,
                     ipcb_rdv *rdv);

/* Both sides, in attach: exchange send rights to each side's rx, whose queue
 * holds `qlimit` messages. The peer looks the name up and sends its right;
 * the client answers with its own right plus *extra (a send right, or
 * MACH_PORT_NULL), which the peer receives in *extra. The client withdraws
 * the name once the peer has called. */
int ipcb__mach_connect(void *ctx, ipcb_mach_link *l, ipcb_role role,
                       const ipcb_cfg *cfg, const ipcb_rdv *rdv,
                       unsigned qlimit, mach_port_t *extra);

/* Send the message at msg to l->tx. The first head_size bytes are copied from
 * head before each attempt, because an interrupted send hands the message
 * back in received form. */
int ipcb__mach_send(void *ctx, ipcb_mach_link *l, mach_msg_header_t *msg,
                    const void *head, mach_msg_size_t head_size);

/* Receive one message on `port` into buf (size includes the trailer). */
int ipcb__mach_recv(void *ctx, ipcb_mach_link *l, mach_port_t port,
                    mach_msg_header_t *buf, mach_msg_size_t size);

/* Release both ports and the rendezvous name. Idempotent. */
void ipcb__mach_close(ipcb_mach_link *l);

/* The largest queue a port may have (MACH_PORT_QLIMIT_MAX). */
unsigned ipcb__mach_qlimit_max(void);

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

#endif /* IPCB_MACH_COMMON_H */
