/* Internal declarations shared by the files of src/core. */
#ifndef IPCB_CORE_H
#define IPCB_CORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ipcb/ipcb.h"

#define IPCB_ERR_MAX 512
/* Watchdog period: bounds how late peer death is noticed (design: 100 ms). */
#define IPCB_WATCH_SLICE_NS (20 * 1000 * 1000)

/* Shared by the watchdog thread and the thread that runs the session. */
typedef struct ipcb_watch {
  /* Odd while a transport call may block; bumped on entry and exit. */
  _Atomic uint64_t epoch;
  /* 0, or the code every later wait returns. What it was is written
   * before, as numbers: the slice may find it in a signal handler, which
   * must not format text (ipcb__watch_describe does, later). */
  _Atomic int fault;
  int fault_why; /* CLD_EXITED, CLD_KILLED, CLD_DUMPED or a WATCH_* */
  int fault_pid, fault_status;
  int64_t fault_after_ns; /* the deadline that passed */
} ipcb_watch;

/* One side of a connection: the transport, its config and its context. */
typedef struct ipcb_chan {
  const ipcb_transport *tr;
  ipcb_role role;
  ipcb_cfg cfg;
  int other_pid;
  ipcb_watch *watch; /* the watchdog's view of this side */
  char err[IPCB_ERR_MAX];
  _Alignas(max_align_t) unsigned char ctx[];
} ipcb_chan;

ipcb_chan *ipcb__chan_new(const ipcb_transport *tr, ipcb_role role,
                          const ipcb_cfg *cfg);
ipcb_chan *ipcb__chan_of(void *ctx);

/* Every blocking transport call goes through these, so the watchdog can
 * tell "waiting" from "between calls" without a clock read. */
static inline void ipcb__enter(ipcb_chan *ch, uint64_t *local) {
  if (ch->watch)
    atomic_store_explicit(&ch->watch->epoch, ++*local, memory_order_relaxed);
}
static inline void ipcb__leave(ipcb_chan *ch, uint64_t *local) {
  ipcb__enter(ch, local);
}

