/* The transport kit: parts that several transports share (any platform).
 *
 * Not a transport folder: CMake lists these files by name instead of
 * scanning them for tables, and the core never calls into them, so the
 * contract in ipcb/transport.h stays what the core offers. */
#ifndef IPCB_TRANSPORTS_KIT_H
#define IPCB_TRANSPORTS_KIT_H

#include <errno.h>
#include <stddef.h>

#include "ipcb/transport.h"

/* ---- Interrupted calls -------------------------------------------------- */

/* A call failed with errno set. 0 means make it again: it was interrupted
 * (EINTR, the watchdog's signal or a stop request) and ipcb_interrupted()
 * lets the wait go on. Otherwise the code to return: the end of the wait
 * (IPCB_EPEERDIED, IPCB_ETIMEDOUT, IPCB_ESTOPPED), or `fail(ctx, call)` for
 * any other errno. Inline and reached only after a failure, so a call that
 * succeeds pays nothing for it. Errnos with a meaning of their own (EPIPE:
 * the peer is gone) are tested before. */
static inline int ipcb__retry_or(void *ctx, const char *call,
                                 int (*fail)(void *, const char *)) {
  if (errno == EINTR)
    return ipcb_interrupted(ctx);
  return fail(ctx, call);
}

/* The same, failing with ipcb_fail_errno(ctx, call). */
static inline int ipcb__retry(void *ctx, const char *call) {
  return ipcb__retry_or(ctx, call, ipcb_fail_errno);
}

/* ---- Slot sizes --------------------------------------------------------- */

/* n rounded up to a multiple of unit (> 0). */
static inline size_t ipcb__round_up(size_t n, size_t unit) {
  return (n + unit - 1) / unit * unit;
}

/* A slot for messages of up to max_bytes, in whole 64-byte lines: the
 * core's stamps sit at the head of each line, and no two slots share one. */
static inline size_t ipcb__slot_size(size_t max_bytes) {
  return ipcb__round_up(max_bytes, 64);
}

/* ---- Descriptors (fdio.c) ----------------------------------------------- */

/* A pipe with FD_CLOEXEC on both ends (pipe2 where it exists). */
int ipcb_pipe_cloexec(void *ctx, int fds[2]);
/* Two such pipes, one per direction: this side keeps *rd and *wr, and the
 * peer's ends go into rdv->fds[0] (it reads) and rdv->fds[1] (it writes). */
int ipcb_pipe_pair(void *ctx, int *rd, int *wr, ipcb_rdv *rdv);
/* Write or read exactly n bytes, answering EINTR with ipcb_interrupted().
 * End of file and EPIPE/ECONNRESET become IPCB_EPEERDIED. */
int ipcb_write_all(void *ctx, int fd, const void *buf, size_t n);
int ipcb_read_all(void *ctx, int fd, void *buf, size_t n);
/* Close *fd if open and mark it closed (-1). */
void ipcb_close_fd(int *fd);
/* socketpair(2) with FD_CLOEXEC on both ends. */
int ipcb_socketpair_cloexec(void *ctx, int type, int fds[2]);

/* ---- Byte streams (fdstream.c) ------------------------------------------ */

/* A byte stream over descriptors, the shared half of Pipe, UnixStream and
 * TCP: one private buffer to stage and to receive, write() and read() of
 * exactly n bytes (no framing: both sides know the size). A transport embeds it
 * as the FIRST member of its context and plugs the functions below into its
 * table; only setup (and a connecting attach) are its own. */
typedef struct ipcb_fdstream {
  int ready; /* rd/wr are valid, -1 when closed */
  int rd, wr;
  unsigned char *buf; /* stages what is sent and receives what comes */
} ipcb_fdstream;
/* Client side, in setup: the descriptors this side keeps (rd may be wr). */
void ipcb_fdstream_init(ipcb_fdstream *s, int rd, int wr);
/* Attach: the peer takes rdv->fds[0] to read and rdv->fds[1] to write (or
 * fds[0] for both when there is one); both sides allocate their buffers. */
int ipcb_fdstream_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                         const ipcb_rdv *rdv);
int ipcb_fdstream_send_buf(void *ctx, size_t n, void **buf);
int ipcb_fdstream_send(void *ctx, size_t n);
int ipcb_fdstream_recv(void *ctx, const void **p, size_t *n);
void ipcb_fdstream_teardown(void *ctx, ipcb_role role);

/* ---- POSIX shared memory (shm.c) ---------------------------------------- */

/* Room for a name from ipcb_unique_name() that macOS accepts (PSHMNAMLEN,
 * 31 characters). */
#define IPCB_SHM_NAME_MAX 32

/* Linux keeps POSIX shared memory and named semaphores in /dev/shm. */
#define IPCB__SHM_FULL                                                         \
  "ENOSPC: the file system of POSIX shared memory (/dev/shm, a tmpfs) is "     \
  "full; free it or raise its size with sudo mount -o remount,size=<bytes> "   \
  "/dev/shm"

/* Client: a new POSIX shared memory object of `bytes`, zeroed, under a name
 * from ipcb_unique_name() (O_CREAT | O_EXCL, 0600, a fresh name on EEXIST),
 * mapped shared at *map; *fd is its descriptor (FD_CLOEXEC). With `name`
 * NULL, the name is unlinked at once, so that only the descriptor and the
 * mappings keep the object alive. Otherwise the name (IPCB_SHM_NAME_MAX
 * bytes) is written there and left linked and tracked for the caller to
 * unlink and untrack. On failure nothing is left: *fd is -1, *map NULL, and
 * a name that was made is gone. */
int ipcb__shm_create(void *ctx, size_t bytes, char *name, int *fd, void **map);

/* Peer: map the inherited rdv->fds[0], which must hold `bytes`, and close it
 * (the mapping keeps the memory). */
int ipcb__shm_map_fd(void *ctx, const ipcb_rdv *rdv, size_t bytes, void **map);

#endif /* IPCB_TRANSPORTS_KIT_H */
