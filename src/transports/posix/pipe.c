/* Pipe: two POSIX pipes, one per direction (posix).
 * Each message is copied twice: write() into the pipe's pages, read() out. */
#include "ipcb/transport.h"

static int pipe_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  int to_peer[2], to_client[2], rc;
  (void)cfg;
  if ((rc = ipcb_pipe_cloexec(ctx, to_peer)) != 0)
    return rc;
  if ((rc = ipcb_pipe_cloexec(ctx, to_client)) != 0) {
    ipcb_close_fd(&to_peer[0]);
    ipcb_close_fd(&to_peer[1]);
    return rc;
  }
  ipcb_fdstream_init(ctx, to_client[0], to_peer[1]);
  rdv->fds[0] = to_peer[0];
  rdv->fds[1] = to_client[1];
  rdv->nfds = 2;
  return 0;
}

const ipcb_transport ipcb_tr_Pipe = {
    .name = "Pipe",
    .summary = "two pipe(2)s, one per direction; write() and read() copy",
    .caps = 0,
    .ctx_size = sizeof(ipcb_fdstream),
    .setup = pipe_setup,
    .attach = ipcb_fdstream_attach,
    .send_buf = ipcb_fdstream_send_buf,
    .send = ipcb_fdstream_send,
    .recv = ipcb_fdstream_recv,
    .teardown = ipcb_fdstream_teardown,
};
