/* PosixShm: POSIX shared memory (shm_open + mmap) synchronised with named
 * POSIX semaphores (sem_open), the portable pair: macOS has no sem_init for
 * shared semaphores, only named ones (posix).
 *
 * Per direction, `depth` slots and two semaphores: FULL counts messages
 * written and not yet received, FREE counts empty slots. POSIX lists
 * sem_post and sem_wait among the calls that synchronise memory (XBD 4.12),
 * so the receiver sees every byte written before the FULL post, and the
 * sender rewrites a slot only after the FREE post that followed its reads.
 *
 * Every name is unique (ipcb_unique_name, at most 31 characters for macOS),
 * created O_EXCL and 0600, tracked, and unlinked once the peer has opened
 * them all. macOS has no sem_timedwait: a blocked sem_wait is ended by the
 * watchdog's signal (EINTR), as on Linux. */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../kit/kit.h"

enum { FULL0, FREE0, FULL1, FREE1, ATTACHED, NSEMS };
#define NAME_LEN IPCB_SHM_NAME_MAX

typedef struct pshm_ctx {
  int ready, linked; /* linked: the client has names to unlink */
  unsigned char *base;
  size_t map_len, slot_size;
  unsigned depth, tx_dir, rx_dir, tx_next, rx_next;
  sem_t *sem[NSEMS];
  char shm_name[NAME_LEN], sem_name[NSEMS][NAME_LEN];
} pshm_ctx;

static size_t map_size(const ipcb_cfg *cfg) {
  return 2 * (size_t)cfg->window * ipcb__slot_size(cfg->max_bytes);
}

/* The name stays linked until the peer has opened it (attach). */
static int create_shm(void *ctx, pshm_ctx *c) {
  int fd;
  void *map;
  int rc = ipcb__shm_create(ctx, c->map_len, c->shm_name, &fd, &map);
  if (rc)
    return rc;
  c->linked = 1;
  close(fd); /* the mapping keeps the object */
  c->base = map;
  return 0;
}

static int create_sem(void *ctx, pshm_ctx *c, int i, unsigned value) {
  for (int tries = 0;; tries++) {
    ipcb_unique_name(c->sem_name[i], NAME_LEN);
    c->sem[i] = sem_open(c->sem_name[i], O_CREAT | O_EXCL, 0600, value);
    if (c->sem[i] != SEM_FAILED)
      break;
    c->sem[i] = NULL;
    if (errno == ENOSPC)
      return ipcb_fail(ctx, IPCB_ELIMIT, "sem_open: " IPCB__SHM_FULL);
    if (errno != EEXIST || tries == 16)
      return ipcb_fail_errno(ctx, "sem_open(O_CREAT|O_EXCL, 0600)");
  }
  ipcb_track_name(IPCB_OBJ_POSIX_SEM, c->sem_name[i]);
  return 0;
}

static int pshm_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  pshm_ctx *c = ctx;
  c->ready = 1;
  c->map_len = map_size(cfg);
  int rc = create_shm(ctx, c);
  for (int i = 0; !rc && i < NSEMS; i++)
    rc = create_sem(ctx, c, i, i == FREE0 || i == FREE1 ? cfg->window : 0);
  if (rc)
    return rc;
  snprintf(rdv->token, sizeof rdv->token, "%s %s %s %s %s %s", c->shm_name,
           c->sem_name[0], c->sem_name[1], c->sem_name[2], c->sem_name[3],
           c->sem_name[4]);
  return 0;
}

static int sem_wait_eintr(void *ctx, sem_t *s, const char *what) {
  while (sem_wait(s) != 0) {
    int rc = ipcb__retry(ctx, what);
    if (rc)
      return rc;
  }
  return 0;
}

static int sem_post_checked(void *ctx, sem_t *s) {
  return sem_post(s) == 0 ? 0 : ipcb_fail_errno(ctx, "sem_post");
}

