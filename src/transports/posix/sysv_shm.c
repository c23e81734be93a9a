/* SysVShm: a System V shared memory segment, synchronised with System V
 * semaphores, as in the 2017 experiment (posix).
 *
 * One segment of `depth` slots, each exactly the largest message, serves
 * both directions: the core sends one way at a time (transport.h, ipcb_cfg:
 * a side sends only once it has received and released all that the other
 * sent), so the slot a reply or ack is written to is always free. A 4 MiB
 * PingPong thus needs one 4 MiB segment, which fits a stock Mac: its
 * kern.sysv.shmmax is 4 MiB per segment and its kern.sysv.shmall is 1024
 * pages of 4 KiB for all segments together (xnu bsd/kern/sysv_shm.c,
 * DEFAULT_SHMMAX and DEFAULT_SHMALL), so a segment per direction would be
 * refused with ENOMEM. A slot is rounded up to a 64-byte line only when
 * that adds no page to the segment; otherwise slots follow each other byte
 * for byte, and the token tells the peer which was chosen.
 *
 * Per direction, semaphore FULL counts messages written and not yet
 * received. semop() is a system call and orders memory like a full barrier
 * on both sides, so the receiver sees every byte written before the FULL
 * post.
 *
 * No FREE semaphore counts empty slots: by the core's promise above, a slot
 * is always free when it comes round again; the stamps would catch one that
 * was not (a reply carries seq + 1, so a request read back fails). A FREE
 * wait and post cost two more system calls per message: 6.8 us instead of
 * 5.0 us a 12 B round trip here, where a hand-written ping-pong with one
 * semaphore per direction takes 5.0 us.
 *
 * The segment is marked IPC_RMID once the peer has attached it (it lives
 * on while mapped); the semaphore set cannot be, since removing it wakes
 * every waiter with EIDRM, so it lives until teardown. Both are tracked for
 * SIGINT until removed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "../kit/kit.h"

enum { FULL0, FULL1, ATTACHED, NSEMS };

typedef struct shm_ctx {
  int ready;
  int shm_id, sem_id; /* -1 once removed */
  unsigned char *base;
  size_t slot_size;
  unsigned depth, tx_dir, rx_dir, tx_next, rx_next;
} shm_ctx;

/* One message fills the segment at most. */
static size_t shm_limit(void) {
  ipcb_limit l;
  return ipcb_kernel_limit(IPCB_LIMIT_SHMMAX, &l) == 0 ? (size_t)l.value : 0;
}

/* Slots on 64-byte lines where that costs no page and stays within shmmax;
 * otherwise exactly the payload. */
static size_t slot_bytes(size_t max_bytes, unsigned depth, uint64_t shmmax) {
  long page = sysconf(_SC_PAGESIZE);
  size_t lined = ipcb__slot_size(max_bytes);
  size_t unit = page > 0 ? (size_t)page : 1;
  size_t exact = (size_t)depth * max_bytes, wide = (size_t)depth * lined;
  if (ipcb__round_up(wide, unit) == ipcb__round_up(exact, unit) &&
      (shmmax == 0 || wide <= shmmax))
    return lined;
  return max_bytes;
}

static int sem_op(void *ctx, int sem_id, unsigned short num, short delta,
                  const char *what) {
  struct sembuf op = {num, delta, 0};
  while (semop(sem_id, &op, 1) != 0) {
    if (errno == EIDRM || errno == EINVAL)
      return ipcb_fail(ctx, IPCB_EPEERDIED,
                       "semop(%s): the semaphore set was removed", what);
    int rc = ipcb__retry(ctx, what);
    if (rc)
      return rc;
  }
  return 0;
}

/* ENOMEM: xnu checks kern.sysv.shmall with ENOMEM (bsd/kern/sysv_shm.c,
 * shmget_allocate_segment), in pages of 4 KiB on every Mac (btoc, NBPG), so
 * the stock 1024 is 4 MiB for all segments together: one 4 MiB PingPong. Linux
 * answers ENOSPC there and keeps ENOMEM for memory that ran out (shmget(2)).
 * The kernel that enforces a per-process segment count (shmseg) is the BSD one,
 * so that answer tells them apart. */
