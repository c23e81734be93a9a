/* Descriptors for the transports that move bytes through them (any
 * platform): cloexec pipes and socket pairs, whole reads and writes. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kit.h"

int ipcb_pipe_cloexec(void *ctx, int fds[2]) {
#ifdef IPCB_HAVE_PIPE2
  if (pipe2(fds, O_CLOEXEC) != 0)
    return ipcb_fail_errno(ctx, "pipe2");
#else
  /* No pipe2 (macOS): nothing else spawns while a session is set up, so the
   * window between pipe and fcntl leaks the ends nowhere. */
  if (pipe(fds) != 0)
    return ipcb_fail_errno(ctx, "pipe");
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
  return 0;
}

int ipcb_pipe_pair(void *ctx, int *rd, int *wr, ipcb_rdv *rdv) {
  int to_peer[2], to_client[2];
  int rc = ipcb_pipe_cloexec(ctx, to_peer);
  if (rc)
    return rc;
  if ((rc = ipcb_pipe_cloexec(ctx, to_client)) != 0) {
    close(to_peer[0]);
    close(to_peer[1]);
    return rc;
  }
  *rd = to_client[0];
  *wr = to_peer[1];
  rdv->fds[0] = to_peer[0];
  rdv->fds[1] = to_client[1];
  rdv->nfds = 2;
  return 0;
}

static int peer_gone(void *ctx, const char *what) {
  return ipcb_fail(ctx, IPCB_EPEERDIED, "%s: the other side closed its end",
                   what);
}

int ipcb_write_all(void *ctx, int fd, const void *buf, size_t n) {
  const unsigned char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w > 0) {
      p += w, n -= (size_t)w;
      continue;
    }
    if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
      return peer_gone(ctx, "write");
    int rc = w < 0 ? ipcb__retry(ctx, "write") : ipcb_fail_errno(ctx, "write");
    if (rc)
      return rc;
  }
  return 0;
}

int ipcb_read_all(void *ctx, int fd, void *buf, size_t n) {
  unsigned char *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r > 0) {
      p += r, n -= (size_t)r;
      continue;
    }
    if (r == 0 || errno == ECONNRESET)
      return peer_gone(ctx, "read");
    int rc = ipcb__retry(ctx, "read");
    if (rc)
      return rc;
  }
  return 0;
}

void ipcb_close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

int ipcb_socketpair_cloexec(void *ctx, int type, int fds[2]) {
#ifdef IPCB_HAVE_SOCK_CLOEXEC
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds) != 0)
    return ipcb_fail_errno(ctx, "socketpair");
#else
  if (socketpair(AF_UNIX, type, 0, fds) != 0)
    return ipcb_fail_errno(ctx, "socketpair");
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
#ifdef IPCB_HAVE_SO_NOSIGPIPE
  /* macOS has no MSG_NOSIGNAL; SIGPIPE is ignored anyway, this is belt and
   * braces for embedders that restore it. */
  int one = 1;
  setsockopt(fds[0], SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
  setsockopt(fds[1], SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
  return 0;
}