/* The peer opens by name what the client created. */
static int open_by_name(void *ctx, pshm_ctx *c, const ipcb_rdv *rdv) {
  if (sscanf(rdv->token, "%31s %31s %31s %31s %31s %31s", c->shm_name,
             c->sem_name[0], c->sem_name[1], c->sem_name[2], c->sem_name[3],
             c->sem_name[4]) != 1 + NSEMS)
    return ipcb_fail(ctx, -EINVAL, "malformed rendezvous '%s'", rdv->token);
  int fd = shm_open(c->shm_name, O_RDWR, 0);
  if (fd < 0)
    return ipcb_fail_errno(ctx, "shm_open(peer)");
  struct stat st;
  void *map = MAP_FAILED;
  if (fstat(fd, &st) == 0 && (size_t)st.st_size >= c->map_len)
    map = mmap(NULL, c->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (map == MAP_FAILED)
    return ipcb_fail(ctx, IPCB_ECORRUPT, "cannot map %zu bytes of %s",
                     c->map_len, c->shm_name);
  c->base = map;
  for (int i = 0; i < NSEMS; i++) {
    c->sem[i] = sem_open(c->sem_name[i], 0);
    if (c->sem[i] == SEM_FAILED) {
      c->sem[i] = NULL;
      return ipcb_fail_errno(ctx, "sem_open(peer)");
    }
  }
  return 0;
}

static void unlink_names(pshm_ctx *c) {
  if (!c->linked)
    return;
  shm_unlink(c->shm_name);
  ipcb_untrack_name(IPCB_OBJ_POSIX_SHM, c->shm_name);
  for (int i = 0; i < NSEMS; i++)
    if (c->sem[i]) {
      sem_unlink(c->sem_name[i]);
      ipcb_untrack_name(IPCB_OBJ_POSIX_SEM, c->sem_name[i]);
    }
  c->linked = 0;
}

static int pshm_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                       const ipcb_rdv *rdv) {
  pshm_ctx *c = ctx;
  int rc;
  c->slot_size = ipcb__slot_size(cfg->max_bytes);
  c->depth = cfg->window;
  c->tx_dir = role == IPCB_ROLE_CLIENT ? 0 : 1;
  c->rx_dir = 1 - c->tx_dir;
  if (role == IPCB_ROLE_PEER) {
    c->ready = 1;
    c->map_len = map_size(cfg);
    if ((rc = open_by_name(ctx, c, rdv)) != 0)
      return rc;
    return sem_post_checked(ctx, c->sem[ATTACHED]);
  }
  rc = sem_wait_eintr(ctx, c->sem[ATTACHED], "sem_wait(peer attached)");
  if (!rc)
    unlink_names(c); /* both sides hold them: nothing can leak from here */
  return rc;
}

static unsigned char *slot(pshm_ctx *c, unsigned dir, unsigned i) {
  return c->base + ((size_t)dir * c->depth + i) * c->slot_size;
}

static int pshm_send_buf(void *ctx, size_t n, void **buf) {
  pshm_ctx *c = ctx;
  (void)n;
  int rc = sem_wait_eintr(ctx, c->sem[c->tx_dir ? FREE1 : FREE0],
                          "sem_wait(free slot)");
  *buf = slot(c, c->tx_dir, c->tx_next);
  return rc;
}

static int pshm_send(void *ctx, size_t n) {
  pshm_ctx *c = ctx;
  (void)n;
  c->tx_next = (c->tx_next + 1) % c->depth;
  return sem_post_checked(ctx, c->sem[c->tx_dir ? FULL1 : FULL0]);
}

static int pshm_recv(void *ctx, const void **p, size_t *n) {
  pshm_ctx *c = ctx;
  (void)n; /* a slot holds exactly what the pattern sent */
  int rc = sem_wait_eintr(ctx, c->sem[c->rx_dir ? FULL1 : FULL0],
                          "sem_wait(full slot)");
  *p = slot(c, c->rx_dir, c->rx_next);
  return rc;
}

static int pshm_release(void *ctx) {
  pshm_ctx *c = ctx;
  c->rx_next = (c->rx_next + 1) % c->depth;
  return sem_post_checked(ctx, c->sem[c->rx_dir ? FREE1 : FREE0]);
}

static void pshm_teardown(void *ctx, ipcb_role role) {
  pshm_ctx *c = ctx;
  if (!c->ready)
    return;
  if (role == IPCB_ROLE_CLIENT)
    unlink_names(c);
  for (int i = 0; i < NSEMS; i++)
    if (c->sem[i])
      sem_close(c->sem[i]);
  memset(c->sem, 0, sizeof c->sem);
  if (c->base)
    munmap(c->base, c->map_len);
  c->base = NULL;
}

const ipcb_transport ipcb_tr_PosixShm = {
    .name = "PosixShm",
    .summary = "POSIX shared memory (shm_open/mmap) with named POSIX "
               "semaphores (sem_open)",
    .caps = IPCB_CAP_SHARED_MEMORY,
    .ctx_size = sizeof(pshm_ctx),
    .setup = pshm_setup,
    .attach = pshm_attach,
    .send_buf = pshm_send_buf,
    .send = pshm_send,
    .recv = pshm_recv,
    .release = pshm_release,
    .teardown = pshm_teardown,
};
