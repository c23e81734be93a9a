/* The region MachShm and MachSemaphore share (macOS): a named memory entry
 * vm_mapped by both sides. A helper file: it has no registry line.
 *
 * The region is made as Chromium's shared memory is on macOS:
 * mach_make_memory_entry_64 with MAP_MEM_NAMED_CREATE creates a fresh VM
 * object (xnu osfmk/vm/vm_memory_entry.c: vm_object_allocate, line 373; the
 * address argument is then ignored, so there is nothing to vm_allocate
 * first) with MEMORY_OBJECT_COPY_NONE (line 386), and returns a send right
 * naming it; vm_map without copy maps it in the client, and the right goes
 * to the peer once, in the rendezvous, where vm_map maps the same pages.
 *
 * Free slots are counted in the region itself: the receiver bumps `freed`
 * with a release store at release(), and the sender reads it with an
 * acquire load before reusing a slot. With cfg->window slots per direction
 * the core's window promise (transport.h, ipcb_cfg) means the sender never
 * finds them all in flight, so the check costs one load and the wait below
 * is a guard that the watchdog can end, not a path that is timed. */
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "../kit/kit.h"
#include "mach_common.h"
#include "mach_region.h"

typedef struct dir_ctl {
  _Atomic uint32_t freed; /* slots the receiver has released, ever */
  unsigned char pad[60];
} dir_ctl;

static dir_ctl *ctl(ipcb_mach_region *r, unsigned dir) {
  return (dir_ctl *)r->base + dir;
}

void ipcb__mach_region_layout(ipcb_mach_region *r, const ipcb_cfg *cfg,
                              ipcb_role role, size_t head) {
  r->head = head;
  r->slot = head + ipcb__slot_size(cfg->max_bytes);
  r->size = round_page(2 * sizeof(dir_ctl) + 2 * (size_t)cfg->window * r->slot);
  r->depth = cfg->window;
  r->tx_dir = role == IPCB_ROLE_CLIENT ? 0 : 1;
  r->rx_dir = 1 - r->tx_dir;
}

int ipcb__mach_region_map(void *ctx, ipcb_mach_region *r) {
  kern_return_t kr =
      vm_map(mach_task_self(), &r->base, r->size, 0, VM_FLAGS_ANYWHERE,
             r->entry, 0, FALSE, VM_PROT_READ | VM_PROT_WRITE,
             VM_PROT_READ | VM_PROT_WRITE, VM_INHERIT_NONE);
  if (kr != KERN_SUCCESS) {
    r->base = 0;
    return ipcb__mach_fail(ctx, "vm_map(memory entry)", kr);
  }
  return 0;
}

int ipcb__mach_region_create(void *ctx, ipcb_mach_region *r) {
  memory_object_size_t size = r->size;
  kern_return_t kr = mach_make_memory_entry_64(mach_task_self(), &size, 0,
                                               MAP_MEM_NAMED_CREATE |
                                                   VM_PROT_READ | VM_PROT_WRITE,
                                               &r->entry, MACH_PORT_NULL);
  if (kr != KERN_SUCCESS) {
    r->entry = MACH_PORT_NULL;
    return ipcb__mach_fail(ctx, "mach_make_memory_entry_64(NAMED_CREATE)", kr);
  }
  return ipcb__mach_region_map(ctx, r);
}

void ipcb__mach_region_drop_entry(ipcb_mach_region *r) {
  if (MACH_PORT_VALID(r->entry))
    mach_port_deallocate(mach_task_self(), r->entry);
  r->entry = MACH_PORT_NULL;
}

unsigned char *ipcb__mach_region_slot(ipcb_mach_region *r, unsigned dir,
                                      uint32_t seq) {
  size_t i = (size_t)dir * r->depth + seq % r->depth;
  return (unsigned char *)r->base + 2 * sizeof(dir_ctl) + i * r->slot;
}

/* Waiting is never expected (see above), so it yields rather than adding a
 * kernel object per direction. */
int ipcb__mach_region_send_buf(void *ctx, ipcb_mach_region *r, void **buf) {
  dir_ctl *d = ctl(r, r->tx_dir);
  while (r->sent - atomic_load_explicit(&d->freed, memory_order_acquire) >=
         r->depth) {
    int rc = ipcb_interrupted(ctx);
    if (rc)
      return rc;
    sched_yield();
  }
  *buf = ipcb__mach_region_slot(r, r->tx_dir, r->sent) + r->head;
  return 0;
}

void ipcb__mach_region_release(ipcb_mach_region *r) {
  r->received++;
  atomic_store_explicit(&ctl(r, r->rx_dir)->freed, r->received,
                        memory_order_release);
}

void ipcb__mach_region_close(ipcb_mach_region *r) {
  if (r->base)
    vm_deallocate(mach_task_self(), r->base, r->size);
  r->base = 0;
  ipcb__mach_region_drop_entry(r);
}
