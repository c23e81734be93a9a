/* Linux specifics of the core: own executable, parent death, machine facts. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

int ipcb__self_exe(char *out, size_t len) {
  /* The path the link names, not the link: under valgrind /proc/self/exe is
   * the tool's own executable, which cannot be run, while readlink answers
   * with the program's path. The link stays the fallback for a binary
   * deleted since it started, which only the link still runs. */
  ssize_t n = readlink("/proc/self/exe", out, len - 1);
  if (n > 0 && (size_t)n < len - 1) {
    out[n] = '\0';
    if (access(out, X_OK) == 0)
      return 0;
  }
  snprintf(out, len, "/proc/self/exe");
  return 0;
}

int ipcb__watch_parent(pid_t parent, char *err, size_t errlen) {
  /* PDEATHSIG follows the thread that spawned us; the core spawns from the
   * benchmark thread, which lives as long as the session. SIGTERM lets the
   * peer remove what the dead client cannot. */
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
    ipcb__set_err(err, errlen, "prctl(PR_SET_PDEATHSIG): %s",
                  ipcb_errno_name(errno));
    return -errno;
  }
  if (getppid() != parent) { /* died before prctl took effect */
    ipcb__set_err(err, errlen,
                  "the client (pid %d) exited before the peer "
                  "started",
                  (int)parent);
    return IPCB_EPEERDIED;
  }
  return 0;
}

struct ipcb_thread_timer {
  timer_t id;
};

/* ThreadSanitizer runs a signal's handler at points of its own, never
 * inside a system call that the kernel restarts: the slice's check would
 * not run while mq_receive (which it does not intercept) waits. Under it
 * the watchdog is a thread, as on macOS. */
#if defined(__SANITIZE_THREAD__)
#define SLICE_TIMER 0
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SLICE_TIMER 0
#endif
#endif
#ifndef SLICE_TIMER
#define SLICE_TIMER 1
#endif

int ipcb__thread_timer_supported(void) { return SLICE_TIMER; }

int ipcb__thread_timer_start(ipcb_thread_timer **out, int signo, int tag,
                             int64_t period_ns) {
  ipcb_thread_timer *t = calloc(1, sizeof *t);
  *out = NULL;
  if (!t)
    return -ENOMEM;
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = signo;
  sev.sigev_value.sival_int = tag;
  sev._sigev_un._tid = (pid_t)syscall(SYS_gettid); /* glibc < 2.30: none */
  if (timer_create(CLOCK_MONOTONIC, &sev, &t->id) != 0) {
    int e = errno;
    free(t);
    return -e;
  }
  struct itimerspec every = {
      {(time_t)(period_ns / 1000000000), (long)(period_ns % 1000000000)},
      {(time_t)(period_ns / 1000000000), (long)(period_ns % 1000000000)}};
  if (timer_settime(t->id, 0, &every, NULL) != 0) {
    int e = errno;
    timer_delete(t->id);
    free(t);
    return -e;
  }
  *out = t;
  return 0;
}

void ipcb__thread_timer_stop(ipcb_thread_timer *t) {
  if (!t)
    return;
  timer_delete(t->id);
  free(t);
}

/* /dev/shm: where POSIX shared memory and semaphores live, so a journal
 * shares their fate: a container's or a namespace's private /dev/shm holds
 * its own journals and objects together. Sticky and world-writable, so no
 * other user can remove ours. */
void ipcb__journal_dir(char *out, size_t len) {
  const char *tmp = getenv("TMPDIR");
  snprintf(out, len, "%s",
           access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm"
           : tmp && *tmp                        ? tmp
                                                : "/tmp");
}

/* SysV keys and queue names are per IPC namespace: a journal records its
 * namespace so that a sweep in another one leaves it alone. */
unsigned long long ipcb__ipc_namespace(void) {
  struct stat st;
  return stat("/proc/self/ns/ipc", &st) == 0 ? (unsigned long long)st.st_ino
                                             : 0;
}

int ipcb_kernel_limit(ipcb_limit_id id, ipcb_limit *out) {
  /* Each is the sysctl of that name, read from its file under /proc/sys. */
  static const char *const limits[IPCB_LIMIT_COUNT][2] = {
      [IPCB_LIMIT_MSGMAX] = {"kernel.msgmax", "bytes"},
      [IPCB_LIMIT_MSGMNB] = {"kernel.msgmnb", "bytes"},
      [IPCB_LIMIT_MSGMNI] = {"kernel.msgmni", "queues"},
      [IPCB_LIMIT_SHMMAX] = {"kernel.shmmax", "bytes"},
      [IPCB_LIMIT_SHMALL] = {"kernel.shmall", "pages"},
      [IPCB_LIMIT_MQ_MSGSIZE_MAX] = {"fs.mqueue.msgsize_max", "bytes"},
      [IPCB_LIMIT_MQ_MSG_MAX] = {"fs.mqueue.msg_max", "messages"},
      [IPCB_LIMIT_MQ_QUEUES_MAX] = {"fs.mqueue.queues_max", "queues"},
      [IPCB_LIMIT_PIPE_MAX_SIZE] = {"fs.pipe-max-size", "bytes"},
      [IPCB_LIMIT_PTRACE_SCOPE] = {"kernel.yama.ptrace_scope", "0 or 1"},
  };
  char path[64];
  unsigned long long value = 0;
  if ((unsigned)id >= IPCB_LIMIT_COUNT)
    return -EINVAL;
  if (!limits[id][0]) { /* Linux enforces neither SHMSEG nor MSGTQL */
    snprintf(out->name, sizeof out->name, "none");
    out->how[0] = '\0';
    out->value = 0;
    return -ENOENT;
  }
  snprintf(out->name, sizeof out->name, "%s", limits[id][0]);
  snprintf(out->how, sizeof out->how, "sudo sysctl -w %s=<%s>", limits[id][0],
           limits[id][1]);
  snprintf(path, sizeof path, "/proc/sys/%s", limits[id][0]);
  for (char *c = path; *c; c++)
    if (*c == '.')
      *c = '/';
  FILE *f = fopen(path, "r");
  int err = f ? EINVAL : errno; /* EMFILE here is not a missing limit */
  int ok = f && fscanf(f, "%llu", &value) == 1;
  if (f)
    fclose(f);
  out->value = ok ? value : 0;
  return ok ? 0 : -err;
}

