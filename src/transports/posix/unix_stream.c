/* UnixStream: socketpair(AF_UNIX, SOCK_STREAM), one socket per side (posix).
 * Like a pipe, each message is copied into socket buffers and out again. */
#include <sys/socket.h>

#include "../kit/kit.h"

static int unix_stream_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  int sv[2];
  (void)cfg;
  int rc = ipcb_socketpair_cloexec(ctx, SOCK_STREAM, sv);
  if (rc)
    return rc;
  ipcb_fdstream_init(ctx, sv[0], sv[0]);
  rdv->fds[0] = sv[1];
  rdv->nfds = 1;
  return 0;
}

const ipcb_transport ipcb_tr_UnixStream = {
    .name = "UnixStream",
    .summary = "socketpair(AF_UNIX, SOCK_STREAM); write() and read() copy",
    .caps = 0,
    .ctx_size = sizeof(ipcb_fdstream),
    .setup = unix_stream_setup,
    .attach = ipcb_fdstream_attach,
    .send_buf = ipcb_fdstream_send_buf,
    .send = ipcb_fdstream_send,
    .recv = ipcb_fdstream_recv,
    .teardown = ipcb_fdstream_teardown,
};
