/* ipcb: sessions, exchange patterns, payload stamps, errors and the registry.
 *
 * The public C API that the harness and the tests use. It knows nothing of
 * Google Benchmark: a session is one client with one peer process, and each
 * pattern call is one timed unit of work.
 */
#ifndef IPCB_IPCB_H
#define IPCB_IPCB_H

#include <stddef.h>
#include <stdint.h>

#include "ipcb/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "EPIPE", "IPCB_ETIMEDOUT", ... or "E?" for an unknown code. */
const char *ipcb_code_name(int code);

/* ---- Registry: the transports CMake compiled, in a stable order ---------- */
size_t ipcb_transport_count(void);
const ipcb_transport *ipcb_transport_at(size_t i);
const ipcb_transport *ipcb_transport_find(const char *name);
/* 0 if `tr` runs here; otherwise its probe's negative code, with the reason
 * in *why (when why is not NULL; valid until this thread asks again). A
 * transport of the registry that runs here is probed once per process; a
 * refusal, which may pass (descriptors, memory), is asked again. */
int ipcb_transport_probe(const ipcb_transport *tr, const char **why);
/* The largest message `tr` carries whole here, 0 for no limit; read once
 * per process (a transport may find it by trial). */
size_t ipcb_transport_limit(const ipcb_transport *tr);

/* ---- Sessions and patterns ---------------------------------------------- */
typedef enum ipcb_pattern {
  IPCB_PINGPONG = 0,  /* n bytes there, n bytes back */
  IPCB_STREAM = 1,    /* windows of n-byte messages, one small ack each */
  IPCB_COLDSTART = 2, /* 1 byte there, n bytes back, on a fresh peer */
} ipcb_pattern;

/* The defaults of ipcb_options, and of the --ipc_window and --ipc_timeout
 * flags: messages per Stream ack, and how long one blocking call may make no
 * progress before the run fails. */
#define IPCB_DEFAULT_WINDOW 64
#define IPCB_DEFAULT_TIMEOUT_NS (10 * 1000000000LL)
/* Stream windows are clamped so that a window holds at most this much (and
 * at least one message). A shared-memory transport maps a slot per message of
 * the window, so this bounds its footprint: peak RSS stays under 3x the largest
 * payload plus 32 MiB. */
#define IPCB_WINDOW_BUDGET_BYTES ((size_t)16 << 20)

/* The QoS class both sides run at on macOS (--ipc_qos). On Apple silicon
 * the class decides performance against efficiency cores. Linux has no QoS
 * classes: only IPCB_QOS_PLATFORM (its own scheduling, unchanged) applies. */
typedef enum ipcb_qos {
  IPCB_QOS_PLATFORM = 0, /* macOS: user-interactive; Linux: as inherited */
  IPCB_QOS_USER_INTERACTIVE = 1,
  IPCB_QOS_USER_INITIATED = 2,
  IPCB_QOS_DEFAULT = 3,
  IPCB_QOS_UTILITY = 4,
  IPCB_QOS_BACKGROUND = 5,
} ipcb_qos;

typedef struct ipcb_options {
  ipcb_pattern pattern;
  size_t bytes;       /* payload of one message (the reply, for ColdStart) */
  unsigned window;    /* Stream: messages per ack; 0 = IPCB_DEFAULT_WINDOW */
  int64_t timeout_ns; /* per blocking call without progress; 0 = default */
  int verify;         /* fill and check every byte, not only the stamps */
  int pin_peer;       /* pin the peer to peer_cpu (Linux) */
  int peer_cpu;
  ipcb_qos qos; /* both sides' QoS class (macOS) */
} ipcb_options;

typedef struct ipcb_session ipcb_session;

/* Create the objects, spawn the peer, attach both sides. Returns 0, or a
 * negative code; in both cases *out is a session (or NULL when out of
 * memory) whose error text says what failed, and which must be closed.
 * A session belongs to the thread that opened it: its watchdog signals
 * that thread, so make every call and the close there. */
int ipcb_session_open(const ipcb_transport *tr, const ipcb_options *opt,
                      ipcb_session **out);
/* One request and its checked reply: `bytes` each way for PingPong, 1 byte
 * there and `bytes` back for ColdStart. */
int ipcb_round_trip(ipcb_session *s);
/* Stream: send one message; every window-th call also waits for the ack. */
int ipcb_stream_send(ipcb_session *s);
/* Stream: complete the current window and wait for its ack (untimed). */
int ipcb_stream_finish(ipcb_session *s);
/* Stream: the window in force, after clamping to the memory budget. */
unsigned ipcb_session_window(const ipcb_session *s);
/* The text of the last failure: call, errno name, limit, peer status. */
const char *ipcb_session_error(const ipcb_session *s);
/* A label for the result ("chunked at 8192 B: 512 msgs/message") or "". */
const char *ipcb_session_label(const ipcb_session *s);
/* The peer's pid while it runs (for tests). */
int ipcb_session_peer_pid(const ipcb_session *s);
/* Stop and reap the peer, tear down both sides' objects. NULL is fine. */
void ipcb_session_close(ipcb_session *s);

