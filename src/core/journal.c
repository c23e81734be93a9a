/* The crash journal: every kernel object this process is about to create,
 * written down before it exists.
 *
 * A SIGKILL cannot be caught, so a client killed between creating an object
 * and handing it to its peer leaves it where nobody knows it: IPC_PRIVATE
 * ids and POSIX names have no owner that the kernel cleans up after. The
 * journal is that owner. It is a file <dir>/ipcb-journal.<euid>.<pid>,
 * created 0600 and held under flock(LOCK_EX) for the life of the process;
 * the kernel drops the lock when the process dies, however it dies, so a
 * journal that can be locked is a dead process's (sweep.c removes what it
 * lists). Lines, appended under a mutex at offsets handed out here:
 *   ipcb-journal 1 <pid> <ipc namespace>   the header
 *   n <name>                               a POSIX name (ipcb_unique_name)
 *   k <shm|sem|msg> <key> <id>             a SysV key; the id, 11 columns
 *                                          left blank, is filled in once
 *                                          the object exists
 * The file is first made under a ".new" name and linked to its own once
 * locked (make_journal), so a journal under its own name is locked for as
 * long as its process lives. Journaling is best effort:
 * a journal that cannot be made is said once on stderr, and the run goes on
 * without that safety net. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/random.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "core.h"

#define ID_COLUMNS 11

static struct {
  pthread_mutex_t lock;
  int fd;                  /* -1: not open */
  pid_t pid;               /* the owner; another value means a fork's child */
  off_t end;               /* where the next line goes */
  off_t head;              /* the header's length */
  int sessions, in_flight; /* open sessions; SysV creations under way */
  int warned;              /* the failure was said */
  char path[IPCB_JOURNAL_PATH_MAX];
} journal = {PTHREAD_MUTEX_INITIALIZER, -1, 0, 0, 0, 0, 0, 0, ""};

static void at_exit(void) {
  if (journal.fd < 0 || journal.pid != getpid())
    return;
  /* Left over only by a transport that failed to remove an object, or a
   * thread still in setup: remove them too, as a killed run's would be. */
  if (ipcb_tracked_count() != 0)
    ipcb__sweep_own_journal();
  else
    ipcb__unlink_journal(journal.path, journal.fd);
}

static void warn_once(const char *what, int err) {
  if (journal.warned++)
    return;
  fprintf(stderr,
          "ipc_bench: cannot keep the crash journal %s (%s: %s); objects that "
          "a SIGKILL of this run leaves behind will not be removed by the "
          "next start\n",
          journal.path, what, ipcb_errno_name(err));
}

/* A ".new" that is left where ours goes: a dead writer's if its lock is
 * free (a live one took it right after creating the file). */
static int clear_stale_new(const char *tmp) {
  int fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  int dead = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
  if (dead)
    ipcb__unlink_journal(tmp, fd);
  if (fd >= 0)
    close(fd);
  return dead ? 0 : -1;
}

/* One try at a locked journal under its name: the descriptor, or -1. It
 * is made under the ".new" name, locked, then linked to its own: link,
 * unlike rename, never replaces a journal that is there (a dead run's
 * under our pid, which a sweeper may be reading). A sweeper that finds the
 * ".new" between our open and our flock takes it for a dead writer's and
 * removes it; then the flock, the link or the check that the name is ours
 * fails, and the caller tries again. */
