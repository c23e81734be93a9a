/* ShmFutex: shared-memory slots with futex wait/wake (linux).
 *
 * The ring (shm_ring.h) lives in a memfd that the peer inherits. A side
 * sleeps in FUTEX_WAIT on the ring's 32-bit head or tail word. The futex is
 * NOT private (no FUTEX_PRIVATE_FLAG): a private futex is keyed by the
 * process's mm and the virtual address, so two processes would sleep on
 * different keys and never wake each other; a shared futex is keyed by the
 * memfd's page and offset, which both mappings share.
 *
 * FUTEX_WAIT re-reads the word inside the kernel under the futex bucket
 * lock and returns EAGAIN if it changed, so a wake that lands between our
 * last check and the sleep is not lost. */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shm_ring.h"

/* No spin before FUTEX_WAIT, by measurement: PingPong medians of 5 runs on
 * a 2-vCPU KVM guest (kernel 6.18), spinning N relaxed loads of the word:
 *
 *   --ipc_cpus     N:   0        1000     10000    100000
 *   split   12 B       37.7 us  38.4 us   0.43 us   0.40 us
 *           64 KiB     49.7 us  49.9 us  37.1 us   10.9 us
 *   same    12 B        4.6 us   5.6 us  15.8 us  112 us
 *           64 KiB      7.6 us   8.5 us  17.7 us  114 us
 *
 * A spin pays only once it outlasts the other side's whole turn, and from
 * then on neither side sleeps: that is ShmSpin, measured on its own. Short
 * of that it gains nothing, and on one CPU it delays the process it waits
 * for. (The 35 us of a wake-up across CPUs is this guest waking an idle
 * vCPU; the same wake-up on one CPU costs about 2 us.) */

static long sys_futex(_Atomic uint32_t *word, int op, uint32_t val) {
  return syscall(SYS_futex, (uint32_t *)word, op, val, NULL, NULL, 0);
}

static int futex_wait_word(void *ctx, _Atomic uint32_t *word, uint32_t old) {
  /* A stop request that landed while we were running would otherwise be
   * slept through: the signal has already been handled. */
  int rc = ipcb_interrupted(ctx);
  if (rc)
    return rc;
  if (sys_futex(word, FUTEX_WAIT, old) == 0 || errno == EAGAIN)
    return 0;
  return ipcb__retry(ctx, "futex(FUTEX_WAIT)"); /* the caller loops */
}

static int futex_wake_word(void *ctx, _Atomic uint32_t *word) {
  if (sys_futex(word, FUTEX_WAKE, 1) < 0)
    return ipcb_fail_errno(ctx, "futex(FUTEX_WAKE)");
  return 0;
}

/* The context is the ring alone: nothing but the futex words to wait on. */
static int futex_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  int fd = -1;
  int rc = ring_create(ctx, cfg->max_bytes, cfg->window, &fd);
  if (!rc)
    rc = ring_map(ctx, ctx, fd, IPCB_ROLE_CLIENT, cfg);
  if (rc) {
    ipcb_close_fd(&fd);
    return rc;
  }
  rdv->fds[0] = fd; /* the core closes it here once the peer holds it */
  rdv->nfds = 1;
  return 0;
}

static int futex_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                        const ipcb_rdv *rdv) {
  shm_ring *r = ctx;
  r->wait = futex_wait_word;
  r->wake = futex_wake_word;
  if (role == IPCB_ROLE_CLIENT)
    return 0; /* mapped in setup; the peer inherited the memfd at spawn */
  if (rdv->nfds != 1)
    return ipcb_fail(ctx, -EINVAL, "expected 1 inherited fd, got %d",
                     rdv->nfds);
  int fd = rdv->fds[0];
  int rc = ring_map(ctx, r, fd, role, cfg);
  ipcb_close_fd(&fd);
  return rc;
}

static void futex_teardown(void *ctx, ipcb_role role) {
  (void)role;
  ring_unmap(ctx);
}

const ipcb_transport ipcb_tr_ShmFutex = {
    .name = "ShmFutex",
    .summary = "shared-memory slots in a memfd; futex wait/wake (shared, not "
               "private) on the ring's counters",
    .caps = IPCB_CAP_SHARED_MEMORY,
    .ctx_size = sizeof(shm_ring),
    .setup = futex_setup,
    .attach = futex_attach,
    .send_buf = ring_send_buf,
    .send = ring_send,
    .recv = ring_recv,
    .release = ring_release,
    .teardown = futex_teardown,
};