/* errors.c */
void ipcb__set_err(char *dst, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* watchdog.c: one thread per session side. The client's watches its peer
 * (`peer`) and the deadline; the peer's watches its parent (`parent`). */
typedef struct ipcb_watchdog ipcb_watchdog;
int ipcb__watchdog_start(ipcb_watchdog **out, ipcb_watch *w, pid_t peer,
                         pid_t parent, int64_t timeout_ns, char *err,
                         size_t errlen);
void ipcb__watchdog_stop(ipcb_watchdog *wd);
/* "peer (pid 12) was killed by SIGKILL", waiting up to wait_ns for it. */
int ipcb__peer_status(pid_t pid, int64_t wait_ns, char *out, size_t len);
/* The text of w's fault ("the client (pid 9) exited", "timed out after
 * 0.3 s: ..."); not in a signal handler. */
void ipcb__watch_describe(const ipcb_watch *w, char *out, size_t len);
/* The signal that interrupts a blocked call, with a no-op handler. */
void ipcb__install_wake_signal(void);

/* spawn.c */
typedef struct ipcb_spawn_req {
  const ipcb_transport *tr;
  const ipcb_cfg *cfg;
  const ipcb_rdv *rdv;
  const ipcb_options *opt;
} ipcb_spawn_req;
int ipcb__spawn_peer(const ipcb_spawn_req *req, pid_t *pid, char *err,
                     size_t errlen);
/* SIGKILL, then reap. Returns the wait status. */
int ipcb__stop_peer(pid_t pid);

/* peer_args.c: the peer's argv, the one place that knows its format. */
typedef struct ipcb_peer_args {
  const char *transport, *token; /* the transport's name, the rendezvous */
  int fd_base, nfds, ppid;       /* inherited fds: base..base+nfds-1 */
  ipcb_options opt;
  ipcb_cfg cfg;
} ipcb_peer_args;
typedef struct ipcb_peer_argv {
  char peer[128], rdv[IPCB_RDV_TOKEN_MAX + 16], fds[64], cfg[160];
  char *argv[6]; /* exe and the four above, NULL-terminated */
} ipcb_peer_argv;
void ipcb__peer_argv_write(const ipcb_peer_args *a, char *exe,
                           ipcb_peer_argv *out);
/* The transport named by --ipc_peer=, or NULL: not a peer's argv. */
const char *ipcb__peer_argv_transport(int argc, char **argv);
/* 0, or -EINVAL when an argument is missing or malformed. */
int ipcb__peer_argv_read(int argc, char **argv, ipcb_peer_args *a);

/* pattern.c: the two halves of every pattern. */
size_t ipcb__request_bytes(const ipcb_options *opt);
size_t ipcb__ack_bytes(const ipcb_options *opt);
/* PingPong and ColdStart: one request carrying seq, its reply seq + 1. */
int ipcb__client_request(ipcb_chan *ch, uint64_t *epoch, uint64_t seq,
                         const ipcb_options *opt);
/* Stream: one message carrying seq; the window's last also awaits the ack. */
int ipcb__client_stream(ipcb_chan *ch, uint64_t *epoch, uint64_t seq,
                        int last_of_window, const ipcb_options *opt);
int ipcb__peer_serve(ipcb_chan *ch, const ipcb_options *opt);

/* cleanup.c */
void ipcb__cleanup_add_peer(pid_t pid);
void ipcb__cleanup_remove_peer(pid_t pid);
/* ipcb_track_id for an object made under `key` (ipcb_sysv_create). */
void ipcb__track_keyed(ipcb_obj_kind kind, int id, long key);

/* journal.c and sweep.c: the crash journal, and removing a dead process's
 * objects by it. */
#define IPCB_JOURNAL_MAGIC "ipcb-journal"
#define IPCB_JOURNAL_PREFIX "ipcb-journal."
#define IPCB_JOURNAL_PATH_MAX 512
#define IPCB_JOURNAL_LINE_MAX 128
/* <dir>/ipcb-journal.<euid>.<pid><suffix> (sweep.c, which also reads it) */
void ipcb__journal_path(pid_t pid, const char *suffix, char *out, size_t len);
/* The file that the journaled name `name` ("/ipcb.<pid>.<n>.<random>")
 * names beside the journal at journal_path (ipcb_private_file): 0, or -1
 * when it does not fit. System calls and stack buffers only: the signal
 * handler's sweep uses it. */
int ipcb__name_file_path(const char *journal_path, const char *name, char *out,
                         size_t len);
/* A session opens (+1) or has closed (-1); the last to close empties the
 * journal when nothing it lists can exist any more. */
void ipcb__journal_session(int delta);
/* journal.c tells sweep.c where its own journal is (fd -1: none), for the
 * signal handler's sweep. */
void ipcb__sweep_remember_own(int fd, const char *path);
/* Whether `path` names the file open at `fd`; unlinks it only if so. */
int ipcb__names_file(const char *path, int fd);
void ipcb__unlink_journal(const char *path, int fd);
/* Removes what this process's journal lists, then the journal. */
void ipcb__sweep_own_journal(void);
/* Sweeps the journal of `pid` once that process is dead, waiting up to
 * wait_ns for its lock to drop; nothing while it lives. */
void ipcb__sweep_journal_of(pid_t pid, int64_t wait_ns);
/* How long a survivor waits for the dead side's journal lock to drop. */
#define IPCB_SURVIVOR_WAIT_NS (1000 * 1000 * 1000LL)

/* interrupt.c: in the peer, SIGTERM and SIGINT request a stop, which
 * ipcb_interrupted() reports to the transport that saw EINTR. */
void ipcb__install_stop_handlers(void);

/* platform_<os>.c: the few calls that differ by OS. */
int ipcb__self_exe(char *out, size_t len);
/* In the peer: stop (SIGTERM to self) when `parent` exits. */
int ipcb__watch_parent(pid_t parent, char *err, size_t errlen);
/* A timer that sends `signo` to the calling thread every period_ns, with
 * `tag` as si_value.sival_int (Linux: timer_create with SIGEV_THREAD_ID).
 * macOS has none (and ThreadSanitizer defers handlers): supported() is 0
 * and the watchdog runs a thread instead. */
typedef struct ipcb_thread_timer ipcb_thread_timer;
int ipcb__thread_timer_supported(void);
int ipcb__thread_timer_start(ipcb_thread_timer **out, int signo, int tag,
                             int64_t period_ns);
void ipcb__thread_timer_stop(ipcb_thread_timer *t);
/* Where crash journals live: private to the user, or a directory whose
 * sticky bit keeps other users from removing ours. */
void ipcb__journal_dir(char *out, size_t len);
/* The IPC namespace of this process (Linux), 0 where there are none. */
unsigned long long ipcb__ipc_namespace(void);
/* Names the calling thread. The core's own threads (watchdog, parent watch)
 * take names under IPCB_OWN_THREAD_PREFIX, so that a process's resource use
 * can leave them out where the OS counts per process (usage_darwin.c). */
#define IPCB_OWN_THREAD_PREFIX "ipcb."
void ipcb__name_this_thread(const char *name);

/* usage_<os>.c: resource counters of the calling thread and of a peer. */
/* The calling thread's use: its fields in u->have. */
void ipcb__usage_self(ipcb_usage *u);
/* The use of process `pid` (a child of this user) read from outside, and in
 * *on_cpu whether it is running or waiting for a CPU now (0 once it blocks).
 * 0, or a negated errno when the process cannot be read at all. */
int ipcb__usage_of(pid_t pid, ipcb_usage *u, int *on_cpu);

/* usage.c: the counters around the counted exchanges of a session. */
typedef struct ipcb_cost_mark {
  ipcb_usage client, peer;
} ipcb_cost_mark;
/* `spins`: the peer never blocks (IPCB_CAP_SPINS), so it is read at once.
 * A start that fails leaves the peer's counters out of the stop too. */
int ipcb__cost_start(pid_t peer, int spins, ipcb_cost_mark *m, char *err,
                     size_t len);
int ipcb__cost_stop(pid_t peer, int spins, const ipcb_cost_mark *m,
                    ipcb_usage *client, ipcb_usage *peer_use, char *err,
                    size_t len);

#endif /* IPCB_CORE_H */