static int shmall_failure(void *ctx, size_t bytes, int err) {
  ipcb_limit all, seg;
  if (ipcb_kernel_limit(IPCB_LIMIT_SHMALL, &all) != 0)
    return 0;
  if (err == ENOSPC)
    return ipcb_fail(ctx, IPCB_ELIMIT,
                     "shmget(%zu bytes): ENOSPC: a system-wide limit is "
                     "reached: the number of segments (shmmni; Linux: "
                     "kernel.shmmni, macOS: kern.sysv.shmmni) or the pages of "
                     "all segments (%s is %llu; raise it with %s); stale "
                     "segments show in ipcs -m",
                     bytes, all.name, (unsigned long long)all.value, all.how);
  if (err == ENOMEM && ipcb_kernel_limit(IPCB_LIMIT_SHMSEG, &seg) == 0)
    return ipcb_fail(ctx, IPCB_ELIMIT,
                     "shmget(%zu bytes): ENOMEM: "
                     "the pages of all segments system-wide would exceed %s = "
                     "%llu pages of 4 KiB (or memory ran out); raise it with "
                     "%s; stale segments show in ipcs -m",
                     bytes, all.name, (unsigned long long)all.value, all.how);
  return 0;
}

static int create_segment(void *ctx, int *id, size_t bytes) {
  ipcb_limit max;
  *id = ipcb_sysv_create(IPCB_OBJ_SYSV_SHM, bytes);
  if (*id >= 0)
    return 0;
  int err = errno, rc;
  if (err == EINVAL && ipcb_kernel_limit(IPCB_LIMIT_SHMMAX, &max) == 0)
    return ipcb_fail_limit(ctx, "shmget", bytes, max.name, max.value, max.how);
  if ((rc = shmall_failure(ctx, bytes, err)) != 0)
    return rc;
  errno = err;
  return ipcb_fail_errno(ctx, "shmget(IPC_CREAT | IPC_EXCL, 0600)");
}

static int create_semaphores(void *ctx, shm_ctx *c) {
  c->sem_id = ipcb_sysv_create(IPCB_OBJ_SYSV_SEM, NSEMS);
  if (c->sem_id < 0 && errno == ENOSPC)
    return ipcb_fail(ctx, IPCB_ELIMIT,
                     "semget: ENOSPC: the system-wide number of semaphore sets "
                     "(semmni) or of semaphores (semmns) is reached (Linux: "
                     "fields 4 and 2 of kernel.sem; macOS: kern.sysv.semmni, "
                     "kern.sysv.semmns); stale sets show in ipcs -s");
  if (c->sem_id < 0)
    return ipcb_fail_errno(ctx, "semget(IPC_CREAT | IPC_EXCL, 0600)");
  unsigned short init[NSEMS] = {0};
  union {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
  } arg = {.array = init};
  if (semctl(c->sem_id, 0, SETALL, arg) != 0)
    return ipcb_fail_errno(ctx, "semctl(SETALL)");
  return 0;
}

static int shm_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  shm_ctx *c = ctx;
  ipcb_limit max;
  int rc;
  c->ready = 1;
  c->shm_id = c->sem_id = -1;
  int known = ipcb_kernel_limit(IPCB_LIMIT_SHMMAX, &max) == 0;
  size_t slot = slot_bytes(cfg->max_bytes, cfg->window, known ? max.value : 0);
  size_t bytes = (size_t)cfg->window * slot;
  c->slot_size = slot;
  char what[64];
  snprintf(what, sizeof what, "a segment of %u slot%s", cfg->window,
           cfg->window == 1 ? "" : "s");
  if (known && bytes > max.value)
    return ipcb_fail_limit(ctx, what, bytes, max.name, max.value, max.how);
  if ((rc = create_segment(ctx, &c->shm_id, bytes)) != 0 ||
      (rc = create_semaphores(ctx, c)) != 0)
    return rc;
  snprintf(rdv->token, sizeof rdv->token, "%d,%d,%zu", c->shm_id, c->sem_id,
           slot);
  return 0;
}

