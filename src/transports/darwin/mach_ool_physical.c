/* MachOOLPhysical: mach_msg with one out-of-line descriptor per message,
 * MACH_MSG_PHYSICAL_COPY (macOS). Everything but the copy option and the
 * limit below is MachOOL's (mach_ool.c).
 *
 * xnu honours a physical copy that the sender keeps (deallocate false) by
 * copying the bytes into ipc_kernel_copy_map at send time; a region of
 * MSG_OOL_SIZE_SMALL or more counts against ipc_kmsg_max_vm_space, 7/8 of
 * the 8 MiB IPC_KERNEL_COPY_MAP_SIZE, per message (osfmk/ipc/ipc_kmsg.c,
 * ipc_kmsg_copyin_body), and a larger one fails with MACH_MSG_VM_KERNEL.
 * Both are compiled into the kernel, so a larger size is refused up front
 * with that limit named. */
#include <mach/mach.h>
#include <stdio.h>

#include "mach_common.h"

#define PHYSICAL_COPY_MAX ((size_t)(8u << 20) / 8 * 7)

static size_t physical_max(void) { return PHYSICAL_COPY_MAX; }

static int physical_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  ((ipcb_ool_ctx *)ctx)->copy = MACH_MSG_PHYSICAL_COPY;
  if (cfg->max_bytes > PHYSICAL_COPY_MAX)
    return ipcb_fail(ctx, IPCB_ELIMIT,
                     "MACH_MSG_PHYSICAL_COPY of %zu bytes exceeds xnu's "
                     "per-message ipc_kmsg_max_vm_space of %zu bytes "
                     "(7/8 of IPC_KERNEL_COPY_MAP_SIZE); it is compiled into "
                     "the kernel and cannot be raised",
                     cfg->max_bytes, (size_t)PHYSICAL_COPY_MAX);
  return ipcb__ool_setup(ctx, cfg, rdv);
}

static int physical_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                           const ipcb_rdv *rdv) {
  ((ipcb_ool_ctx *)ctx)->copy = MACH_MSG_PHYSICAL_COPY;
  return ipcb__ool_attach(ctx, role, cfg, rdv);
}

const ipcb_transport ipcb_tr_MachOOLPhysical = {
    .name = "MachOOLPhysical",
    .summary = "mach_msg with an out-of-line descriptor, "
               "MACH_MSG_PHYSICAL_COPY (copied at send, 7 MiB per message)",
    .caps = 0,
    .ctx_size = sizeof(ipcb_ool_ctx),
    .max_message = physical_max,
    .setup = physical_setup,
    .attach = physical_attach,
    .send_buf = ipcb__ool_send_buf,
    .send = ipcb__ool_send,
    .recv = ipcb__ool_recv,
    .release = ipcb__ool_release,
    .teardown = ipcb__ool_teardown,
    .queue_depth = ipcb__ool_queue_depth,
};
