/* Removing what a dead process's journal lists (journal.c writes them), and
 * the journals' names, made and read here.
 *
 * Three callers: the start of ipc_bench (every dead run of this user), the
 * survivor of a pair (the peer when its client died, the client once it has
 * reaped its peer), and the SIGINT/SIGTERM handler (its own journal). The
 * last runs in a signal handler, so everything here is system calls on
 * stack buffers: no stdio, no allocation, no locks.
 *
 * An object is removed only when it is provably the dead process's: listed
 * in its journal, owned and created by this user, and for SysV the id that
 * the journal recorded (Linux and xnu reuse a slot under a new sequence
 * number, so an id names one object only) or, for a key whose id was never
 * written (the process died inside the call), a segment whose creator pid
 * is the journal's. A segment that a live process still has attached is
 * left, with its journal, for a later sweep. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef IPCB_HAVE_SEM_OPEN
#include <semaphore.h>
#endif
#ifdef IPCB_HAVE_MQ_OPEN
#include <mqueue.h>
#endif

#include "core.h"

typedef struct sweep {
  const char *path; /* the journal's */
  pid_t owner;
  int self;       /* our own journal: our attachments do not count */
  int foreign_ns; /* another IPC namespace's: only its /dev/shm names */
  time_t written; /* the journal's last write (its mtime) */
  ipcb_sweep_report *tally;
} sweep;

/* An object whose id the journal never got (its maker died inside the
 * call) must have been made then: within a few seconds of the journal's
 * last write. A later object under the same key (32 random bits) is not. */
#define UNCONFIRMED_WINDOW_S 2
static int made_then(const sweep *s, time_t ctime) {
  return ctime + UNCONFIRMED_WINDOW_S >= s->written &&
         ctime <= s->written + UNCONFIRMED_WINDOW_S;
}

static int owned(const struct ipc_perm *p) {
  return p->uid == geteuid() && p->cuid == geteuid();
}

int ipcb__name_file_path(const char *journal_path, const char *name, char *out,
                         size_t len) {
  size_t dir = 0, n = 0;
  for (size_t i = 0; journal_path[i]; i++)
    if (journal_path[i] == '/')
      dir = i;
  while (name[n])
    n++;
  if (dir + n + 1 > len)
    return -1;
  memcpy(out, journal_path, dir);
  memcpy(out + dir, name, n + 1);
  return 0;
}

/* A file made under a journaled name (ipcb_private_file) is unlinked at
 * once; one is left only by a death inside that call. Only a regular file
 * of ours is removed, and only under a name ipcb_unique_name makes: one
 * component, so a journal line can name nothing outside the directory. */
static void remove_file(const sweep *s, const char *name) {
  char file[IPCB_JOURNAL_PATH_MAX + 64];
  struct stat st;
  if (strncmp(name, "/ipcb.", 6) != 0 || strchr(name + 1, '/'))
    return;
  if (ipcb__name_file_path(s->path, name, file, sizeof file) == 0 &&
      lstat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
      unlink(file) == 0)
    s->tally->removed++;
}

/* POSIX names embed our pid and 32 random bits; shared memory is also
 * checked for its owner (root may unlink anyone's). */
static void remove_name(const sweep *s, const char *name) {
  remove_file(s, name);
  int fd = shm_open(name, O_RDONLY, 0);
  if (fd >= 0) {
    struct stat st;
    int mine = fstat(fd, &st) == 0 && st.st_uid == geteuid();
    close(fd);
    if (!mine)
      s->tally->foreign++;
    else if (shm_unlink(name) == 0)
      s->tally->removed++;
  }
#ifdef IPCB_HAVE_SEM_OPEN
  if (sem_unlink(name) == 0)
    s->tally->removed++;
#endif
#ifdef IPCB_HAVE_MQ_OPEN
  if (!s->foreign_ns && mq_unlink(name) == 0) /* queues: per namespace */
    s->tally->removed++;
#endif
}

static int remove_segment(const sweep *s, int id, int id_known) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) != 0)
    return 0;
  if (!owned(&ds.shm_perm) ||
      (!id_known && (ds.shm_cpid != s->owner || !made_then(s, ds.shm_ctime))))
    return s->tally->foreign++, 0;
  if (ds.shm_nattch != 0 && !s->self)
    return s->tally->busy++, 0;
  return shmctl(id, IPC_RMID, NULL) == 0;
}

static int remove_semaphores(const sweep *s, int id, int id_known) {
  struct semid_ds ds;
  union {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
  } arg = {.buf = &ds};
  if (semctl(id, 0, IPC_STAT, arg) != 0)
    return 0;
  if (!owned(&ds.sem_perm) || (!id_known && !made_then(s, ds.sem_ctime)))
    return s->tally->foreign++, 0;
  return semctl(id, 0, IPC_RMID) == 0;
}

