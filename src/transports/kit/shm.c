/* POSIX shared memory for the transports built on it (any platform): one
 * creator, so that every object gets the same unpredictable name, crash
 * journal entry, permissions and allocation guard.
 *
 * No fcntl(FD_CLOEXEC) after shm_open: both libcs set it already (glibc
 * opens with O_CLOEXEC; xnu's pshm_open sets FP_CLOEXEC,
 * bsd/kern/posix_shm.c:483). */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kit.h"

/* ftruncate alone only sets the size: on Linux the pages come from the tmpfs
 * of /dev/shm at first touch, and a full one kills the toucher (either side)
 * with SIGBUS mid-benchmark. Allocating them here turns that into an error
 * that names the limit. */
static int size_object(void *ctx, int fd, size_t bytes) {
  if (ftruncate(fd, (off_t)bytes) != 0)
    return ipcb_fail_errno(ctx, "ftruncate(shm)");
#ifdef IPCB_HAVE_POSIX_FALLOCATE
  int err = posix_fallocate(fd, 0, (off_t)bytes);
  if (err == ENOSPC)
    return ipcb_fail(ctx, IPCB_ELIMIT,
                     "posix_fallocate(shm, %zu bytes): " IPCB__SHM_FULL, bytes);
  if (err != 0 && err != EINVAL && err != EOPNOTSUPP) {
    errno = err;
    return ipcb_fail_errno(ctx, "posix_fallocate(shm)");
  }
#endif
  return 0;
}

/* The name is journalled before the object exists (ipcb_unique_name), and
 * tracked once it does. */
static int open_unique(void *ctx, char *name, int *fd) {
  for (int tries = 0;; tries++) {
    ipcb_unique_name(name, IPCB_SHM_NAME_MAX);
    *fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (*fd >= 0)
      break;
    if (errno != EEXIST || tries == 16)
      return ipcb_fail_errno(ctx, "shm_open(O_CREAT|O_EXCL, 0600)");
  }
  ipcb_track_name(IPCB_OBJ_POSIX_SHM, name);
  return 0;
}

static void unlink_name(const char *name) {
  shm_unlink(name);
  ipcb_untrack_name(IPCB_OBJ_POSIX_SHM, name);
}

int ipcb__shm_create(void *ctx, size_t bytes, char *name, int *fd, void **map) {
  char own[IPCB_SHM_NAME_MAX];
  char *made = name ? name : own;
  *map = NULL;
  int rc = open_unique(ctx, made, fd);
  if (rc)
    return rc;
  if (!name)
    unlink_name(made);
  rc = size_object(ctx, *fd, bytes);
  if (!rc) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    if (p == MAP_FAILED)
      rc = ipcb_fail_errno(ctx, "mmap(MAP_SHARED)");
    else
      *map = p;
  }
  if (rc) {
    ipcb_close_fd(fd);
    if (name)
      unlink_name(name);
  }
  return rc;
}

int ipcb__shm_map_fd(void *ctx, const ipcb_rdv *rdv, size_t bytes, void **map) {
  struct stat st;
  if (rdv->nfds < 1)
    return ipcb_fail(ctx, -EINVAL, "no shared memory descriptor inherited");
  int fd = rdv->fds[0];
  if (fstat(fd, &st) != 0 || (size_t)st.st_size < bytes) {
    close(fd);
    return ipcb_fail(ctx, IPCB_ECORRUPT,
                     "the inherited shared memory is smaller than %zu bytes",
                     bytes);
  }
  *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (*map == MAP_FAILED) {
    *map = NULL;
    return ipcb_fail_errno(ctx, "mmap(MAP_SHARED)");
  }
  return 0;
}
