/* ShmFcntl: shared-memory slots handed over with POSIX record locks
 * (fcntl F_SETLKW), the 2017 article's "file locking" (posix).
 *
 * The payload sits in slots of an unlinked POSIX shared memory object, as
 * PosixShm's; the locks are bytes 0, 1 and 2 of a private unlinked file
 * (ipcb_private_file) whose descriptor the peer inherits. macOS takes
 * record locks only on a vnode, not on a shared memory descriptor (xnu
 * bsd/kern/kern_descrip.c:3014-3018, EBADF), hence the file.
 *
 * The turn. The side that sent last holds the turn until it waits for an
 * answer; a wait hands the turn over. Locks never synchronise the data:
 * `posted` (release store by the sender, acquire load by the receiver) does,
 * and a receive that finds a message posted makes no system call, so a
 * Stream's window arrives at once when the sender hands over.
 *
 * The hand-over. Hand-over k (client: k even, peer: k odd) is made by the
 * side holding L[k] and L[k+2] (indices mod 3) while the other holds
 * L[k+1] and waits for L[k]. The mover counts the hand-over in `turns`,
 * unlocks L[k], then waits for L[k+1]; the other side, granted L[k], now
 * holds L[k] and L[k+1] and is the mover of hand-over k+1. Why three locks:
 * with two, the mover's next wait is for a lock it already holds, which
 * POSIX grants at once (a process never blocks on its own lock).
 *   Strict: the mover cannot take L[k+1] before the other side has taken
 *   L[k] and given L[k+1] up, so the turns alternate.
 *   No EDEADLK: each side waits for one lock at a time, and only after it
 *   unlocked the one the other side waits for (the peer's first wait holds
 *   nothing the client waits for: the client asks for L[1] only after
 *   unlocking L[0]). An unlock takes its waiters
 *   off the wait list before it returns (Linux fs/locks.c,
 *   __locks_wake_up_blocks; xnu bsd/kern/kern_lockf.c:1464-1480,
 *   lf_wakelock sets lf_next to NULL), and the deadlock search skips a
 *   waiter so woken (Linux: what_owner_is_waiting_for reads the blocked
 *   hash; xnu kern_lockf.c:656-663, "no lf_next"), so no cycle is ever seen.
 *   Adjacent locks of one owner merge ({0,1}, {1,2}); trimming one wakes
 *   its waiters (Linux) or moves them to the merged lock (xnu
 *   lf_move_blocked), which at worst makes them ask again.
 *   tests/model/fcntl_handover.pml checks both, with controls that fail.
 *   Ending: F_SETLKW sleeps interruptibly (Linux: wait_event_interruptible;
 *   xnu kern_lockf.c:543-547, PCATCH), so the watchdog's signal ends it
 *   with EINTR. A side that dies drops its locks, which grants the waiter a
 *   lock with no hand-over counted: that is the peer's death. One that
 *   dies between counting a hand-over and unlocking is found at the next
 *   wait, for a lock it also held.
 *
 * Start. Record locks are not inherited, and closing any descriptor of the
 * file drops all of a process's locks on it (xnu kern_descrip.c:270-279),
 * so each side takes its first locks in attach, after the core has closed
 * the client's copy of the peer's descriptor: the client L[0] and L[2], the
 * peer L[1]. Neither may start before the other holds them; that one wait
 * polls a flag in the region (it is not timed). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../kit/kit.h"
#include "../kit/spin.h"

typedef struct fcntl_ctl {
  _Atomic uint32_t posted[2]; /* messages written per direction, ever */
  _Atomic uint32_t turns;     /* hand-overs made, ever */
  _Atomic uint32_t holding;   /* bit per role: its first locks are taken */
} fcntl_ctl;

