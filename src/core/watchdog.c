/* The watchdog: notices a dead or silent other side and interrupts the
 * blocked call of the thread that runs the session.
 *
 * Waiting in slices (poll with a timeout, then check) would add a system call
 * to every receive, which on a VM costs more than 1 us per round trip. So
 * transports block in the plain call, and this thread, once per slice, looks
 * at the peer (waitid with WNOWAIT, leaving the zombie for the reaper) and at
 * the session's call epoch. On a fault it records the reason and sends the
 * session thread a signal whose handler does nothing and has no SA_RESTART,
 * so the blocked call returns EINTR and the transport asks ipcb_interrupted().
 * The signal is re-sent every slice until the call returns, which covers a
 * signal that lands just before the thread enters the system call.
 *
 * The peer runs one too, watching its parent: PR_SET_PDEATHSIG or kqueue
 * deliver a SIGTERM, but one that lands between two calls would be lost and
 * leave the peer blocked forever on a semaphore nobody will post. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

/* Ignored by default and used by no library we link. */
#define WAKE_SIGNAL SIGURG

struct ipcb_watchdog {
  pthread_t thread, target;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;
  ipcb_watch *w;
  pid_t peer;         /* the child to watch, or 0 */
  pid_t parent;       /* the parent to watch, or 0 */
  int64_t timeout_ns; /* 0: no deadline */
};

static void on_wake(int sig) { (void)sig; }

static void install_wake_once(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_wake;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART: the blocked call must return EINTR */
  sigaction(WAKE_SIGNAL, &sa, NULL);
  /* A dead reader must be an EPIPE error, not a fatal signal. */
  signal(SIGPIPE, SIG_IGN);
}

void ipcb__install_wake_signal(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, install_wake_once);
}

static const char *signal_name(int sig) {
  switch (sig) {
  case SIGKILL: return "SIGKILL";
  case SIGTERM: return "SIGTERM";
  case SIGINT: return "SIGINT";
  case SIGSEGV: return "SIGSEGV";
  case SIGBUS: return "SIGBUS";
  case SIGABRT: return "SIGABRT";
  case SIGILL: return "SIGILL";
  case SIGFPE: return "SIGFPE";
  case SIGPIPE: return "SIGPIPE";
  default: return "a signal";
  }
}

int ipcb__peer_status(pid_t pid, int64_t wait_ns, char *out, size_t len) {
  int64_t end = ipcb_now_ns() + wait_ns;
  for (;;) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    /* Only an exit or a fatal signal is a death: a report (swift-subprocess,
     * macOS 26) has waitid(WEXITED) there also return stopped children. */
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        si.si_pid == pid &&
        (si.si_code == CLD_EXITED || si.si_code == CLD_KILLED ||
         si.si_code == CLD_DUMPED)) {
      if (si.si_code == CLD_EXITED)
        snprintf(out, len, "peer (pid %d) exited with status %d", (int)pid,
                 si.si_status);
      else
        snprintf(out, len, "peer (pid %d) was killed by %s (%d)", (int)pid,
                 signal_name(si.si_status), si.si_status);
      return 1;
    }
    if (ipcb_now_ns() >= end)
      return 0;
    struct timespec nap = {0, 5 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
}

static void check_once(ipcb_watchdog *wd, uint64_t epoch, int64_t stalled) {
  ipcb_watch *w = wd->w;
  if (atomic_load_explicit(&w->fault, memory_order_relaxed))
    return;
  if (wd->parent && getppid() != wd->parent) {
    snprintf(w->fault_text, sizeof w->fault_text, "the client (pid %d) exited",
             (int)wd->parent);
    atomic_store_explicit(&w->fault, IPCB_EPEERDIED, memory_order_release);
  } else if (wd->peer && ipcb__peer_status(wd->peer, 0, w->fault_text,
                                           sizeof w->fault_text)) {
    atomic_store_explicit(&w->fault, IPCB_EPEERDIED, memory_order_release);
  } else if (wd->timeout_ns && (epoch & 1) && stalled >= wd->timeout_ns) {
    snprintf(w->fault_text, sizeof w->fault_text,
             "timed out after %.3g s: peer (pid %d) is alive but not "
             "answering; raise --ipc_timeout if it is only slow",
             (double)wd->timeout_ns / 1e9, (int)wd->peer);
    atomic_store_explicit(&w->fault, IPCB_ETIMEDOUT, memory_order_release);
  }
}

static void *watch_loop(void *arg) {
  ipcb_watchdog *wd = arg;
  uint64_t last = atomic_load_explicit(&wd->w->epoch, memory_order_relaxed);
  int64_t since = ipcb_now_ns();
  pthread_mutex_lock(&wd->mu);
  while (!wd->stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until); /* macOS: no condattr_setclock */
    until.tv_nsec += IPCB_WATCH_SLICE_NS;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&wd->cv, &wd->mu, &until);
    if (wd->stop)
      break;
    uint64_t epoch = atomic_load_explicit(&wd->w->epoch, memory_order_relaxed);
    int64_t now = ipcb_now_ns();
    if (epoch != last)
      last = epoch, since = now;
    check_once(wd, epoch, now - since);
    if ((epoch & 1) &&
        atomic_load_explicit(&wd->w->fault, memory_order_relaxed))
      pthread_kill(wd->target, WAKE_SIGNAL);
  }
  pthread_mutex_unlock(&wd->mu);
  return NULL;
}

int ipcb__watchdog_start(ipcb_watchdog **out, ipcb_watch *w, pid_t peer,
                         pid_t parent, int64_t timeout_ns, char *err,
                         size_t errlen) {
  ipcb_watchdog *wd = calloc(1, sizeof *wd);
  *out = NULL;
  if (!wd)
    return -ENOMEM;
  wd->target = pthread_self();
  wd->w = w;
  wd->peer = peer;
  wd->parent = parent;
  wd->timeout_ns = timeout_ns;
  pthread_mutex_init(&wd->mu, NULL);
  pthread_cond_init(&wd->cv, NULL);
  /* The watchdog never takes the wake signal or the cleanup signals. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&wd->thread, NULL, watch_loop, wd);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    ipcb__set_err(err, errlen, "pthread_create: %s", ipcb_errno_name(rc));
    free(wd);
    return -rc;
  }
  *out = wd;
  return 0;
}

void ipcb__watchdog_stop(ipcb_watchdog *wd) {
  if (!wd)
    return;
  pthread_mutex_lock(&wd->mu);
  wd->stop = 1;
  pthread_cond_signal(&wd->cv);
  pthread_mutex_unlock(&wd->mu);
  pthread_join(wd->thread, NULL);
  pthread_cond_destroy(&wd->cv);
  pthread_mutex_destroy(&wd->mu);
  free(wd);
}