/* ---- What an exchange costs both processes --------------------------- */
/* Which fields of an ipcb_usage hold a value: a counter the platform cannot
 * read is left out, never reported as zero. */
enum {
  IPCB_USAGE_CPU = 1 << 0,        /* cpu_ns */
  IPCB_USAGE_SWITCHES = 1 << 1,   /* switches */
  IPCB_USAGE_VOLUNTARY = 1 << 2,  /* voluntary (Linux) */
  IPCB_USAGE_FAULTS = 1 << 3,     /* faults */
  IPCB_USAGE_COW_FAULTS = 1 << 4, /* cow_faults (macOS) */
};
typedef struct ipcb_usage {
  unsigned have;      /* IPCB_USAGE_* of the fields read */
  int64_t cpu_ns;     /* user plus system CPU time */
  int64_t switches;   /* context switches, voluntary plus involuntary */
  int64_t voluntary;  /* of them, the ones the side asked for by blocking */
  int64_t faults;     /* page faults, minor plus major */
  int64_t cow_faults; /* of them, copy-on-write faults */
} ipcb_usage;
/* The IPCB_USAGE_* bits this platform counts for both sides, and in `out` a
 * sentence on where each side's figures come from and why any is missing. */
unsigned ipcb_usage_available(char *out, size_t len);
/* Starts counting what the exchanges cost: waits until the peer is blocked
 * waiting for its next message (a peer that spins, IPCB_CAP_SPINS, is read
 * at once), reads its counters, then the calling thread's. Call it right
 * before the first exchange to count, and ipcb_cost_stop right after the
 * last: both are outside the counted interval. 0, or a negative code with
 * the reason in the session's error text, the session still usable: the
 * session's own fault, or the peer's counters could not be read (-EBUSY:
 * it was still running a second later), which leaves the peer's out. */
int ipcb_cost_start(ipcb_session *s);
/* Ends it: the calling thread's counters, then the peer's once it has
 * finished with every message sent (for Stream, call it before
 * ipcb_stream_finish). *client and *peer get what each side used since
 * ipcb_cost_start; `have` says which fields hold a value, 0 for a side
 * that could not be read. Returns as ipcb_cost_start does. */
int ipcb_cost_stop(ipcb_session *s, ipcb_usage *client, ipcb_usage *peer);

/* ---- The peer side ----------------------------------------------------- */
/* Call first in main(). Returns -1 if this process is not a peer; otherwise
 * serves until the client stops it and returns the exit status to use. */
int ipcb_peer_main_if_requested(int argc, char **argv);
/* Why the peer failed, after a nonzero status ("" otherwise). */
const char *ipcb_peer_error(void);

/* ---- Payload stamps ---------------------------------------------------- */
/* The first 8 bytes of each 64-byte line carry seq ^ (line * K), little
 * endian on every target so far; a shorter message or last line carries the
 * low bytes.
 * With verify, every other byte carries a pattern of (seq, offset). */
void ipcb_stamp(void *buf, size_t n, uint64_t seq, int verify);
/* 0, or IPCB_ECORRUPT with the first bad offset described in err. */
int ipcb_stamp_check(const void *buf, size_t n, uint64_t seq, int verify,
                     char *err, size_t errlen);

/* ---- Flags' values ----------------------------------------------------- */
#define IPCB_SIZE_MAX_BYTES ((size_t)1 << 30)
/* "12,4KiB,4MiB": decimal integers with an optional unit B, KiB, MiB, GiB
 * (also K, M, G; binary). Each in 1 B..1 GiB, no duplicates. Returns 0 or
 * -EINVAL with the reason in err. */
int ipcb_parse_sizes(const char *text, size_t *out, size_t cap, size_t *count,
                     char *err, size_t errlen);
/* "10s", "500ms", "2m", "1.5s" -> ns, in 1 ms..1 h. 0 or -EINVAL. */
int ipcb_parse_duration(const char *text, int64_t *ns, char *err,
                        size_t errlen);
/* "4 MiB", "12 B": a size as people read it. */
void ipcb_format_size(size_t n, char *out, size_t len);

/* ---- Process-wide -------------------------------------------------------- */
/* SIGINT, SIGTERM and SIGHUP (a closed terminal) stop the peers, remove
 * every tracked kernel object and whatever else the crash journal lists,
 * then die of the same signal. Call once from main(). */
void ipcb_install_cleanup_handlers(void);
/* Removes the kernel objects that earlier runs of this user left when they
 * were killed (SIGKILL, a crash) before anyone else knew them: only objects
 * listed in the crash journal of a process that is dead, still owned by
 * this user and still the object the journal names. Returns the number
 * removed; `out` says from how many journals, and how many objects were
 * left because a live process has them attached or they are not ours. */
