/* The shared region of MachShm and MachSemaphore (macOS): a named memory
 * entry mapped by both sides, cut into cfg->window slots per direction, with
 * a counter per direction of the slots the receiver has released. A helper:
 * it has no registry line. How a full slot is announced is the transport's.
 */
#ifndef IPCB_MACH_REGION_H
#define IPCB_MACH_REGION_H

#include <mach/mach.h>
#include <stdint.h>

#include "ipcb/transport.h"

typedef struct ipcb_mach_region {
  mach_port_t entry; /* the memory entry, until both sides have mapped it */
  vm_address_t base;
  vm_size_t size;
  size_t slot, head; /* a slot's bytes, the first `head` before the payload */
  unsigned depth, tx_dir, rx_dir;
  uint32_t sent, received; /* this side's counts, never shared */
} ipcb_mach_region;

/* Sizes the region for cfg, with `head` bytes (a multiple of 64) in front of
 * each slot's payload, and picks this side's directions. */
void ipcb__mach_region_layout(ipcb_mach_region *r, const ipcb_cfg *cfg,
                              ipcb_role role, size_t head);

/* Client, in setup: make the memory entry and map it. */
int ipcb__mach_region_create(void *ctx, ipcb_mach_region *r);
/* Peer, in attach: map the entry the rendezvous brought (r->entry). */
int ipcb__mach_region_map(void *ctx, ipcb_mach_region *r);
/* Once this side has mapped it: the mapping holds the object. */
void ipcb__mach_region_drop_entry(ipcb_mach_region *r);

/* The slot of message `seq` in direction `dir` (its head first). */
unsigned char *ipcb__mach_region_slot(ipcb_mach_region *r, unsigned dir,
                                      uint32_t seq);
/* send_buf: waits while every slot of this side's direction is in flight,
 * then returns the next one's payload. */
int ipcb__mach_region_send_buf(void *ctx, ipcb_mach_region *r, void **buf);
/* release: the received slot is free again. */
void ipcb__mach_region_release(ipcb_mach_region *r);

/* Unmap and drop the entry. Idempotent, also on a zeroed region. */
void ipcb__mach_region_close(ipcb_mach_region *r);

#endif /* IPCB_MACH_REGION_H */
