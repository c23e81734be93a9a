/* Helpers for the shared-memory transports that spin (ShmSpin, and the
 * CacheLine baseline): an unnamed POSIX shared memory object handed to the
 * peer as a descriptor, and the spin-wait (posix). */
#ifndef IPCB_TRANSPORTS_SHARED_MEM_H
#define IPCB_TRANSPORTS_SHARED_MEM_H

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipcb/transport.h"

/* The words both processes spin on must not hide a lock that lives in one
 * process only. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

/* 128, not 64: Apple's M-series lines are 128 bytes, and Intel's adjacent-
 * line prefetcher pulls lines in pairs, so two words 64 bytes apart would
 * still bounce together. */
#define IPCB_LINE 128

/* Architecture (not OS) macros: the CPU's spin-loop hint, which frees the
 * sibling hyperthread and avoids the memory-order flush on loop exit. */
static inline void ipcb__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* About 30-40 us of pause instructions between two deadline checks. */
#define IPCB_SPINS_PER_CHECK 1024u

/* Spins while *word == value; 0 once it changed (the load that saw the
 * change is an acquire), or the code that ends the wait. Every check also
 * yields the CPU once: free when nothing else is runnable, and it keeps two
 * spinners that share one CPU from each burning a whole time slice. */
static inline int ipcb__spin_while(void *ctx, _Atomic uint64_t *word,
                                   uint64_t value) {
  for (unsigned spins = 1;; spins++) {
    if (atomic_load_explicit(word, memory_order_acquire) != value)
      return 0;
    ipcb__cpu_relax();
    if (spins % IPCB_SPINS_PER_CHECK == 0) {
      int rc = ipcb_interrupted(ctx);
      if (rc)
        return rc;
      sched_yield();
    }
  }
}

/* Linux keeps POSIX shared memory and named semaphores in /dev/shm. */
#define IPCB__SHM_FULL                                                         \
  "ENOSPC: the file system of POSIX shared memory (/dev/shm, a tmpfs) is "     \
  "full; free it or raise its size with sudo mount -o remount,size=<bytes> "   \
  "/dev/shm"

/* Size a new shared memory object. ftruncate alone only sets the size: on
 * Linux the pages come from the tmpfs of /dev/shm at first touch, and a full
 * one kills the toucher (either side) with SIGBUS mid-benchmark. Allocating
 * them here turns that into an error that names the limit. */
static inline int ipcb__shm_size(void *ctx, int fd, size_t bytes) {
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

/* Client: `bytes` of shared memory that no name outlives: shm_open under a
 * unique name, unlinked at once; the descriptor keeps it alive and is what
 * the peer inherits. */
static inline int ipcb__shm_anon(void *ctx, size_t bytes, int *fd, void **map) {
  char name[32];
  *fd = -1;
  for (int tries = 0; *fd < 0; tries++) {
    ipcb_unique_name(name, sizeof name);
    *fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (*fd < 0 && (errno != EEXIST || tries == 16))
      return ipcb_fail_errno(ctx, "shm_open(O_CREAT|O_EXCL, 0600)");
  }
  ipcb_track_name(IPCB_OBJ_POSIX_SHM, name);
  shm_unlink(name);
  ipcb_untrack_name(IPCB_OBJ_POSIX_SHM, name);
  int rc = ipcb__shm_size(ctx, *fd, bytes);
  if (rc)
    return rc;
  *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
  if (*map == MAP_FAILED) {
    *map = NULL;
    return ipcb_fail_errno(ctx, "mmap(MAP_SHARED)");
  }
  return 0;
}

/* Peer: map the inherited descriptor, which must hold `bytes`, and close it
 * (the mapping keeps the memory). */
static inline int ipcb__shm_map_fd(void *ctx, const ipcb_rdv *rdv, size_t bytes,
                                   void **map) {
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

#endif /* IPCB_TRANSPORTS_SHARED_MEM_H */
