/* Interruption, in one place: the stop request a peer's SIGTERM or SIGINT
 * makes, and ipcb_interrupted(), which every transport asks after EINTR.
 *
 * Two things end a blocked call. In the peer, SIGTERM (its client died:
 * PR_SET_PDEATHSIG, or the kqueue watch on macOS) or SIGINT sets the stop
 * flag; in either process the watchdog records a fault and sends the wake
 * signal. Both handlers run without SA_RESTART, so the call returns EINTR
 * and the transport comes here to learn whether to wait again. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig) {
  (void)sig;
  stop_requested = 1;
}

void ipcb__install_stop_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: a blocked call returns EINTR */
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

int ipcb_interrupted(void *ctx) {
  ipcb_chan *ch = ipcb__chan_of(ctx);
  /* A stop request ends the wait at once, watchdog or not. */
  if (stop_requested)
    return ipcb_fail(ctx, IPCB_ESTOPPED, "stopped by a signal");
  if (!ch->watch)
    return 0;
  int code = atomic_load_explicit(&ch->watch->fault, memory_order_acquire);
  if (code)
    ipcb__watch_describe(ch->watch, ch->err, sizeof ch->err);
  return code;
}
