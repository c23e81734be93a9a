/* macOS specifics of the core: own executable, parent death, machine facts. */
#include <errno.h>
#include <mach-o/dyld.h>
#include <pthread.h>
#include <pthread/qos.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/event.h>
#include <sys/sysctl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core.h"

int ipcb__self_exe(char *out, size_t len) {
  uint32_t size = (uint32_t)len;
  if (_NSGetExecutablePath(out, &size) != 0)
    return -ENAMETOOLONG;
  return 0;
}

static void *parent_watch_thread(void *arg) {
  int kq = (int)(intptr_t)arg;
  struct kevent ev;
  /* Blocks until NOTE_EXIT: macOS has no PR_SET_PDEATHSIG. SIGTERM is sent
   * to the process so the serving thread's blocked call is interrupted. */
  while (kevent(kq, NULL, 0, &ev, 1, NULL) < 0 && errno == EINTR)
    ;
  kill(getpid(), SIGTERM);
  return NULL;
}

int ipcb__watch_parent(pid_t parent, char *err, size_t errlen) {
  struct kevent ev;
  pthread_t thread;
  sigset_t all, old;
  int kq = kqueue();
  if (kq < 0) {
    ipcb__set_err(err, errlen, "kqueue: %s", ipcb_errno_name(errno));
    return -errno;
  }
  EV_SET(&ev, parent, EVFILT_PROC, EV_ADD | EV_ONESHOT, NOTE_EXIT, 0, NULL);
  if (kevent(kq, &ev, 1, NULL, 0, NULL) < 0) {
    int e = errno; /* ESRCH: the client already exited */
    close(kq);
    ipcb__set_err(err, errlen, "kevent(EVFILT_PROC, pid %d): %s", (int)parent,
                  ipcb_errno_name(e));
    return e == ESRCH ? IPCB_EPEERDIED : -e;
  }
  /* The watcher blocks every signal so SIGTERM lands on the serving thread. */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc =
      pthread_create(&thread, NULL, parent_watch_thread, (void *)(intptr_t)kq);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    close(kq);
    ipcb__set_err(err, errlen, "pthread_create: %s", ipcb_errno_name(rc));
    return -rc;
  }
  pthread_detach(thread);
  return 0;
}

int ipcb_pin_self(int cpu) {
  (void)cpu; /* no thread pinning on macOS; QoS is set instead */
  return -ENOTSUP;
}

int ipcb_allowed_cpus(int *out, int cap) {
  int n = (int)sysconf(_SC_NPROCESSORS_ONLN);
  for (int i = 0; i < n && i < cap; i++)
    out[i] = i;
  return n < cap ? n : cap;
}

/* No thread pinning on Apple silicon: the user-interactive class keeps both
 * sides off the efficiency cores and first in line. Best effort: a failure
 * leaves the default class, which the context then misreports only if a
 * sandbox forbids the change. */
void ipcb__tune_thread(void) {
  pthread_set_qos_class_self_np(QOS_CLASS_USER_INTERACTIVE, 0);
}

void ipcb_thread_class(char *out, size_t len) {
  ipcb__tune_thread();
  qos_class_t qos = qos_class_self();
  const char *name = qos == QOS_CLASS_USER_INTERACTIVE ? "user-interactive"
                     : qos == QOS_CLASS_USER_INITIATED ? "user-initiated"
                     : qos == QOS_CLASS_DEFAULT        ? "default"
                     : qos == QOS_CLASS_UTILITY        ? "utility"
                     : qos == QOS_CLASS_BACKGROUND     ? "background"
                                                       : "unspecified";
  snprintf(out, len, "QoS %s", name);
}

static long sysctl_long(const char *name, long fallback) {
  int64_t value = 0;
  size_t size = sizeof value;
  if (sysctlbyname(name, &value, &size, NULL, 0) != 0)
    return fallback;
  if (size == sizeof(int32_t)) {
    int32_t narrow;
    memcpy(&narrow, &value, sizeof narrow);
    return narrow;
  }
  return (long)value;
}

int ipcb_kernel_limit(ipcb_limit_id id, ipcb_limit *out) {
  switch (id) {
  case IPCB_LIMIT_MSGMAX:
  case IPCB_LIMIT_MSGMNB:
    /* SysV message limits are compiled into xnu (MSGMNB 2048), no sysctl. */
    out->value = 2048;
    snprintf(out->name, sizeof out->name, "MSGMNB");
    snprintf(out->how, sizeof out->how,
             "nothing: it is fixed in the macOS kernel");
    return 0;
  case IPCB_LIMIT_SHMMAX:
  case IPCB_LIMIT_SHMALL:
  case IPCB_LIMIT_SHMSEG: {
    const char *name = id == IPCB_LIMIT_SHMMAX   ? "kern.sysv.shmmax"
                       : id == IPCB_LIMIT_SHMALL ? "kern.sysv.shmall"
                                                 : "kern.sysv.shmseg";
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->how, sizeof out->how, "sudo sysctl -w %s=<%s>", name,
             id == IPCB_LIMIT_SHMMAX   ? "bytes"
             : id == IPCB_LIMIT_SHMALL ? "pages"
                                       : "segments");
    long value = sysctl_long(name, 0);
    out->value = value > 0 ? (uint64_t)value : 0;
    return value > 0 ? 0 : -ENOENT;
  }
  case IPCB_LIMIT_MSGMNI: /* compiled into xnu, no sysctl to read */
  case IPCB_LIMIT_MQ_MSGSIZE_MAX:
  case IPCB_LIMIT_MQ_MSG_MAX:
  case IPCB_LIMIT_MQ_QUEUES_MAX:
  case IPCB_LIMIT_PIPE_MAX_SIZE:
  case IPCB_LIMIT_PTRACE_SCOPE:
    /* Linux only: macOS has no POSIX message queues (its SDK has no
     * <mqueue.h>), no pipe resizing and no process_vm_writev. */
    snprintf(out->name, sizeof out->name, "none");
    out->how[0] = '\0';
    out->value = 0;
    return -ENOENT;
  case IPCB_LIMIT_COUNT: break;
  }
  return -EINVAL;
}

static void sysctl_string(const char *name, char *out, size_t len) {
  size_t size = len;
  if (sysctlbyname(name, out, &size, NULL, 0) != 0)
    snprintf(out, len, "unknown");
}

void ipcb_sysinfo_read(ipcb_sysinfo *out) {
  struct utsname u;
  char product[64];
  memset(out, 0, sizeof *out);
  if (uname(&u) == 0) {
    snprintf(out->os, sizeof out->os, "%s", u.sysname);
    snprintf(out->release, sizeof out->release, "%s", u.release);
    snprintf(out->machine, sizeof out->machine, "%s", u.machine);
    snprintf(out->version, sizeof out->version, "%s", u.version);
  }
  sysctl_string("kern.osproductversion", product, sizeof product);
  snprintf(out->distro, sizeof out->distro, "macOS %s", product);
  sysctl_string("machdep.cpu.brand_string", out->cpu_model,
                sizeof out->cpu_model);
  out->logical_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
  out->page_size = sysconf(_SC_PAGESIZE);
  out->cache_line = sysctl_long("hw.cachelinesize", 64);
}