static int remove_queue(const sweep *s, int id, int id_known) {
  struct msqid_ds ds;
  if (msgctl(id, IPC_STAT, &ds) != 0)
    return 0;
  if (!owned(&ds.msg_perm) || (!id_known && !made_then(s, ds.msg_ctime)))
    return s->tally->foreign++, 0;
  return msgctl(id, IPC_RMID, NULL) == 0;
}

static void remove_key(const sweep *s, char kind, key_t key, long id) {
  int now = kind == 'h'   ? shmget(key, 0, 0)
            : kind == 'e' ? semget(key, 0, 0)
                          : msgget(key, 0);
  if (now < 0 || id == -1)
    return; /* gone, or the key was another object's when it was tried */
  if (id >= 0 && now != id) {
    s->tally->foreign++; /* the key now names a newer object */
    return;
  }
  int done = kind == 'h'   ? remove_segment(s, now, id >= 0)
             : kind == 'e' ? remove_semaphores(s, now, id >= 0)
                           : remove_queue(s, now, id >= 0);
  s->tally->removed += done;
}

/* Decimal or hex digits at *p; -2 when there are none (a blank id). */
static long number(const char **p, int base) {
  while (**p == ' ')
    (*p)++;
  int neg = **p == '-';
  *p += neg;
  long v = 0, digits = 0;
  for (;; (*p)++, digits++) {
    char c = **p;
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : 99;
    if (d >= base)
      break;
    v = v * base + d;
  }
  return digits ? (neg ? -v : v) : -2;
}

static void sweep_line(const sweep *s, const char *line) {
  if (line[0] == 'n' && line[1] == ' ' && line[2] == '/') {
    remove_name(s, line + 2);
  } else if (line[0] == 'k' && line[1] == ' ' && strlen(line) > 6 &&
             !s->foreign_ns) {
    char kind = line[3]; /* sHm, sEm, mSg */
    const char *p = line + 5;
    long key = number(&p, 16), id = number(&p, 10);
    if (key > 0 && (kind == 'h' || kind == 'e' || kind == 's'))
      remove_key(s, kind, (key_t)(unsigned)key, id);
  }
}

/* Calls sweep_line for each complete line after the header. */
static void sweep_lines(const sweep *s, int fd, off_t from) {
  char buf[4096];
  size_t have = 0;
  for (off_t off = from;;) {
    ssize_t n = pread(fd, buf + have, sizeof buf - 1 - have, off);
    if (n <= 0)
      return; /* a last line without its newline is not finished */
    off += n;
    have += (size_t)n;
    size_t start = 0;
    for (size_t i = 0; i < have; i++)
      if (buf[i] == '\n') {
        buf[i] = '\0';
        sweep_line(s, buf + start);
        start = i + 1;
      }
    memmove(buf, buf + start, have - start);
    have -= start;
    if (have == sizeof buf - 1)
      have = 0; /* a line this long was never written here */
  }
}

/* "ipcb-journal 1 <pid> <ns>\n": its length, or 0 when it is not ours. */
static off_t check_header(int fd, pid_t pid, int *foreign_ns) {
  char head[96];
  ssize_t n = pread(fd, head, sizeof head - 1, 0);
  size_t magic = strlen(IPCB_JOURNAL_MAGIC);
  if (n <= (ssize_t)magic + 3 || memcmp(head, IPCB_JOURNAL_MAGIC, magic) != 0)
    return 0;
  head[n] = '\0';
  const char *p = head + magic;
  if (number(&p, 10) != 1 || number(&p, 10) != (long)pid)
    return 0;
  unsigned long long ns = 0;
  for (p += *p == ' '; *p >= '0' && *p <= '9'; p++)
    ns = ns * 10 + (unsigned)(*p - '0');
  *foreign_ns = ns != ipcb__ipc_namespace();
  return *p == '\n' ? (off_t)(p + 1 - head) : 0;
}

void ipcb__journal_path(pid_t pid, const char *suffix, char *out, size_t len) {
  char dir[IPCB_JOURNAL_PATH_MAX - 48];
  ipcb__journal_dir(dir, sizeof dir);
  snprintf(out, len, "%s/" IPCB_JOURNAL_PREFIX "%u.%d%s", dir,
           (unsigned)geteuid(), (int)pid, suffix);
}

void ipcb_journal_path(int pid, char *out, size_t len) {
  ipcb__journal_path((pid_t)pid, "", out, len);
}

