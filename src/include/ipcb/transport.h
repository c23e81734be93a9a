/* ipcb transport contract: what one IPC mechanism implements to be measured.
 *
 * A transport is one C file that ends with a single
 *     const ipcb_transport ipcb_tr_<Name> = { ... };
 * CMake compiles the files of the platform's folders and generates the registry
 * from their names, so adding a transport is adding a file.
 *
 * A transport only moves bytes. Timing, payload stamps, exchange patterns, the
 * peer process, deadlines and peer-death detection belong to the core.
 *
 * Roles: the client is the benchmark process; the peer is the same executable
 * re-executed by the core. Each side owns one private context of ctx_size
 * bytes, zeroed and allocated by the core, and passed to every call as `ctx`.
 *
 * Errors: every int-returning call returns 0 or a negative code (a negated
 * errno or one of the IPCB_E* codes of ipcb.h) and, on failure, fills the
 * channel's error text through ipcb_fail*() below, naming the call and the
 * errno name.
 *
 * Blocking and deadlines: a call that may block must return IPCB_EPEERDIED or
 * IPCB_ETIMEDOUT when the core asks it to. The core's watchdog interrupts a
 * blocked system call with a signal (no SA_RESTART), so every EINTR must be
 * answered by ipcb_interrupted(ctx): its code ends the wait, 0 retries the
 * call. The kit's ipcb__retry() (src/transports/kit/kit.h) does exactly that.
 * A transport that busy-waits calls ipcb_interrupted() in its spin loop.
 *
 * Parts that several transports share (descriptors, byte streams, POSIX
 * shared memory, slot sizes) are in src/transports/kit/, not in the core.
 */
#ifndef IPCB_TRANSPORT_H
#define IPCB_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Project error codes; everything else is a negated errno. */
enum {
  IPCB_EPEERDIED = -1000, /* the other side exited or was killed */
  IPCB_ETIMEDOUT = -1001, /* a wait made no progress within the deadline */
  IPCB_ECORRUPT = -1002,  /* a stamp, pattern byte, size or header was wrong */
  IPCB_ELIMIT = -1003,    /* a kernel limit is too small for the request */
  IPCB_EUNAVAIL = -1004,  /* the mechanism does not exist or is not allowed */
  IPCB_EKERN = -1005,     /* a Mach kern_return_t; the text names it */
  IPCB_ESTOPPED = -1006,  /* SIGTERM or SIGINT asked this side to stop */
};

/* Capability flags (ipcb_transport.caps). */
enum {
  /* Messages above max_message() are split by the transport; the benchmark
   * label shows the chunk size and count. Without it, a size above
   * max_message() is refused with IPCB_ELIMIT. */
  IPCB_CAP_CHUNKED = 1u << 0,
  /* The receiver reads the sender's pages without a kernel copy. */
  IPCB_CAP_ZERO_COPY = 1u << 1,
  /* The payload travels through memory mapped by both processes. */
  IPCB_CAP_SHARED_MEMORY = 1u << 2,
  /* Waits spin on a CPU: meaningful only with two CPUs free. */
  IPCB_CAP_SPINS = 1u << 3,
  /* A floor to read other results against, not an IPC mechanism. */
  IPCB_CAP_BASELINE = 1u << 4,
};

typedef enum ipcb_role { IPCB_ROLE_CLIENT = 0, IPCB_ROLE_PEER = 1 } ipcb_role;

/* What a session asks of the transport; identical on both sides. */
typedef struct ipcb_cfg {
  size_t max_bytes; /* the largest message either side will send */
  /* The core's promise: at most `window` messages one side sent are not yet
   * received and released by the other (PingPong: 1; Stream: the window),
   * since every reply or ack follows the release of what it answers. And
   * messages travel one way at a time: a side sends only once it has
   * received and released everything the other side sent (the client sends
   * on only after the reply or ack), so both directions may share `window`
   * slots. A transport may size slots or buffers by it and need not check
   * it; if its queue holds fewer, send simply waits for the receiver, which
   * always drains. */
  unsigned window;
  int64_t timeout_ns; /* deadline of one blocking call without progress */
} ipcb_cfg;

#define IPCB_RDV_TOKEN_MAX 256
#define IPCB_RDV_MAX_FDS 8

/* The rendezvous: what setup() hands to the peer. The token travels as one argv
 * element (printable, no NUL); the fds are inherited. In the peer, fds[i] holds
 * the inherited descriptor's number there, which may differ from the client's.
 */
typedef struct ipcb_rdv {
  char token[IPCB_RDV_TOKEN_MAX];
  int fds[IPCB_RDV_MAX_FDS];
  int nfds;
} ipcb_rdv;