typedef struct fcntl_ctx {
  int ready;
  int lock_fd;
  unsigned char *base; /* a fcntl_ctl line, then 2 * depth slots */
  size_t map_len, slot_size;
  unsigned depth, tx_dir, rx_dir, tx_next, rx_next;
  uint32_t sent, received;
  int give, take; /* the lock to unlock at the next wait (-1: none), and
                     the one to wait for */
} fcntl_ctx;

static size_t map_size(const ipcb_cfg *cfg) {
  return IPCB_LINE + 2 * (size_t)cfg->window * ipcb__slot_size(cfg->max_bytes);
}

static fcntl_ctl *ctl(fcntl_ctx *c) { return (fcntl_ctl *)c->base; }

static unsigned char *slot(fcntl_ctx *c, unsigned dir, unsigned i) {
  return c->base + IPCB_LINE + ((size_t)dir * c->depth + i) * c->slot_size;
}

static int lock_op(int fd, int cmd, short type, int which) {
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = which;
  fl.l_len = 1;
  return fcntl(fd, cmd, &fl);
}

static int take_now(void *ctx, fcntl_ctx *c, int which) {
  if (lock_op(c->lock_fd, F_SETLK, F_WRLCK, which) == 0)
    return 0;
  return ipcb_fail_errno(ctx, "fcntl(F_SETLK, first lock)");
}

/* F_SETLKW: each EINTR asks ipcb_interrupted(), which ends the wait or
 * lets it go on. */
static int wait_for(void *ctx, fcntl_ctx *c, int which) {
  while (lock_op(c->lock_fd, F_SETLKW, F_WRLCK, which) != 0) {
    int rc = ipcb__retry(ctx, "fcntl(F_SETLKW)");
    if (rc)
      return rc;
  }
  return 0;
}

/* One hand-over: give the turn, wait for it to come back. A lock granted
 * with no hand-over counted was dropped by a process that ended. */
static int hand_over(void *ctx, fcntl_ctx *c) {
  fcntl_ctl *k = ctl(c);
  uint32_t before;
  if (c->give >= 0) {
    before = atomic_fetch_add(&k->turns, 1) + 1;
    if (lock_op(c->lock_fd, F_SETLK, F_UNLCK, c->give) != 0)
      return ipcb_fail_errno(ctx, "fcntl(F_SETLK, F_UNLCK)");
  } else {
    before = 0; /* the peer's first wait: for hand-over 0, made or not */
  }
  int rc = wait_for(ctx, c, c->take);
  if (rc)
    return rc;
  if (atomic_load(&k->turns) == before)
    return ipcb_fail(ctx, IPCB_EPEERDIED,
                     "the other side's record lock was dropped with no "
                     "hand-over: it exited");
  c->give = (c->take + 1) % 3;
  c->take = (c->take + 2) % 3;
  return 0;
}

static int fcntl_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  fcntl_ctx *c = ctx;
  int shm_fd, lock_fd;
  void *map;
  c->ready = 1;
  c->lock_fd = -1;
  c->map_len = map_size(cfg);
  int rc = ipcb__shm_create(ctx, c->map_len, NULL, &shm_fd, &map);
  if (rc)
    return rc;
  c->base = map;
  rdv->fds[rdv->nfds++] = shm_fd;
  if ((rc = ipcb_private_file(ctx, &lock_fd)) != 0)
    return rc;
  rdv->fds[rdv->nfds++] = lock_fd;
  /* The core closes the descriptors it hands over once the peer has them:
   * a close that would drop this side's locks, had it taken any yet. */
  c->lock_fd = fcntl(lock_fd, F_DUPFD_CLOEXEC, 0);
  return c->lock_fd >= 0 ? 0 : ipcb_fail_errno(ctx, "fcntl(F_DUPFD_CLOEXEC)");
}

/* Until the other side holds its first locks; each pause asks
 * ipcb_interrupted(), so the peer's death or the deadline ends it. */
static int await_other(void *ctx, fcntl_ctx *c) {
  struct timespec pause = {0, 50 * 1000};
  while (atomic_load(&ctl(c)->holding) != 3u) {
    int rc = ipcb_interrupted(ctx);
    if (rc)
      return rc;
    nanosleep(&pause, NULL);
  }
  return 0;
}

