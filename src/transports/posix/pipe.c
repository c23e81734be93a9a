/* Pipe: two POSIX pipes, one per direction (posix).
 * Each message is copied twice: write() into the pipe's pages, read() out. */
#include "../kit/kit.h"

static int pipe_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  int rd, wr;
  (void)cfg;
  int rc = ipcb_pipe_pair(ctx, &rd, &wr, rdv);
  if (rc == 0)
    ipcb_fdstream_init(ctx, rd, wr);
  return rc;
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