typedef struct ipcb_transport {
  /* CamelCase, unique; appears in benchmark names (PingPong/<name>/<bytes>). */
  const char *name;
  /* One line for --ipc_list. */
  const char *summary;
  /* IPCB_CAP_* flags. */
  unsigned caps;
  /* Bytes of private state per side; the core allocates and zeroes it. */
  size_t ctx_size;

  /* Usable on this machine? Returns 0, or a negative code with the reason in
   * `why` (for example "kernel.msgmni is 0"). Never blocks. May be NULL.
   * Asked through ipcb_transport_probe(), once per process. */
  int (*probe)(char *why, size_t why_len);

  /* The native per-message limit read from the running kernel (msgmax, shmmax,
   * the datagram size...). 0 means none. Never blocks. May be NULL. It may
   * find the limit by trial; ipcb_transport_limit() asks it once. */
  size_t (*max_message)(void);

  /* Client, before the peer exists: create the kernel objects, sized for
   * cfg->max_bytes and cfg->window, and describe them in `rdv`. Never blocks.
   * A size the mechanism cannot carry fails with IPCB_ELIMIT through
   * ipcb_fail_limit(). Objects that must not outlive a crash are registered
   * with ipcb_track_*(). The descriptors put in rdv->fds belong to the core
   * from then on: it closes them in the client once the peer holds them (or
   * once setup failed). On failure, teardown() is still called. */
  int (*setup)(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv);

  /* Each side, after the spawn: finish the connection. The peer's ctx is fresh
   * and learns everything from `cfg` and `rdv`. May block until the other side
   * attaches (deadline applies). The client's attach returns only once the peer
   * holds every object, so names can be unlinked and SysV ids removed here. */
  int (*attach)(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                const ipcb_rdv *rdv);

  /* Where the next message of n bytes (n <= max_bytes) is written: a private
   * staging buffer, a shared slot, a mapped region. May block while every slot
   * is in flight. The buffer belongs to the transport and stays valid until
   * send(). */
  int (*send_buf)(void *ctx, size_t n, void **buf);

  /* Hand over the n bytes written at send_buf. May block (a full pipe or
   * queue). On return the transport may reuse nothing the receiver still
   * reads. */
  int (*send)(void *ctx, size_t n);

  /* Wait for the next message. *n holds, on entry, the size the pattern
   * expects (byte streams read exactly that much) and, on return, the size
   * delivered. *p stays valid, in the receiver's address space, until
   * release(). The core releases every message before its next send_buf(),
   * so one private buffer may serve both. A corrupt or hostile header (a
   * size or chunk count out of bounds) fails with IPCB_ECORRUPT before
   * anything is read or written. */
  int (*recv)(void *ctx, const void **p, size_t *n);

  /* The receiver is done with *p: ack the slot, unmap, vm_deallocate.
   * Returns 0 or a negative code like the others; it may block only where
   * giving the slot back is itself a message (a full ack pipe). NULL when
   * there is nothing to give back (a private receive buffer). */
  int (*release)(void *ctx);

  /* Release everything this side holds; the client also removes the kernel
   * objects. Idempotent, never blocks, safe after a failure at any step and
   * on a zeroed ctx. */
  void (*teardown)(void *ctx, ipcb_role role);

  /* Client, after attach: how many messages of cfg->max_bytes the
   * mechanism's own queue holds (0: not even one whole message), with the
   * limit that decides it written to `limit` ("fs.mqueue.msg_max = 10").
   * Below the Stream window, the sender waits for the receiver in mid-window;
   * the window stays as asked, so that every transport acks as often, and the
   * benchmark label says what the queue held. -1 when the queue has room for
   * cfg->window messages. May be NULL. */
  long (*queue_depth)(void *ctx, const ipcb_cfg *cfg, char *limit,
                      size_t limit_len);
} ipcb_transport;

/* ---- Services the core offers to transports ---------------------------- */