static int attach_segment(void *ctx, shm_ctx *c) {
  void *base = shmat(c->shm_id, NULL, 0);
  ipcb_limit seg;
  if (base == (void *)-1 && errno == EMFILE &&
      ipcb_kernel_limit(IPCB_LIMIT_SHMSEG, &seg) == 0) /* macOS: 8 */
    return ipcb_fail(ctx, IPCB_ELIMIT,
                     "shmat: EMFILE: this process has %s = %llu segments "
                     "attached; raise it with %s",
                     seg.name, (unsigned long long)seg.value, seg.how);
  if (base == (void *)-1)
    return ipcb_fail_errno(ctx, "shmat");
  c->base = base;
  return 0;
}

static int shm_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                      const ipcb_rdv *rdv) {
  shm_ctx *c = ctx;
  int rc;
  if (role == IPCB_ROLE_PEER) {
    c->ready = 1;
    if (sscanf(rdv->token, "%d,%d,%zu", &c->shm_id, &c->sem_id,
               &c->slot_size) != 3 ||
        c->slot_size < cfg->max_bytes)
      return ipcb_fail(ctx, -EINVAL, "malformed rendezvous '%s'", rdv->token);
  }
  c->depth = cfg->window;
  c->tx_dir = role == IPCB_ROLE_CLIENT ? 0 : 1;
  c->rx_dir = 1 - c->tx_dir;
  if ((rc = attach_segment(ctx, c)) != 0)
    return rc;
  if (role == IPCB_ROLE_PEER)
    return sem_op(ctx, c->sem_id, ATTACHED, 1, "post attached");
  rc = sem_op(ctx, c->sem_id, ATTACHED, -1, "wait for the peer's shmat");
  if (rc)
    return rc;
  /* Both sides hold it: it vanishes with the last detach, even on a crash. */
  shmctl(c->shm_id, IPC_RMID, NULL);
  ipcb_untrack_id(IPCB_OBJ_SYSV_SHM, c->shm_id);
  c->shm_id = -1;
  return 0;
}

/* Both directions use the same slots, one direction at a time. */
static unsigned char *slot(shm_ctx *c, unsigned i) {
  return c->base + (size_t)i * c->slot_size;
}

static int shm_send_buf(void *ctx, size_t n, void **buf) {
  shm_ctx *c = ctx;
  (void)n;
  *buf = slot(c, c->tx_next);
  return 0;
}

static int shm_send(void *ctx, size_t n) {
  shm_ctx *c = ctx;
  (void)n;
  c->tx_next = (c->tx_next + 1) % c->depth;
  return sem_op(ctx, c->sem_id, c->tx_dir ? FULL1 : FULL0, 1, "post full");
}

static int shm_recv(void *ctx, const void **p, size_t *n) {
  shm_ctx *c = ctx;
  (void)n; /* a slot holds exactly what the pattern sent */
  int rc = sem_op(ctx, c->sem_id, c->rx_dir ? FULL1 : FULL0, -1, "wait full");
  *p = slot(c, c->rx_next);
  return rc;
}

static int shm_release(void *ctx) {
  shm_ctx *c = ctx;
  c->rx_next = (c->rx_next + 1) % c->depth;
  return 0;
}

/* Either side removes what is left: the survivor of a crash cleans up. */
static void shm_teardown(void *ctx, ipcb_role role) {
  shm_ctx *c = ctx;
  (void)role;
  if (!c->ready)
    return;
  if (c->base)
    shmdt(c->base);
  c->base = NULL;
  if (c->shm_id >= 0) {
    shmctl(c->shm_id, IPC_RMID, NULL);
    ipcb_untrack_id(IPCB_OBJ_SYSV_SHM, c->shm_id);
  }
  c->shm_id = -1;
  if (c->sem_id >= 0) {
    semctl(c->sem_id, 0, IPC_RMID);
    ipcb_untrack_id(IPCB_OBJ_SYSV_SEM, c->sem_id);
  }
  c->sem_id = -1;
}

const ipcb_transport ipcb_tr_SysVShm = {
    .name = "SysVShm",
    .summary = "System V shared memory (shmget/shmat) with System V "
               "semaphores, as in 2017",
    .caps = IPCB_CAP_SHARED_MEMORY,
    .ctx_size = sizeof(shm_ctx),
    .max_message = shm_limit,
    .setup = shm_setup,
    .attach = shm_attach,
    .send_buf = shm_send_buf,
    .send = shm_send,
    .recv = shm_recv,
    .release = shm_release,
    .teardown = shm_teardown,
};
