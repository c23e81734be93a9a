/* The watchdog: notices a dead or silent other side and interrupts the
 * blocked call of the thread that runs the session.
 *
 * Waiting in slices (poll with a timeout, then check) would add a system call
 * to every receive, which on a VM costs more than 1 us per round trip. So
 * transports block in the plain call, and once per slice the watchdog looks
 * at the peer (waitid with WNOWAIT, leaving the zombie for the reaper) and at
 * the session's call epoch. On a fault it records the reason and makes the
 * blocked call return EINTR, and the transport asks ipcb_interrupted().
 *
 * Where the platform has a timer that signals one thread (Linux), the slice
 * is that timer's signal and the check runs in its handler, on the session
 * thread itself: no second thread. A second thread, even one that only
 * sleeps, costs every read and write of the process: glibc takes their
 * cancellation path for good, and the kernel counts references to the
 * shared descriptor table (measured: a 12 B Pipe round trip on one CPU,
 * 3.03 us against 2.89 us, the hand-written one 2.68). The handler runs
 * with SA_RESTART, so a slice restarts the calls the kernel restarts and
 * ends the others with EINTR, which transports already answer by asking
 * again; after a fault it runs without, so the next slice ends the call.
 *
 * Elsewhere (macOS) a thread waits out each slice and sends the session
 * thread the same signal, without SA_RESTART, re-sent every slice until the
 * call returns, which covers a signal that lands just before the thread
 * enters the system call.
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
  ipcb_thread_timer *timer; /* the slice, or NULL: the thread below */
  int tag;                  /* its ticks' si_value (live_add) */
  int faulted;              /* counted in `faulted_watchdogs` */
  uint64_t last;            /* the epoch at `since` */
  int64_t since;
  pthread_t thread, target;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop;
  ipcb_watch *w;
  pid_t peer;         /* the child to watch, or 0 */
  pid_t parent;       /* the parent to watch, or 0 */
  int64_t timeout_ns; /* 0: no deadline */
};

/* Watchdogs that found a fault and still run: while any does, the wake
 * signal ends blocked calls instead of restarting them. */
static _Atomic int faulted_watchdogs;

/* The watchdogs whose timer may still signal, each tick tagged with its
 * slot and the slot's generation. Linux leaves a tick that is already
 * queued pending when its timer is deleted (kernel/signal.c, sigqueue_free:
 * "If it is queued it will be freed when dequeued"), so a tick can arrive
 * after its watchdog is freed, or once its slot holds another: the
 * generation, bumped when a slot is given up, tells it so. */
enum { LIVE_MAX = 32, GEN_MAX = (1 << 24) };
static struct {
  _Atomic(ipcb_watchdog *) wd;
  _Atomic int gen;
} live[LIVE_MAX];

/* The tag of wd's ticks, or -1 when every slot is taken. */
static int live_add(ipcb_watchdog *wd) {
  for (int i = 0; i < LIVE_MAX; i++) {
    ipcb_watchdog *none = NULL;
    if (atomic_compare_exchange_strong(&live[i].wd, &none, wd))
      return atomic_load(&live[i].gen) * LIVE_MAX + i;
  }
  return -1;
}

static void live_remove(int tag) {
  int i = tag % LIVE_MAX;
  atomic_store(&live[i].gen, (atomic_load(&live[i].gen) + 1) % GEN_MAX);
  atomic_store(&live[i].wd, NULL);
}

static ipcb_watchdog *live_find(int tag) {
  if (tag < 0)
    return NULL;
  int i = tag % LIVE_MAX;
  ipcb_watchdog *wd = atomic_load(&live[i].wd);
  return atomic_load(&live[i].gen) == tag / LIVE_MAX ? wd : NULL;
}

static void slice(ipcb_watchdog *wd);
static void on_wake(int sig, siginfo_t *si, void *uc);

static void install(int restart) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_wake;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_SIGINFO | (restart ? SA_RESTART : 0);
  sigaction(WAKE_SIGNAL, &sa, NULL);
}

