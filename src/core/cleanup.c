/* Objects to remove if the run is killed by SIGINT, SIGTERM or SIGHUP.
 *
 * A fixed table, because the handler may not allocate or lock. Each removal
 * below is a single system call, which is what a handler may make. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>
#ifdef IPCB_HAVE_SEM_OPEN
#include <semaphore.h>
#endif
#ifdef IPCB_HAVE_MQ_OPEN
#include <mqueue.h>
#endif

#include "core.h"

#define MAX_TRACKED 128
#define MAX_PEERS 16
#define NAME_MAX_LEN 80

typedef struct tracked {
  _Atomic int used;
  ipcb_obj_kind kind;
  int id;
  char name[NAME_MAX_LEN];
} tracked;

static tracked objects[MAX_TRACKED];
static _Atomic pid_t peers[MAX_PEERS];

/* Every object tracked since the last reset, kept after it is untracked, so
 * that a leak check can ask the kernel about exactly our objects: a listing
 * of the machine's objects also shows other programs' (macOS's ipcs shows
 * every user's), and macOS cannot list POSIX names at all. Written only by
 * ipcb_track_*, never by the signal handler, and lock-free like the table: a
 * writer reserves a slot by fetch_add and publishes it with `ready`. */
typedef struct recorded {
  _Atomic int ready;
  ipcb_tracked_object o;
} recorded;

static recorded history[IPCB_TRACKED_HISTORY_MAX];
static _Atomic size_t history_next;

static void record(ipcb_obj_kind kind, int id, long key, const char *name) {
  size_t i = atomic_fetch_add(&history_next, 1);
  if (i >= IPCB_TRACKED_HISTORY_MAX)
    return; /* counted, not kept: the reader learns it from the count */
  history[i].o.kind = kind;
  history[i].o.id = id;
  history[i].o.key = key;
  snprintf(history[i].o.name, sizeof history[i].o.name, "%s", name ? name : "");
  atomic_store(&history[i].ready, 1);
}

size_t ipcb_tracked_history(ipcb_tracked_object *out, size_t cap) {
  size_t total = atomic_load(&history_next), n = 0;
  for (size_t i = 0; i < total && i < IPCB_TRACKED_HISTORY_MAX && n < cap; i++)
    if (atomic_load(&history[i].ready))
      out[n++] = history[i].o;
  return total;
}

void ipcb_tracked_history_reset(void) {
  size_t total = atomic_load(&history_next);
  for (size_t i = 0; i < total && i < IPCB_TRACKED_HISTORY_MAX; i++)
    atomic_store(&history[i].ready, 0);
  atomic_store(&history_next, 0);
}

static void add(ipcb_obj_kind kind, int id, long key, const char *name) {
  record(kind, id, key, name);
  for (int i = 0; i < MAX_TRACKED; i++) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&objects[i].used, &expected, -1))
      continue;
    objects[i].kind = kind;
    objects[i].id = id;
    snprintf(objects[i].name, sizeof objects[i].name, "%s", name ? name : "");
    atomic_store(&objects[i].used, 1); /* published only once complete */
    return;
  }
}

static void drop(ipcb_obj_kind kind, int id, const char *name) {
  for (int i = 0; i < MAX_TRACKED; i++) {
    tracked *t = &objects[i];
    if (atomic_load(&t->used) == 1 && t->kind == kind && t->id == id &&
        strcmp(t->name, name ? name : "") == 0) {
      atomic_store(&t->used, 0);
      return;
    }
  }
}

void ipcb_track_id(ipcb_obj_kind kind, int id) { add(kind, id, 0, NULL); }
void ipcb__track_keyed(ipcb_obj_kind kind, int id, long key) {
  add(kind, id, key, NULL);
}
void ipcb_untrack_id(ipcb_obj_kind kind, int id) { drop(kind, id, NULL); }
void ipcb_track_name(ipcb_obj_kind kind, const char *name) {
  add(kind, -1, 0, name);
}
void ipcb_untrack_name(ipcb_obj_kind kind, const char *name) {
  drop(kind, -1, name);
}

size_t ipcb_tracked_count(void) {
  size_t n = 0;
  for (int i = 0; i < MAX_TRACKED; i++)
    n += atomic_load(&objects[i].used) != 0;
  return n;
}

void ipcb__cleanup_add_peer(pid_t pid) {
  for (int i = 0; i < MAX_PEERS; i++) {
    pid_t expected = 0;
    if (atomic_compare_exchange_strong(&peers[i], &expected, pid))
      return;
  }
}

void ipcb__cleanup_remove_peer(pid_t pid) {
  for (int i = 0; i < MAX_PEERS; i++) {
    pid_t expected = pid;
    if (atomic_compare_exchange_strong(&peers[i], &expected, 0))
      return;
  }
}

static void remove_object(const tracked *t) {
  switch (t->kind) {
  case IPCB_OBJ_SYSV_SHM: shmctl(t->id, IPC_RMID, NULL); break;
  case IPCB_OBJ_SYSV_SEM: semctl(t->id, 0, IPC_RMID); break;
  case IPCB_OBJ_SYSV_MSG: msgctl(t->id, IPC_RMID, NULL); break;
  case IPCB_OBJ_POSIX_SHM: shm_unlink(t->name); break;
#ifdef IPCB_HAVE_SEM_OPEN
  case IPCB_OBJ_POSIX_SEM: sem_unlink(t->name); break;
#endif
#ifdef IPCB_HAVE_MQ_OPEN
  case IPCB_OBJ_POSIX_MQ: mq_unlink(t->name); break;
#endif
  case IPCB_OBJ_PATH: unlink(t->name); break;
  default: break;
  }
}

static void on_fatal_signal(int sig) {
  /* The removals fail with ENOENT for what is gone already; a handler
   * leaves errno as it found it (the raise below may be deferred until the
   * handler returns, under ThreadSanitizer). */
  int saved_errno = errno;
  for (int i = 0; i < MAX_PEERS; i++) {
    pid_t pid = atomic_load(&peers[i]);
    if (pid > 0)
      kill(pid, SIGKILL);
  }
  for (int i = 0; i < MAX_TRACKED; i++)
    if (atomic_load(&objects[i].used) == 1)
      remove_object(&objects[i]);
  /* And what was created but not yet tracked, by the journal. */
  ipcb__sweep_own_journal();
  signal(sig, SIG_DFL);
  errno = saved_errno;
  raise(sig); /* die of the same signal: the conventional status */
}

void ipcb_install_cleanup_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fatal_signal;
  sigfillset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
}
