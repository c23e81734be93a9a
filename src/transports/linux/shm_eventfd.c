/* ShmEventfd: shared-memory slots with eventfd wake-ups (linux).
 *
 * The ring (shm_ring.h) lives in a memfd that the peer inherits, with two
 * eventfds: each side's doorbell, on which only that side sleeps. A side
 * waits for one thing at a time (a message, or a free slot), so one doorbell
 * per side is enough; a ring from a stale `wake_at` match leaves a count that
 * makes the next read() return at once, and the wait loop simply re-checks.
 * The eventfd's read() and write() are system calls that take the eventfd's
 * lock, but the ring's ordering does not rely on them: it rests on the
 * acquire/release pairs explained in shm_ring.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "shm_ring.h"

typedef struct efd_ctx {
  shm_ring ring; /* first: ctx is the ring for the ring's functions */
  int ready;
  int mine, theirs; /* doorbells: this side sleeps on mine */
} efd_ctx;

static int efd_wait(void *ctx, _Atomic uint32_t *word, uint32_t old) {
  efd_ctx *c = ctx;
  uint64_t count;
  (void)word, (void)old;          /* the caller re-checks the word */
  int rc = ipcb_interrupted(ctx); /* a stop handled while we were running */
  if (rc)
    return rc;
  if (read(c->mine, &count, sizeof count) == (ssize_t)sizeof count)
    return 0;
  return ipcb__retry(ctx, "read(eventfd)"); /* the caller loops */
}

static int efd_wake(void *ctx, _Atomic uint32_t *word) {
  efd_ctx *c = ctx;
  uint64_t one = 1;
  (void)word;
  /* EAGAIN only at a count of 2^64-2: impossible */
  while (write(c->theirs, &one, sizeof one) != (ssize_t)sizeof one) {
    int rc = ipcb__retry(ctx, "write(eventfd)");
    if (rc)
      return rc;
  }
  return 0;
}

static int new_eventfd(void *ctx, int *fd) {
  *fd = eventfd(0, EFD_CLOEXEC);
  return *fd < 0 ? ipcb_fail_errno(ctx, "eventfd") : 0;
}

/* The core closes rdv->fds in the client after the spawn: keep copies. */
static int keep(void *ctx, int fd, int *copy) {
  *copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return *copy < 0 ? ipcb_fail_errno(ctx, "fcntl(F_DUPFD_CLOEXEC)") : 0;
}

static int efd_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  efd_ctx *c = ctx;
  int fds[3] = {-1, -1, -1}; /* ring, client's doorbell, peer's doorbell */
  c->ready = 1;
  c->mine = c->theirs = -1;
  int rc = ring_create(ctx, cfg->max_bytes, cfg->window, &fds[0]);
  if (!rc)
    rc = ring_map(ctx, &c->ring, fds[0], IPCB_ROLE_CLIENT, cfg);
  if (!rc)
    rc = new_eventfd(ctx, &fds[1]);
  if (!rc)
    rc = new_eventfd(ctx, &fds[2]);
  if (!rc)
    rc = keep(ctx, fds[1], &c->mine);
  if (!rc)
    rc = keep(ctx, fds[2], &c->theirs);
  if (rc) {
    for (int i = 0; i < 3; i++)
      ipcb_close_fd(&fds[i]);
    return rc;
  }
  for (int i = 0; i < 3; i++)
    rdv->fds[i] = fds[i];
  rdv->nfds = 3;
  return 0;
}

static int efd_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                      const ipcb_rdv *rdv) {
  efd_ctx *c = ctx;
  c->ring.wait = efd_wait;
  c->ring.wake = efd_wake;
  if (role == IPCB_ROLE_CLIENT)
    return 0; /* everything is held since setup; the peer since the spawn */
  c->ready = 1;
  c->mine = c->theirs = -1;
  if (rdv->nfds != 3)
    return ipcb_fail(ctx, -EINVAL, "expected 3 inherited fds, got %d",
                     rdv->nfds);
  int ring_fd = rdv->fds[0];
  c->theirs = rdv->fds[1];
  c->mine = rdv->fds[2];
  int rc = ring_map(ctx, &c->ring, ring_fd, role, cfg);
  ipcb_close_fd(&ring_fd);
  return rc;
}

static void efd_teardown(void *ctx, ipcb_role role) {
  efd_ctx *c = ctx;
  (void)role;
  if (!c->ready)
    return;
  ring_unmap(&c->ring);
  ipcb_close_fd(&c->mine);
  ipcb_close_fd(&c->theirs);
}

const ipcb_transport ipcb_tr_ShmEventfd = {
    .name = "ShmEventfd",
    .summary = "shared-memory slots in a memfd; one eventfd per side to "
               "wake a sleeper",
    .caps = IPCB_CAP_SHARED_MEMORY,
    .ctx_size = sizeof(efd_ctx),
    .setup = efd_setup,
    .attach = efd_attach,
    .send_buf = ring_send_buf,
    .send = ring_send,
    .recv = ring_recv,
    .release = ring_release,
    .teardown = efd_teardown,
};