/* The normal mode: where the slice is a timer its ticks restart the calls
 * that the kernel restarts; the thread's signal (macOS) always ends them. */
static void install_normal(void) { install(ipcb__thread_timer_supported()); }

/* Once a watchdog has a fault, the wake signal must end the blocked call.
 * Said again at every slice while the fault lasts, so that a watchdog that
 * stops meanwhile on another thread and puts the normal mode back can
 * delay the end by one slice at most. */
static void hold_fault(ipcb_watchdog *wd) {
  if (!atomic_load_explicit(&wd->w->fault, memory_order_relaxed))
    return;
  if (!wd->faulted) {
    wd->faulted = 1;
    atomic_fetch_add(&faulted_watchdogs, 1);
  }
  install(0);
}

/* Only a slice timer's signal carries a live tag; the thread's and a stray
 * one just end the call. Everything here is async-signal-safe: atomics,
 * waitid, getppid, clock_gettime and sigaction; the fault's text is
 * written later, by whoever reads it. */
static void on_wake(int sig, siginfo_t *si, void *uc) {
  (void)sig, (void)uc;
  if (!ipcb__thread_timer_supported() || si->si_code != SI_TIMER)
    return;
  ipcb_watchdog *wd = live_find(si->si_value.sival_int);
  if (!wd)
    return;
  int saved = errno;
  slice(wd);
  hold_fault(wd);
  errno = saved;
}