static int try_make(const char *tmp, const char *path, const char *head,
                    int n) {
  int flags = O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  int fd = open(tmp, flags, 0600);
  if (fd < 0 && errno == EEXIST && clear_stale_new(tmp) == 0)
    fd = open(tmp, flags, 0600);
  if (fd < 0)
    return -1;
  int ok =
      flock(fd, LOCK_EX | LOCK_NB) == 0 && pwrite(fd, head, (size_t)n, 0) == n;
  if (ok && link(tmp, path) != 0) {
    if (errno == EEXIST) /* a dead run's: swept first, then ours */
      ipcb__sweep_journal_of(getpid(), IPCB_SURVIVOR_WAIT_NS);
    ok = link(tmp, path) == 0;
  }
  ok = ok && ipcb__names_file(path, fd);
  int err = errno;
  ipcb__unlink_journal(tmp, fd);
  if (!ok) {
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

static int make_journal(void) {
  char tmp[IPCB_JOURNAL_PATH_MAX], head[96];
  pid_t self = getpid();
  ipcb__journal_path(self, ".new", tmp, sizeof tmp);
  ipcb__journal_path(self, "", journal.path, sizeof journal.path);
  int n = snprintf(head, sizeof head, "%s 1 %d %llu\n", IPCB_JOURNAL_MAGIC,
                   (int)self, (unsigned long long)ipcb__ipc_namespace());
  int fd = -1;
  for (int tries = 0; fd < 0 && tries < 3; tries++)
    fd = try_make(tmp, journal.path, head, n);
  if (fd < 0)
    return warn_once("open/flock/link", errno), -1;
  if (journal.pid == 0)
    atexit(at_exit);
  journal.fd = fd;
  journal.pid = self;
  journal.end = journal.head = n;
  ipcb__sweep_remember_own(fd, journal.path);
  return 0;
}

/* Appends one line; returns its offset, or -1 when there is no journal. */
static off_t append(const char *line, size_t n) {
  off_t at = -1;
  pthread_mutex_lock(&journal.lock);
  if (journal.fd >= 0 && journal.pid != getpid()) {
    close(journal.fd); /* a fork's copy: the lock stays the parent's */
    journal.fd = -1;
    ipcb__sweep_remember_own(-1, "");
  }
  if (journal.fd >= 0 || make_journal() == 0) {
    if (pwrite(journal.fd, line, n, journal.end) == (ssize_t)n) {
      at = journal.end;
      journal.end += (off_t)n;
    } else {
      warn_once("write", errno);
    }
  }
  pthread_mutex_unlock(&journal.lock);
  return at;
}

/* Rewrites part of a line appended before (the id of a SysV key). */
static void overwrite(off_t at, const char *text, size_t n) {
  pthread_mutex_lock(&journal.lock);
  if (journal.fd >= 0 && pwrite(journal.fd, text, n, at) != (ssize_t)n)
    warn_once("write", errno);
  pthread_mutex_unlock(&journal.lock);
}

static void journal_name(const char *name) {
  char line[IPCB_JOURNAL_LINE_MAX];
  int n = snprintf(line, sizeof line, "n %s\n", name);
  if (n > 0 && (size_t)n < sizeof line)
    append(line, (size_t)n);
}

/* The random part comes from the kernel's generator (getentropy: Linux
 * glibc 2.25+, macOS 10.12+), not the clock: a name that another process of
 * the same user could guess is a name it could take first. */
void ipcb_unique_name(char *out, size_t len) {
  static _Atomic unsigned counter;
  unsigned n = atomic_fetch_add(&counter, 1);
  unsigned char r[4] = {0};
  uint32_t noise;
  if (getentropy(r, sizeof r) != 0) /* only EFAULT/EIO: never seen */
    noise = (uint32_t)ipcb_now_ns() * 0x9E3779B9u;
  else
    noise = (uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16 |
            (uint32_t)r[3] << 24;
  /* 31 characters at most: macOS limits POSIX shm and sem names to 31. */
  snprintf(out, len, "/ipcb.%d.%u.%08x", (int)getpid(), n % 100000,
           (unsigned)noise);
  journal_name(out);
}

/* The journal this process writes to, or where it would be: the directory
 * the sweep will look in. */
static void own_journal_path(char *out, size_t len) {
  pthread_mutex_lock(&journal.lock);
  int made = journal.fd >= 0 && journal.pid == getpid();
  if (made)
    snprintf(out, len, "%s", journal.path);
  pthread_mutex_unlock(&journal.lock);
  if (!made)
    ipcb__journal_path(getpid(), "", out, len);
}

/* Beside the journal (private to the user, or sticky), under a journaled
 * name, so that a death between the open and the unlink leaves a file the
 * next sweep removes (sweep.c, remove_file). */
int ipcb_private_file(void *ctx, int *out) {
  char name[64], journal_path[IPCB_JOURNAL_PATH_MAX];
  char path[IPCB_JOURNAL_PATH_MAX + 64], call[IPCB_JOURNAL_PATH_MAX + 96];
  *out = -1;
  for (int tries = 0;; tries++) {
    ipcb_unique_name(name, sizeof name); /* makes the journal if need be */
    own_journal_path(journal_path, sizeof journal_path);
    if (ipcb__name_file_path(journal_path, name, path, sizeof path) != 0)
      return ipcb_fail(ctx, -ENAMETOOLONG, "no room for a file name in %s",
                       journal_path);
    int fd =
        open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    /* ENOENT: a stop request's sweep of our journal came first. */
    if (fd >= 0 && unlink(path) != 0 && errno != ENOENT) {
      snprintf(call, sizeof call, "unlink(%s)", path);
      int rc = ipcb_fail_errno(ctx, call);
      close(fd);
      return rc;
    }
    if (fd >= 0) {
      *out = fd;
      return 0;
    }
    if (errno != EEXIST || tries == 16) {
      snprintf(call, sizeof call, "open(%s, O_CREAT|O_EXCL, 0600)", path);
      return ipcb_fail_errno(ctx, call);
    }
  }
}

static const char *kind_word(ipcb_obj_kind kind) {
  return kind == IPCB_OBJ_SYSV_SHM   ? "shm"
         : kind == IPCB_OBJ_SYSV_SEM ? "sem"
                                     : "msg";
}

static key_t fresh_key(void) {
  uint32_t k = 0;
  while (k == 0 || (key_t)k == IPC_PRIVATE) {
    unsigned char r[4];
    if (getentropy(r, sizeof r) != 0) /* only EFAULT/EIO: never seen */
      k = (uint32_t)ipcb_now_ns() * 0x9E3779B9u;
    else
      memcpy(&k, r, sizeof k);
  }
  return (key_t)k;
}

static int get_object(ipcb_obj_kind kind, key_t key, size_t size_or_count) {
  int flags = IPC_CREAT | IPC_EXCL | 0600;
  if (kind == IPCB_OBJ_SYSV_SHM)
    return shmget(key, size_or_count, flags);
  if (kind == IPCB_OBJ_SYSV_SEM)
    return semget(key, (int)size_or_count, flags);
  return msgget(key, flags);
}

static int create_keyed(ipcb_obj_kind kind, size_t size_or_count) {
  for (int tries = 0; tries < 16; tries++) {
    char line[IPCB_JOURNAL_LINE_MAX], id_text[ID_COLUMNS + 1];
    key_t key = fresh_key();
    int n = snprintf(line, sizeof line, "k %s %08x %*s\n", kind_word(kind),
                     (unsigned)key, ID_COLUMNS, "");
    off_t at = append(line, (size_t)n);
    int id = get_object(kind, key, size_or_count), err = errno;
    /* -1 for a key that some other object holds: never ours to remove. */
    snprintf(id_text, sizeof id_text, "%*d", ID_COLUMNS, id);
    if (at >= 0)
      overwrite(at + n - 1 - ID_COLUMNS, id_text, ID_COLUMNS);
    if (id >= 0) {
      ipcb__track_keyed(kind, id, (long)(uint32_t)key);
      return id;
    }
    if (err != EEXIST) {
      errno = err;
      return -1;
    }
  }
  errno = EEXIST;
  return -1;
}

/* Once no session is open and nothing is tracked or being made, every line
 * names an object that is gone: the journal starts again after its header,
 * so that a long run's (ColdStart opens thousands of sessions) stays a few
 * lines long, and a SIGINT's sweep of it short. Names are made only in
 * sessions; SysV objects also by probes, counted by in_flight. */
void ipcb__journal_session(int delta) {
  pthread_mutex_lock(&journal.lock);
  journal.sessions += delta;
  if (journal.sessions == 0 && journal.in_flight == 0 && journal.fd >= 0 &&
      journal.pid == getpid() && ipcb_tracked_count() == 0 &&
      journal.end > journal.head && ftruncate(journal.fd, journal.head) == 0)
    journal.end = journal.head;
  pthread_mutex_unlock(&journal.lock);
}

static void in_flight(int delta) {
  pthread_mutex_lock(&journal.lock);
  journal.in_flight += delta;
  pthread_mutex_unlock(&journal.lock);
}

int ipcb_sysv_create(ipcb_obj_kind kind, size_t size_or_count) {
  in_flight(1);
  int id = create_keyed(kind, size_or_count);
  in_flight(-1);
  return id;
}