static int fcntl_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                        const ipcb_rdv *rdv) {
  fcntl_ctx *c = ctx;
  int rc;
  c->slot_size = ipcb__slot_size(cfg->max_bytes);
  c->depth = cfg->window;
  c->tx_dir = role == IPCB_ROLE_CLIENT ? 0 : 1;
  c->rx_dir = 1 - c->tx_dir;
  if (role == IPCB_ROLE_PEER) {
    c->ready = 1;
    c->lock_fd = -1;
    c->map_len = map_size(cfg);
    if (rdv->nfds != 2)
      return ipcb_fail(ctx, -EINVAL, "expected 2 descriptors, got %d",
                       rdv->nfds);
    c->lock_fd = rdv->fds[1];
    void *map;
    if ((rc = ipcb__shm_map_fd(ctx, rdv, c->map_len, &map)) != 0)
      return rc;
    c->base = map;
    c->give = -1, c->take = 0;
    rc = take_now(ctx, c, 1);
  } else {
    c->give = 0, c->take = 1;
    rc = take_now(ctx, c, 0);
    if (!rc)
      rc = take_now(ctx, c, 2);
  }
  if (rc)
    return rc;
  atomic_fetch_or(&ctl(c)->holding, 1u << role);
  return await_other(ctx, c);
}

static int fcntl_send_buf(void *ctx, size_t n, void **buf) {
  fcntl_ctx *c = ctx;
  (void)n; /* the core's window promise: this slot was released */
  *buf = slot(c, c->tx_dir, c->tx_next);
  return 0;
}

static int fcntl_send(void *ctx, size_t n) {
  fcntl_ctx *c = ctx;
  (void)n;
  c->tx_next = (c->tx_next + 1) % c->depth;
  atomic_store_explicit(&ctl(c)->posted[c->tx_dir], ++c->sent,
                        memory_order_release);
  return 0;
}

static int fcntl_recv(void *ctx, const void **p, size_t *n) {
  fcntl_ctx *c = ctx;
  (void)n; /* a slot holds exactly what the pattern sent */
  /* A turn handed back with nothing posted is handed over again; between
   * two, the watchdog's verdict ends what would be a livelock. */
  for (int waits = 0; atomic_load_explicit(&ctl(c)->posted[c->rx_dir],
                                           memory_order_acquire) == c->received;
       waits++) {
    int rc = waits ? ipcb_interrupted(ctx) : 0;
    if (!rc)
      rc = hand_over(ctx, c);
    if (rc)
      return rc;
  }
  c->received++;
  *p = slot(c, c->rx_dir, c->rx_next);
  return 0;
}

static int fcntl_release(void *ctx) {
  fcntl_ctx *c = ctx;
  c->rx_next = (c->rx_next + 1) % c->depth;
  return 0;
}

/* Closing the file drops this side's locks, which ends the other side's
 * wait as a death. */
static void fcntl_teardown(void *ctx, ipcb_role role) {
  fcntl_ctx *c = ctx;
  (void)role;
  if (!c->ready)
    return;
  ipcb_close_fd(&c->lock_fd);
  if (c->base)
    munmap(c->base, c->map_len);
  c->base = NULL;
}

const ipcb_transport ipcb_tr_ShmFcntl = {
    .name = "ShmFcntl",
    .summary = "POSIX shared memory slots handed over with fcntl record "
               "locks (F_SETLKW) on a private file",
    .caps = IPCB_CAP_SHARED_MEMORY,
    .ctx_size = sizeof(fcntl_ctx),
    .setup = fcntl_setup,
    .attach = fcntl_attach,
    .send_buf = fcntl_send_buf,
    .send = fcntl_send,
    .recv = fcntl_recv,
    .release = fcntl_release,
    .teardown = fcntl_teardown,
};
