/* macOS: a process's CPU time, context switches and page faults.
 *
 * macOS counts switches and faults per task only, so both sides are
 * counted per process: proc_pidinfo(PROC_PIDTASKINFO), which a process may
 * ask of another of the same user (xnu bsd/kern/proc_info.c:2173-2189,
 * proc_security_policy at 3135-3170). Per process is also what XPC and the
 * CF transports need, whose messages are handled on threads of libdispatch
 * or of a run loop, not on the benchmark thread.
 *
 * CPU time is the task's total (pti_total_user and pti_total_system, in
 * mach_absolute_time units: osfmk/kern/bsd_kern.c:1102-1110,
 * recount_times_mach) less that of the core's own threads, the watchdog and
 * the parent watch, which carry names under IPCB_OWN_THREAD_PREFIX
 * (PROC_PIDTHREADINFO, in ns from microseconds: bsd_kern.c:1148-1149). Their
 * switches stay in: each watchdog wakes 50 times a second (watchdog.c).
 * pti_faults counts every vm_fault of the task and pti_cow_faults the copies
 * among them (osfmk/vm/vm_fault.c:4445, 2255 and 5341); pti_csw sums c_switch
 * over the task's threads (bsd_kern.c:1092, 1119). */
#include <errno.h>
#include <libproc.h>
#include <mach/mach_time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/proc_info.h>
#include <unistd.h>

#include "core.h"

static mach_timebase_info_data_t timebase; /* 1/1 x86_64, 125/3 arm64 */
static pthread_once_t timebase_once = PTHREAD_ONCE_INIT;
static void read_timebase(void) { mach_timebase_info(&timebase); }

static int64_t mach_to_ns(uint64_t t) {
  pthread_once(&timebase_once, read_timebase);
  return (int64_t)((__uint128_t)t * timebase.numer / timebase.denom);
}

/* CPU time of the task's threads named IPCB_OWN_THREAD_PREFIX..., in ns,
 * or -1 when the threads cannot be listed. PROC_PIDLISTTHREADS gives each
 * thread's cthread_self, the handle that PROC_PIDTHREADINFO takes, oldest
 * first (bsd_kern.c:1188-1196, 1141). Room for a few more threads than
 * pti_threadnum, as proc_pidlistthreads leaves itself (proc_info.c:1061). */
static int64_t own_threads_ns(pid_t pid, int threads) {
  size_t room = (size_t)(threads > 0 ? threads : 0) + 16;
  uint64_t *handles = calloc(room, sizeof *handles);
  int bytes = handles ? proc_pidinfo(pid, PROC_PIDLISTTHREADS, 0, handles,
                                     (int)(room * sizeof *handles))
                      : 0;
  int64_t sum = bytes > 0 ? 0 : -1;
  size_t prefix = strlen(IPCB_OWN_THREAD_PREFIX);
  for (int i = 0; bytes > 0 && i < bytes / (int)sizeof handles[0]; i++) {
    struct proc_threadinfo ti;
    if (proc_pidinfo(pid, PROC_PIDTHREADINFO, handles[i], &ti,
                     (int)sizeof ti) != (int)sizeof ti)
      continue; /* it ended meanwhile */
    if (strncmp(ti.pth_name, IPCB_OWN_THREAD_PREFIX, prefix) == 0)
      sum += (int64_t)(ti.pth_user_time + ti.pth_system_time);
  }
  free(handles);
  return sum;
}

/* xnu caps each count at INT32_MAX (bsd_kern.c:1112-1119): a count that has
 * reached it no longer moves, so it is unknown, not 0. */
static void count(int32_t value, int64_t *field, unsigned bit, unsigned *have) {
  if (value >= 0 && value < INT32_MAX) {
    *field = value;
    *have |= bit;
  }
}

int ipcb__usage_of(pid_t pid, ipcb_usage *u, int *on_cpu) {
  struct proc_taskinfo ti;
  memset(u, 0, sizeof *u);
  *on_cpu = 0;
  if (proc_pidinfo(pid, PROC_PIDTASKINFO, 0, &ti, (int)sizeof ti) !=
      (int)sizeof ti)
    return errno ? -errno : -ESRCH;
  /* TH_RUN is set at a thread's wake-up (osfmk/kern/sched_prim.c:1015) and
   * cleared when it blocks (sched_prim.c:3942); bsd_kern.c:1089 counts it. */
  *on_cpu = ti.pti_numrunning > 0;
  int64_t own = own_threads_ns(pid, ti.pti_threadnum);
  if (own >= 0) {
    u->cpu_ns = mach_to_ns(ti.pti_total_user + ti.pti_total_system) - own;
    u->have |= IPCB_USAGE_CPU;
  }
  count(ti.pti_csw, &u->switches, IPCB_USAGE_SWITCHES, &u->have);
  count(ti.pti_faults, &u->faults, IPCB_USAGE_FAULTS, &u->have);
  count(ti.pti_cow_faults, &u->cow_faults, IPCB_USAGE_COW_FAULTS, &u->have);
  return 0;
}

void ipcb__usage_self(ipcb_usage *u) {
  int on_cpu;
  if (ipcb__usage_of(getpid(), u, &on_cpu) != 0)
    memset(u, 0, sizeof *u);
}

unsigned ipcb_usage_available(char *out, size_t len) {
  ipcb_usage u;
  int on_cpu;
  int rc = ipcb__usage_of(getpid(), &u, &on_cpu);
  snprintf(out, len,
           "per process, from proc_pidinfo(PROC_PIDTASKINFO); CPU time leaves "
           "out ipc_bench's watchdog threads, switches and faults count "
           "them (50 wake-ups a second a side); macOS does not tell "
           "voluntary switches apart%s%s",
           rc ? "; proc_pidinfo fails here: " : "",
           rc ? ipcb_errno_name(-rc) : "");
  return rc ? 0 : u.have;
}