/* Fill the error text (printf-style) and return `code`. */
int ipcb_fail(void *ctx, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* "<call>: <ENAME> (<strerror>)" from the current errno; returns -errno. */
int ipcb_fail_errno(void *ctx, const char *call);
/* "EMFILE" for EMFILE: the symbolic name, for probe texts. */
const char *ipcb_errno_name(int err);
/* A kernel limit: "<what> needs <need> bytes but <limit> is <value>; raise it
 * with <how>". Returns IPCB_ELIMIT. */
int ipcb_fail_limit(void *ctx, const char *what, uint64_t need,
                    const char *limit, uint64_t value, const char *how);

/* After EINTR or in a spin loop: 0 to go on waiting, or IPCB_EPEERDIED /
 * IPCB_ETIMEDOUT (with the error text filled) when the wait must end. */
int ipcb_interrupted(void *ctx);

/* The other side's process id (0 if unknown), for CMA-style transports. */
int ipcb_other_pid(void *ctx);

/* Objects removed by the core's SIGINT/SIGTERM handler if the run is killed
 * before teardown. Track right after creation, untrack right after removal. */
typedef enum ipcb_obj_kind {
  IPCB_OBJ_SYSV_SHM,
  IPCB_OBJ_SYSV_SEM,
  IPCB_OBJ_SYSV_MSG,
  IPCB_OBJ_POSIX_SHM,
  IPCB_OBJ_POSIX_SEM,
  IPCB_OBJ_POSIX_MQ,
  IPCB_OBJ_PATH,
} ipcb_obj_kind;
void ipcb_track_id(ipcb_obj_kind kind, int id);
void ipcb_untrack_id(ipcb_obj_kind kind, int id);
void ipcb_track_name(ipcb_obj_kind kind, const char *name);
void ipcb_untrack_name(ipcb_obj_kind kind, const char *name);

/* Kernel limits, read from the running kernel, with the name the OS gives
 * them and how to raise them (for error texts and --ipc_list). */
typedef enum ipcb_limit_id {
  IPCB_LIMIT_MSGMAX,         /* bytes in one SysV message */
  IPCB_LIMIT_MSGMNB,         /* bytes queued on one SysV message queue */
  IPCB_LIMIT_MSGMNI,         /* SysV message queues system-wide (Linux) */
  IPCB_LIMIT_MSGTQL,         /* SysV messages queued system-wide (macOS) */
  IPCB_LIMIT_SHMMAX,         /* bytes in one SysV shared memory segment */
  IPCB_LIMIT_SHMALL,         /* pages of SysV shared memory system-wide */
  IPCB_LIMIT_SHMSEG,         /* SysV segments one process attaches (macOS) */
  IPCB_LIMIT_MQ_MSGSIZE_MAX, /* bytes in one POSIX message (Linux) */
  IPCB_LIMIT_MQ_MSG_MAX,     /* messages on one POSIX queue (Linux) */
  IPCB_LIMIT_MQ_QUEUES_MAX,  /* POSIX queues system-wide (Linux) */
  IPCB_LIMIT_PIPE_MAX_SIZE,  /* bytes an unprivileged pipe may grow to */
  IPCB_LIMIT_PTRACE_SCOPE,   /* Yama's rule for process_vm_writev (Linux) */
  IPCB_LIMIT_COUNT
} ipcb_limit_id;
typedef struct ipcb_limit {
  uint64_t value; /* 0 if it could not be read */
  char name[48];  /* "kernel.msgmax", "kern.sysv.shmmax" */
  char how[128];  /* "sudo sysctl -w kernel.msgmax=<bytes>" */
} ipcb_limit;
/* 0, or a negative errno if the limit cannot be read here (-ENOENT where
 * the OS has no such limit); out->name is set either way. */
int ipcb_kernel_limit(ipcb_limit_id id, ipcb_limit *out);

/* Descriptors, byte streams, shared memory, slot sizes and the EINTR retry
 * that transports share are the transport kit's: src/transports/kit/kit.h. */

/* A name no other process can predict: "/ipcb.<pid>.<counter>.<random>".
 * It is written in the crash journal before it is returned, so an object
 * made under it that a SIGKILL leaves behind is removed by whoever outlives
 * this process (its peer, or the next start of ipc_bench). */
void ipcb_unique_name(char *out, size_t len);

/* A new, empty regular file private to the user (0600, FD_CLOEXEC) that
 * has no name: made under an ipcb_unique_name() beside the crash journal
 * and unlinked at once, so it ends with its last descriptor. For what
 * needs a vnode, not a shared memory object (POSIX record locks). 0 and
 * *fd, or a negative errno with the channel's error text. */
int ipcb_private_file(void *ctx, int *fd);

/* Creates a SysV object private to the user (0600): IPCB_OBJ_SYSV_SHM of
 * `size_or_count` bytes, IPCB_OBJ_SYSV_SEM of that many semaphores, or
 * IPCB_OBJ_SYSV_MSG. Under a fresh random key written in the crash journal
 * before the call (an IPC_PRIVATE object left by a SIGKILL could never be
 * told from another program's), and tracked. Returns the id, or -1 with
 * errno from shmget/semget/msgget. */
int ipcb_sysv_create(ipcb_obj_kind kind, size_t size_or_count);

#ifdef __cplusplus
}
#endif
#endif /* IPCB_TRANSPORT_H */