int ipcb__names_file(const char *path, int fd) {
  struct stat by_name, by_fd;
  return lstat(path, &by_name) == 0 && fstat(fd, &by_fd) == 0 &&
         by_name.st_dev == by_fd.st_dev && by_name.st_ino == by_fd.st_ino;
}

void ipcb__unlink_journal(const char *path, int fd) {
  if (ipcb__names_file(path, fd))
    unlink(path); /* never a newer journal that took the name since */
}

static void sweep_fd(int fd, const char *path, pid_t pid, int self,
                     ipcb_sweep_report *tally) {
  struct stat st;
  int foreign_ns = 0;
  off_t body = check_header(fd, pid, &foreign_ns);
  if (!body || fstat(fd, &st) != 0)
    return;
  foreign_ns &= !self;
  sweep s = {path, pid, self, foreign_ns, st.st_mtime, tally};
  unsigned busy = tally->busy, removed = tally->removed;
  sweep_lines(&s, fd, body);
  tally->runs += tally->removed != removed;
  /* Another IPC namespace's keys and queues mean other objects here, and
   * only its /dev/shm names (shared with ours) were removed: the journal
   * stays for a sweep in that namespace. */
  if (tally->busy == busy && !foreign_ns)
    ipcb__unlink_journal(path, fd);
}

/* This process's journal, for the signal handler, which may not lock: the
 * path is written before the descriptor is published. */
static char own_path[IPCB_JOURNAL_PATH_MAX];
static _Atomic int own_fd = -1;

void ipcb__sweep_remember_own(int fd, const char *path) {
  atomic_store(&own_fd, -1);
  snprintf(own_path, sizeof own_path, "%s", path);
  atomic_store(&own_fd, fd);
}

void ipcb__sweep_own_journal(void) {
  ipcb_sweep_report ignored = {0, 0, 0, 0};
  int fd = atomic_load(&own_fd);
  if (fd >= 0)
    sweep_fd(fd, own_path, getpid(), 1, &ignored);
}

/* A dead process's journal at `path`; 0, or -EWOULDBLOCK while it lives. */
static int sweep_path(const char *path, pid_t pid, ipcb_sweep_report *tally) {
  int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return 0;
  struct stat st;
  int rc = 0;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
    rc = 0; /* not a journal of ours: never read */
  else if (flock(fd, LOCK_EX | LOCK_NB) != 0)
    rc = -EWOULDBLOCK;
  else if (fstat(fd, &st) == 0 && st.st_nlink > 0)
    sweep_fd(fd, path, pid, 0, tally); /* not swept meanwhile by another */
  close(fd);
  return rc;
}

void ipcb__sweep_journal_of(pid_t pid, int64_t wait_ns) {
  char path[IPCB_JOURNAL_PATH_MAX];
  ipcb_sweep_report ignored = {0, 0, 0, 0};
  ipcb__journal_path(pid, "", path, sizeof path);
  /* A survivor can hear of a death before the dead process's descriptors
   * (and the lock) are gone: see peer.c, finish(). */
  int64_t end = ipcb_now_ns() + wait_ns;
  struct timespec pause = {0, 5 * 1000 * 1000};
  while (sweep_path(path, pid, &ignored) == -EWOULDBLOCK && ipcb_now_ns() < end)
    nanosleep(&pause, NULL);
}

/* "ipcb-journal.<euid>.<pid>[.new]" -> pid, or 0 for anything else. */
static pid_t journal_pid(const char *name, int *is_new) {
  char prefix[48];
  int n = snprintf(prefix, sizeof prefix, IPCB_JOURNAL_PREFIX "%u.",
                   (unsigned)geteuid());
  if (strncmp(name, prefix, (size_t)n) != 0)
    return 0;
  char *end;
  long pid = strtol(name + n, &end, 10);
  *is_new = strcmp(end, ".new") == 0;
  return pid > 0 && (*end == '\0' || *is_new) ? (pid_t)pid : 0;
}

int ipcb_sweep_dead_runs(ipcb_sweep_report *out) {
  char dir[IPCB_JOURNAL_PATH_MAX - 48], path[IPCB_JOURNAL_PATH_MAX + 256];
  memset(out, 0, sizeof *out);
  ipcb__journal_dir(dir, sizeof dir);
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    int is_new = 0;
    pid_t pid = journal_pid(e->d_name, &is_new);
    if (pid == 0 || pid == getpid())
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (!is_new) {
      sweep_path(path, pid, out);
      continue;
    }
    /* Killed before its journal had a name: it lists nothing. (A live
     * writer between its open and its flock tries again: journal.c.) */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
        flock(fd, LOCK_EX | LOCK_NB) == 0)
      ipcb__unlink_journal(path, fd);
    if (fd >= 0)
      close(fd);
  }
  closedir(d);
  return (int)out->removed;
}
