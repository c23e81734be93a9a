/* TCP: one loopback TCP connection, 127.0.0.1 on an ephemeral port, with
 * TCP_NODELAY on both ends (posix).
 *
 * The client listens in setup and passes the port in the token; the peer
 * connects in its attach, the client accepts in its own and closes the
 * listening socket at once. Any local process could connect to that port
 * first, so the peer opens with a random cookie from the token and the
 * client drops connections that do not. Without TCP_NODELAY, Nagle's
 * algorithm holds a small reply until the previous segment is acked. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../kit/kit.h"

typedef struct tcp_ctx {
  ipcb_fdstream s; /* first: the fdstream helpers take the ctx as one */
  int ready, listen_fd;
  unsigned long long cookie;
} tcp_ctx;

static int new_socket(void *ctx, int *fd) {
#ifdef IPCB_HAVE_SOCK_CLOEXEC
  *fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
#else
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  if (*fd >= 0)
    fcntl(*fd, F_SETFD, FD_CLOEXEC);
#endif
  return *fd < 0 ? ipcb_fail_errno(ctx, "socket(AF_INET, SOCK_STREAM)") : 0;
}

static struct sockaddr_in loopback(unsigned port) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

static int random_cookie(void *ctx, unsigned long long *out) {
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  ssize_t got = fd >= 0 ? read(fd, out, sizeof *out) : -1;
  if (fd >= 0)
    close(fd);
  return got == (ssize_t)sizeof *out
             ? 0
             : ipcb_fail_errno(ctx, "read(/dev/urandom)");
}

static int tcp_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  tcp_ctx *c = ctx;
  (void)cfg;
  c->ready = 1;
  c->listen_fd = -1;
  int rc = random_cookie(ctx, &c->cookie);
  if (rc || (rc = new_socket(ctx, &c->listen_fd)))
    return rc;
  struct sockaddr_in sa = loopback(0);
  socklen_t len = sizeof sa;
  if (bind(c->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    return ipcb_fail_errno(ctx, "bind(127.0.0.1:0)");
  if (listen(c->listen_fd, 4) != 0)
    return ipcb_fail_errno(ctx, "listen");
  if (getsockname(c->listen_fd, (struct sockaddr *)&sa, &len) != 0)
    return ipcb_fail_errno(ctx, "getsockname");
  snprintf(rdv->token, sizeof rdv->token, "%u,%llx", ntohs(sa.sin_port),
           c->cookie);
  return 0;
}

static void no_delay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* An interrupted connect goes on in the background: wait for it to finish
 * (EALREADY) until it succeeds (EISCONN) or fails. */
static int connect_loopback(void *ctx, int fd, unsigned port) {
  struct sockaddr_in sa = loopback(port);
  while (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    if (errno == EISCONN)
      return 0;
    int rc = errno == EALREADY ? ipcb_interrupted(ctx)
                               : ipcb__retry(ctx, "connect(127.0.0.1)");
    if (rc)
      return rc;
    struct pollfd p = {fd, POLLOUT, 0};
    poll(&p, 1, 100);
  }
  return 0;
}

static int attach_peer(void *ctx, tcp_ctx *c, const ipcb_cfg *cfg,
                       const ipcb_rdv *rdv) {
  unsigned port;
  int fd = -1;
  c->ready = 1;
  c->listen_fd = -1;
  if (sscanf(rdv->token, "%u,%llx", &port, &c->cookie) != 2)
    return ipcb_fail(ctx, -EINVAL, "malformed rendezvous '%s'", rdv->token);
  int rc = new_socket(ctx, &fd);
  if (!rc && (rc = connect_loopback(ctx, fd, port)) == 0)
    rc = ipcb_write_all(ctx, fd, &c->cookie, sizeof c->cookie);
  if (rc) {
    ipcb_close_fd(&fd);
    return rc;
  }
  no_delay(fd);
  ipcb_rdv connected = {.fds = {fd}, .nfds = 1};
  return ipcb_fdstream_attach(ctx, IPCB_ROLE_PEER, cfg, &connected);
}

/* Accept until the connection that opens with our cookie. */
static int accept_peer(void *ctx, tcp_ctx *c, int *fd) {
  for (;;) {
    unsigned long long cookie = 0;
    *fd = accept(c->listen_fd, NULL, NULL);
    if (*fd < 0) {
      int rc = ipcb__retry(ctx, "accept");
      if (rc)
        return rc;
      continue;
    }
    fcntl(*fd, F_SETFD, FD_CLOEXEC);
    int rc = ipcb_read_all(ctx, *fd, &cookie, sizeof cookie);
    if (rc == 0 && cookie == c->cookie)
      return 0;
    ipcb_close_fd(fd);
    if (rc && rc != IPCB_EPEERDIED)
      return rc;
  }
}

static int tcp_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                      const ipcb_rdv *rdv) {
  tcp_ctx *c = ctx;
  int fd = -1;
  if (role == IPCB_ROLE_PEER)
    return attach_peer(ctx, c, cfg, rdv);
  int rc = accept_peer(ctx, c, &fd);
  ipcb_close_fd(&c->listen_fd);
  if (rc)
    return rc;
  no_delay(fd);
  ipcb_fdstream_init(&c->s, fd, fd);
  return ipcb_fdstream_attach(ctx, role, cfg, rdv);
}

static void tcp_teardown(void *ctx, ipcb_role role) {
  tcp_ctx *c = ctx;
  ipcb_fdstream_teardown(ctx, role);
  if (c->ready)
    ipcb_close_fd(&c->listen_fd);
}

const ipcb_transport ipcb_tr_TCP = {
    .name = "TCP",
    .summary = "TCP over loopback (127.0.0.1, ephemeral port, TCP_NODELAY); "
               "write() and read() copy",
    .caps = 0,
    .ctx_size = sizeof(tcp_ctx),
    .setup = tcp_setup,
    .attach = tcp_attach,
    .send_buf = ipcb_fdstream_send_buf,
    .send = ipcb_fdstream_send,
    .recv = ipcb_fdstream_recv,
    .teardown = tcp_teardown,
};
