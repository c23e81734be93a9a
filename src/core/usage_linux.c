/* Linux: one thread's CPU time, context switches and page faults.
 *
 * Both sides are counted per thread, the thread that runs the exchange:
 * the client's is the benchmark thread, the peer's its main thread, whose
 * tid is its pid. That leaves out any second thread (under ThreadSanitizer
 * the watchdog is one). Linux's watchdog is otherwise a timer whose signal
 * runs on the session thread itself, every 20 ms (watchdog.c): its handler's
 * few microseconds count, and so does the one extra switch when it finds
 * the thread blocked.
 *
 * CPU time is the scheduler's sum_exec_runtime, in ns, for both:
 * CLOCK_THREAD_CPUTIME_ID for the calling thread, the first field of
 * /proc/<pid>/task/<tid>/schedstat for the peer (stat's utime and stime
 * count whole clock ticks, 4 ms at 250 Hz). Switches and faults are the
 * same task fields both ways: getrusage(RUSAGE_THREAD), and the peer's stat
 * (fields 10 and 12) and status (voluntary_ctxt_switches,
 * nonvoluntary_ctxt_switches). A process of the same user may read them
 * all. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

void ipcb__usage_self(ipcb_usage *u) {
  struct timespec ts;
  struct rusage ru;
  memset(u, 0, sizeof *u);
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0) {
    u->cpu_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    u->have |= IPCB_USAGE_CPU;
  }
  if (getrusage(RUSAGE_THREAD, &ru) == 0) {
    u->switches = ru.ru_nvcsw + ru.ru_nivcsw;
    u->voluntary = ru.ru_nvcsw;
    u->faults = ru.ru_minflt + ru.ru_majflt;
    u->have |= IPCB_USAGE_SWITCHES | IPCB_USAGE_VOLUNTARY | IPCB_USAGE_FAULTS;
  }
}

/* The whole of /proc/<pid>/task/<pid>/<name>, NUL-terminated. */
static int read_task_file(pid_t pid, const char *name, char *buf, size_t len) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/%s", (int)pid, (int)pid, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  ssize_t n = read(fd, buf, len - 1);
  int saved = errno;
  close(fd);
  if (n < 0)
    return -saved;
  buf[n] = '\0';
  return 0;
}

static int field_after(const char *text, const char *key, long long *out) {
  const char *p = strstr(text, key);
  return p && sscanf(p + strlen(key), " %lld", out) == 1;
}

/* stat: "pid (comm) S ppid pgrp session tty tpgid flags minflt cminflt
 * majflt ..."; comm may hold spaces and parentheses, so parse after the
 * last ')'. */
static int read_stat(pid_t pid, ipcb_usage *u, int *on_cpu) {
  char buf[1024], state = 0;
  long long minflt, majflt;
  int rc = read_task_file(pid, "stat", buf, sizeof buf);
  if (rc)
    return rc;
  const char *p = strrchr(buf, ')');
  if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %lld %*u %lld", &state,
                   &minflt, &majflt) != 3)
    return -EPROTO;
  *on_cpu = state == 'R';
  if (state == 'Z' || state == 'X')
    return -ESRCH;
  u->faults = minflt + majflt;
  u->have |= IPCB_USAGE_FAULTS;
  return 0;
}

int ipcb__usage_of(pid_t pid, ipcb_usage *u, int *on_cpu) {
  char buf[4096];
  long long v, nv, ns, runs;
  memset(u, 0, sizeof *u);
  *on_cpu = 0;
  int rc = read_stat(pid, u, on_cpu);
  if (rc)
    return rc;
  /* Without CONFIG_SCHED_INFO the kernel prints "0 0 0". A thread that
   * runs has been put on a CPU at least once (the third field), though its
   * time may still read 0 until its first tick or switch. */
  if (read_task_file(pid, "schedstat", buf, sizeof buf) == 0 &&
      sscanf(buf, "%lld %*d %lld", &ns, &runs) == 2 && runs > 0) {
    u->cpu_ns = ns;
    u->have |= IPCB_USAGE_CPU;
  }
  if (read_task_file(pid, "status", buf, sizeof buf) == 0 &&
      field_after(buf, "\nvoluntary_ctxt_switches:", &v) &&
      field_after(buf, "\nnonvoluntary_ctxt_switches:", &nv)) {
    u->switches = v + nv;
    u->voluntary = v;
    u->have |= IPCB_USAGE_SWITCHES | IPCB_USAGE_VOLUNTARY;
  }
  return 0;
}

unsigned ipcb_usage_available(char *out, size_t len) {
  ipcb_usage u;
  int on_cpu;
  /* The peer's files are read as this process reads its own. */
  int rc = ipcb__usage_of(getpid(), &u, &on_cpu);
  unsigned have = rc ? 0 : u.have;
  char missing[160] = "";
  if (!(have & IPCB_USAGE_CPU))
    snprintf(missing, sizeof missing,
             "; the peer's CPU time is not counted: /proc/<pid>/task/<tid>/"
             "schedstat %s",
             rc ? ipcb_errno_name(-rc) : "is missing or all zero");
  snprintf(out, len,
           "per thread, each side's exchange thread: the client's from "
           "CLOCK_THREAD_CPUTIME_ID and getrusage(RUSAGE_THREAD), the peer's "
           "from /proc/<pid>/task/<tid>/{schedstat,stat,status}; "
           "copy-on-write faults are not told apart on Linux%s",
           missing);
  return have & ~(unsigned)IPCB_USAGE_COW_FAULTS;
}
