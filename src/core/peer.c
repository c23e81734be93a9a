/* The peer process: the same executable, started by the client's session. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static char peer_error[IPCB_ERR_MAX];
const char *ipcb_peer_error(void) { return peer_error; }

static int serve(const ipcb_peer_args *a, const ipcb_transport *tr) {
  ipcb_rdv rdv;
  memset(&rdv, 0, sizeof rdv);
  snprintf(rdv.token, sizeof rdv.token, "%s", a->token);
  rdv.nfds = a->nfds;
  for (int i = 0; i < a->nfds; i++)
    rdv.fds[i] = a->fd_base + i;
  ipcb_chan *ch = ipcb__chan_new(tr, IPCB_ROLE_PEER, &a->cfg);
  ipcb_watch watch;
  ipcb_watchdog *wd = NULL;
  if (!ch)
    return -ENOMEM;
  memset(&watch, 0, sizeof watch);
  ch->other_pid = a->ppid;
  ch->watch = &watch;
  ipcb__install_wake_signal();
  int rc = ipcb__watchdog_start(&wd, &watch, 0, (pid_t)a->ppid, 0, ch->err,
                                sizeof ch->err);
  /* Bracketed like every blocking call, so that a client that dies while
   * the peer waits in attach (an untimed mach_msg) has the watchdog's
   * signal end the wait. */
  uint64_t epoch = 0;
  if (!rc) {
    ipcb__enter(ch, &epoch);
    rc = tr->attach(ch->ctx, IPCB_ROLE_PEER, &a->cfg, &rdv);
    ipcb__leave(ch, &epoch);
  }
  if (!rc)
    rc = ipcb__peer_serve(ch, &a->opt);
  /* A stop request, or the client gone: leave quietly after cleaning up. */
  int quiet = rc == IPCB_ESTOPPED || rc == IPCB_EPEERDIED ||
              atomic_load(&watch.fault) != 0;
  if (rc && !quiet)
    ipcb__set_err(peer_error, sizeof peer_error, "peer %s: %s", tr->name,
                  ch->err);
  tr->teardown(ch->ctx, IPCB_ROLE_PEER);
  ipcb__watchdog_stop(wd);
  free(ch);
  return quiet ? 0 : rc;
}

/* The survivor's duty: a client that died may have made objects it never
 * handed over (or that this peer never got to), and nobody else alive
 * knows them; its journal does. Whether the client is gone is for the
 * journal's lock to say, not getppid(): on Linux the peer hears of a death
 * (its parent thread's PDEATHSIG, EOF on a pipe) while the client's other
 * threads may still hold the lock (kernel/exit.c: the signal is sent per
 * exiting thread, the files close with the last), and on macOS a dead
 * port is seen before the task's files close (xnu bsd/kern/kern_exit.c:
 * task_terminate_internal at line 1616, fdt_invalidate at 2225). So a peer
 * that believes its client gone waits up to a second for the lock; one
 * that merely failed looks once, and leaves a live client's objects to it. */
static int finish(const ipcb_peer_args *a, int status, int client_gone) {
  if (a->ppid > 0)
    ipcb__sweep_journal_of((pid_t)a->ppid,
                           client_gone ? IPCB_SURVIVOR_WAIT_NS : 0);
  return status;
}

int ipcb_peer_main_if_requested(int argc, char **argv) {
  const char *name = ipcb__peer_argv_transport(argc, argv);
  ipcb_peer_args a;
  if (!name)
    return -1;
  ipcb__install_stop_handlers();
  if (ipcb__peer_argv_read(argc, argv, &a) != 0) {
    ipcb__set_err(peer_error, sizeof peer_error,
                  "peer: malformed --ipc_rdv/--ipc_fds/--ipc_cfg arguments");
    return 2;
  }
  const ipcb_transport *tr = ipcb_transport_find(name);
  if (!tr) {
    ipcb__set_err(peer_error, sizeof peer_error, "peer: unknown transport '%s'",
                  name);
    return 2;
  }
  int rc = ipcb__watch_parent((pid_t)a.ppid, peer_error, sizeof peer_error);
  if (rc)
    return finish(&a, 1, rc == IPCB_EPEERDIED);
  /* Both sides at one class: a peer left at a lower one could run on the
   * efficiency cores, and its slowness would be timed as the mechanism's. */
  rc = ipcb_set_thread_class(a.opt.qos);
  if (rc) {
    ipcb__set_err(peer_error, sizeof peer_error,
                  "peer: cannot set QoS class %d: %s", (int)a.opt.qos,
                  ipcb_errno_name(-rc));
    return finish(&a, 1, 0);
  }
  if (a.opt.pin_peer && ipcb_pin_self(a.opt.peer_cpu) != 0) {
    ipcb__set_err(peer_error, sizeof peer_error, "peer: cannot pin to CPU %d",
                  a.opt.peer_cpu);
    return finish(&a, 1, 0);
  }
  /* 0: it ended quietly, because the client is gone or asked it to stop. */
  int quiet = serve(&a, tr) == 0;
  return finish(&a, quiet ? 0 : 1, quiet);
}