int ipcb_pin_self(int cpu) {
  cpu_set_t set;
  if (cpu < 0 || cpu >= CPU_SETSIZE)
    return -EINVAL;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  /* pid 0: the calling thread, not the whole process. */
  return sched_setaffinity(0, sizeof set, &set) == 0 ? 0 : -errno;
}

int ipcb_allowed_cpus(int *out, int cap) {
  cpu_set_t set;
  int n = 0;
  if (sched_getaffinity(0, sizeof set, &set) != 0)
    return -errno;
  for (int cpu = 0; cpu < CPU_SETSIZE && n < cap; cpu++)
    if (CPU_ISSET(cpu, &set))
      out[n++] = cpu;
  return n;
}

/* Linux places threads by pinning (--ipc_cpus) and has no QoS classes. */
int ipcb_set_thread_class(ipcb_qos qos) {
  if (qos == IPCB_QOS_PLATFORM)
    return 0;
  return (unsigned)qos <= IPCB_QOS_BACKGROUND ? -ENOTSUP : -EINVAL;
}

void ipcb_describe_thread_class(char *out, size_t len) {
  int policy = sched_getscheduler(0);
  const char *name = policy == SCHED_OTHER   ? "SCHED_OTHER"
                     : policy == SCHED_BATCH ? "SCHED_BATCH"
                     : policy == SCHED_IDLE  ? "SCHED_IDLE"
                     : policy == SCHED_FIFO  ? "SCHED_FIFO"
                     : policy == SCHED_RR    ? "SCHED_RR"
                                             : "unknown policy";
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0); /* -1 is a valid nice value */
  if (errno)
    snprintf(out, len, "%s", name);
  else
    snprintf(out, len, "%s nice %d", name, nice);
}

/* Mach rendezvous exists only on macOS. */
const char *ipcb_probe_bootstrap_method(void) { return NULL; }

static void read_cpu_model(char *out, size_t len) {
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[256];
  snprintf(out, len, "unknown");
  if (!f)
    return;
  while (fgets(line, sizeof line, f)) {
    char *colon = strchr(line, ':');
    if (!colon || strncmp(line, "model name", 10) != 0)
      continue;
    colon += 2;
    colon[strcspn(colon, "\n")] = '\0';
    snprintf(out, len, "%s", colon);
    break;
  }
  fclose(f);
}

/* PRETTY_NAME of os-release(5), without its quotes. */
static void read_distro(char *out, size_t len) {
  char line[256];
  FILE *f = fopen("/etc/os-release", "r");
  if (!f)
    f = fopen("/usr/lib/os-release", "r");
  snprintf(out, len, "unknown");
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, "PRETTY_NAME=", 12) != 0)
      continue;
    char *value = line + 12;
    value[strcspn(value, "\n")] = '\0';
    size_t n = strlen(value);
    if (n >= 2 && (value[0] == '"' || value[0] == '\'') &&
        value[n - 1] == value[0]) {
      value[n - 1] = '\0';
      value++;
    }
    n = strlen(value) < len ? strlen(value) : len - 1; /* cut, not fail */
    memcpy(out, value, n);
    out[n] = '\0';
    break;
  }
  if (f)
    fclose(f);
}

void ipcb_sysinfo_read(ipcb_sysinfo *out) {
  struct utsname u;
  memset(out, 0, sizeof *out);
  if (uname(&u) == 0) {
    snprintf(out->os, sizeof out->os, "%s", u.sysname);
    snprintf(out->release, sizeof out->release, "%s", u.release);
    snprintf(out->version, sizeof out->version, "%s", u.version);
    snprintf(out->machine, sizeof out->machine, "%s", u.machine);
  }
  read_cpu_model(out->cpu_model, sizeof out->cpu_model);
  read_distro(out->distro, sizeof out->distro);
#ifdef _CS_GNU_LIBC_VERSION /* "glibc 2.36"; musl has no such name */
  char libc[64] = "";
  if (confstr(_CS_GNU_LIBC_VERSION, libc, sizeof libc) > 0)
    snprintf(out->libc, sizeof out->libc, "%s", libc);
#endif
  out->logical_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
  out->page_size = sysconf(_SC_PAGESIZE);
  out->cache_line = sysconf(_SC_LEVEL1_DCACHE_LINESIZE);
  if (out->cache_line <= 0)
    out->cache_line = 64;
}

void ipcb__name_this_thread(const char *name) {
  pthread_setname_np(pthread_self(), name); /* 15 characters at most */
}