typedef struct ipcb_sweep_report {
  unsigned runs, removed, busy, foreign;
} ipcb_sweep_report;
int ipcb_sweep_dead_runs(ipcb_sweep_report *out);
/* The crash journal that process `pid` keeps while it lives (it exists
 * only once the process has made an object): for tools and tests. */
void ipcb_journal_path(int pid, char *out, size_t len);
/* Number of tracked objects still alive (0 after a clean run). */
size_t ipcb_tracked_count(void);
/* Every object tracked in this process since the last reset, removed or not:
 * for leak checks that ask the kernel about exactly our objects, since a
 * listing of the machine's also shows other programs' and macOS cannot list
 * POSIX names. The first IPCB_TRACKED_HISTORY_MAX are kept. */
#define IPCB_TRACKED_HISTORY_MAX 8192
typedef struct ipcb_tracked_object {
  ipcb_obj_kind kind;
  int id;        /* the SysV id, or -1 */
  long key;      /* the SysV key it was made under (0: IPC_PRIVATE) */
  char name[80]; /* the POSIX name or path, or "" */
} ipcb_tracked_object;
/* Copies up to cap kept records, oldest first, and returns how many objects
 * were tracked since the reset (above IPCB_TRACKED_HISTORY_MAX: not all were
 * kept). Records still being written are skipped. */
size_t ipcb_tracked_history(ipcb_tracked_object *out, size_t cap);
/* Forgets the record. Not while another thread may be opening a session. */
void ipcb_tracked_history_reset(void);
/* CLOCK_MONOTONIC (Linux) or CLOCK_UPTIME_RAW (macOS), in ns. */
int64_t ipcb_now_ns(void);
/* A cheaper counter for timing one iteration: the invariant TSC on x86, the
 * generic timer's count on arm64, or ipcb_now_ns() where the counter is not
 * cheaper (chosen once, at the first call). Its rate is not given: scale by
 * measuring one long interval with both. */
uint64_t ipcb_ticks(void);
/* "TSC", "CNTVCT_EL0" or "monotonic clock": what ipcb_ticks() reads. */
const char *ipcb_ticks_source(void);
/* Pin the calling thread to one CPU. 0, or -ENOTSUP where the OS has no
 * pinning (macOS: QoS is used instead), or a negated errno. */
int ipcb_pin_self(int cpu);
/* Give the calling thread the scheduling class that a session with this
 * `qos` gives both sides' threads. 0; -ENOTSUP where the OS has no QoS
 * classes and `qos` names one (Linux); -EINVAL for a value outside the enum;
 * or the negated errno of the OS's refusal. */
int ipcb_set_thread_class(ipcb_qos qos);
/* The calling thread's scheduling class, read without changing it: on macOS
 * the requested QoS and the base priority the kernel derived from the class
 * in effect ("QoS utility (requested; in effect: base priority 20,
 * utility's)"), on Linux the policy and nice value ("SCHED_OTHER nice 0"). */
void ipcb_describe_thread_class(char *out, size_t len);
/* The CPUs this process may run on, in order; returns how many (<= cap),
 * or a negated errno. */
int ipcb_allowed_cpus(int *out, int cap);

/* ---- Latency histogram --------------------------------------------------- */
/* Log-linear, in any one unit (ns, or ipcb_ticks() differences): exact below
 * 256, then 128 linear buckets per power of two (under 0.8% error: two
 * significant digits), up to 2^41. Fixed memory, no allocation when
 * recording. */
typedef struct ipcb_histogram ipcb_histogram;
ipcb_histogram *ipcb_histogram_new(void);
void ipcb_histogram_free(ipcb_histogram *h);
void ipcb_histogram_record(ipcb_histogram *h, int64_t value);
/* The value at percentile p (0..100]: a bucket's upper bound, at most the
 * largest value recorded. 0 when empty. */
int64_t ipcb_histogram_percentile(const ipcb_histogram *h, double p);
int64_t ipcb_histogram_max(const ipcb_histogram *h);
uint64_t ipcb_histogram_count(const ipcb_histogram *h);

/* Facts about this machine for the benchmark context. */
typedef struct ipcb_sysinfo {
  char os[72];       /* "Linux", "Darwin" */
  char release[128]; /* kernel release */
  char version[256]; /* kernel or OS version string */
  char distro[128];  /* "Debian GNU/Linux 12 (bookworm)", "macOS 15.1" */
  char libc[64];     /* "glibc 2.36", or "" where unknown */
  char machine[72];  /* "x86_64", "arm64" */
  char cpu_model[128];
  int logical_cpus;
  long page_size;
  long cache_line;
} ipcb_sysinfo;
void ipcb_sysinfo_read(ipcb_sysinfo *out);
/* How Mach rights meet on macOS: "bootstrap_register2", else
 * "bootstrap_check_in" (asked of launchd once, by publishing and withdrawing
 * a name, unless a session already did), or "none (...)" when launchd
 * refuses both; NULL on other systems. */
const char *ipcb_probe_bootstrap_method(void);

#ifdef __cplusplus
}
#endif
#endif /* IPCB_IPCB_H */