static void install_wake_once(void) {
  install_normal();
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

/* Whether `pid` died (an exit or a fatal signal), without reaping it: a
 * report (swift-subprocess, macOS 26) has waitid(WEXITED) there also return
 * stopped children. Async-signal-safe. */
static int peer_died(pid_t pid, siginfo_t *si) {
  memset(si, 0, sizeof *si);
  return waitid(P_PID, (id_t)pid, si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         si->si_pid == pid &&
         (si->si_code == CLD_EXITED || si->si_code == CLD_KILLED ||
          si->si_code == CLD_DUMPED);
}

static void describe_death(pid_t pid, int code, int status, char *out,
                           size_t len) {
  if (code == CLD_EXITED)
    snprintf(out, len, "peer (pid %d) exited with status %d", (int)pid, status);
  else
    snprintf(out, len, "peer (pid %d) was killed by %s (%d)", (int)pid,
             signal_name(status), status);
}

int ipcb__peer_status(pid_t pid, int64_t wait_ns, char *out, size_t len) {
  int64_t end = ipcb_now_ns() + wait_ns;
  for (siginfo_t si;;) {
    if (peer_died(pid, &si)) {
      describe_death(pid, si.si_code, si.si_status, out, len);
      return 1;
    }
    if (ipcb_now_ns() >= end)
      return 0;
    struct timespec nap = {0, 5 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
}

/* fault_why beside the CLD_* codes of a peer's death. */
enum { WATCH_PARENT_GONE = -1, WATCH_LATE = -2 };

void ipcb__watch_describe(const ipcb_watch *w, char *out, size_t len) {
  if (w->fault_why == WATCH_PARENT_GONE)
    snprintf(out, len, "the client (pid %d) exited", w->fault_pid);
  else if (w->fault_why == WATCH_LATE)
    snprintf(out, len,
             "timed out after %.3g s: peer (pid %d) is alive but not "
             "answering; raise --ipc_timeout if it is only slow",
             (double)w->fault_after_ns / 1e9, w->fault_pid);
  else
    describe_death(w->fault_pid, w->fault_why, w->fault_status, out, len);
}

static void record(ipcb_watch *w, int code, int why, pid_t pid, int status) {
  w->fault_why = why;
  w->fault_pid = (int)pid;
  w->fault_status = status;
  atomic_store_explicit(&w->fault, code, memory_order_release);
}

/* Async-signal-safe: it runs in the slice timer's handler. */
static void check_once(ipcb_watchdog *wd, uint64_t epoch, int64_t stalled) {
  ipcb_watch *w = wd->w;
  siginfo_t si;
  if (atomic_load_explicit(&w->fault, memory_order_relaxed))
    return;
  if (wd->parent && getppid() != wd->parent) {
    record(w, IPCB_EPEERDIED, WATCH_PARENT_GONE, wd->parent, 0);
  } else if (wd->peer && peer_died(wd->peer, &si)) {
    record(w, IPCB_EPEERDIED, si.si_code, wd->peer, si.si_status);
  } else if (wd->timeout_ns && (epoch & 1) && stalled >= wd->timeout_ns) {
    w->fault_after_ns = wd->timeout_ns;
    record(w, IPCB_ETIMEDOUT, WATCH_LATE, wd->peer, 0);
  }
}

/* One slice's look at the other side and at the session's epoch. */
static void slice(ipcb_watchdog *wd) {
  uint64_t epoch = atomic_load_explicit(&wd->w->epoch, memory_order_relaxed);
  int64_t now = ipcb_now_ns();
  if (epoch != wd->last)
    wd->last = epoch, wd->since = now;
  check_once(wd, epoch, now - wd->since);
}

static void *watch_loop(void *arg) {
  ipcb_watchdog *wd = arg;
  ipcb__name_this_thread(IPCB_OWN_THREAD_PREFIX "watchdog");
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
    slice(wd);
    hold_fault(wd);
    if ((atomic_load_explicit(&wd->w->epoch, memory_order_relaxed) & 1) &&
        atomic_load_explicit(&wd->w->fault, memory_order_relaxed))
      pthread_kill(wd->target, WAKE_SIGNAL);
  }
  pthread_mutex_unlock(&wd->mu);
  return NULL;
}

/* The slice as a signal to this thread: no second thread. 0, or -ENOTSUP
 * where the platform has no such timer. */
static int start_timer(ipcb_watchdog *wd, char *err, size_t errlen) {
  if (!ipcb__thread_timer_supported())
    return -ENOTSUP;
  ipcb__install_wake_signal();
  wd->tag = live_add(wd);
  if (wd->tag < 0)
    return -ENOTSUP; /* more sessions at once than slots: a thread, then */
  int rc = ipcb__thread_timer_start(&wd->timer, WAKE_SIGNAL, wd->tag,
                                    IPCB_WATCH_SLICE_NS);
  if (rc) {
    live_remove(wd->tag);
    ipcb__set_err(err, errlen, "timer_create: %s", ipcb_errno_name(-rc));
  }
  return rc;
}

static int start_thread(ipcb_watchdog *wd, char *err, size_t errlen) {
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
    pthread_cond_destroy(&wd->cv);
    pthread_mutex_destroy(&wd->mu);
    return -rc;
  }
  return 0;
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
  wd->last = atomic_load_explicit(&w->epoch, memory_order_relaxed);
  wd->since = ipcb_now_ns();
  int rc = start_timer(wd, err, errlen);
  if (rc == -ENOTSUP)
    rc = start_thread(wd, err, errlen);
  if (rc) {
    free(wd);
    return rc;
  }
  *out = wd;
  return 0;
}

void ipcb__watchdog_stop(ipcb_watchdog *wd) {
  if (!wd)
    return;
  if (wd->timer) {
    live_remove(wd->tag); /* before the timer goes: see `live` */
    ipcb__thread_timer_stop(wd->timer);
  } else {
    pthread_mutex_lock(&wd->mu);
    wd->stop = 1;
    pthread_cond_signal(&wd->cv);
    pthread_mutex_unlock(&wd->mu);
    pthread_join(wd->thread, NULL);
    pthread_cond_destroy(&wd->cv);
    pthread_mutex_destroy(&wd->mu);
  }
  if (wd->faulted && atomic_fetch_sub(&faulted_watchdogs, 1) == 1)
    install_normal();
  free(wd);
}
