/* macOS specifics of the core: own executable, parent death, machine facts. */
#include <errno.h>
#include <mach-o/dyld.h>
#include <mach/mach.h>
#include <pthread.h>
#include <pthread/qos.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The per-user temporary directory (/var/folders/.../T), mode 0700. */
void ipcb__journal_dir(char *out, size_t len) {
  size_t n = confstr(_CS_DARWIN_USER_TEMP_DIR, out, len);
  if (n == 0 || n > len) {
    const char *tmp = getenv("TMPDIR");
    snprintf(out, len, "%s", tmp && *tmp ? tmp : "/tmp");
    n = strlen(out) + 1;
  }
  if (n > 2 && out[n - 2] == '/')
    out[n - 2] = '\0';
}

/* macOS has no IPC namespaces. */
unsigned long long ipcb__ipc_namespace(void) { return 0; }

static void *parent_watch_thread(void *arg) {
  int kq = (int)(intptr_t)arg;
  struct kevent ev;
  ipcb__name_this_thread(IPCB_OWN_THREAD_PREFIX "parent");
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

/* No thread pinning on Apple silicon: the QoS class is what places a thread
 * on performance or efficiency cores. User-interactive, the default, keeps
 * both sides on the performance cores and first in line. */
static const struct {
  qos_class_t qos;
  const char *name;
  int base_pri; /* xnu thread_policy.c qos_pri[]: the class's base priority */
} qos_classes[] = {
    [IPCB_QOS_PLATFORM] = {QOS_CLASS_USER_INTERACTIVE, "user-interactive", 46},
    [IPCB_QOS_USER_INTERACTIVE] = {QOS_CLASS_USER_INTERACTIVE,
                                   "user-interactive", 46},
    [IPCB_QOS_USER_INITIATED] = {QOS_CLASS_USER_INITIATED, "user-initiated",
                                 37},
    [IPCB_QOS_DEFAULT] = {QOS_CLASS_DEFAULT, "default", 31},
    [IPCB_QOS_UTILITY] = {QOS_CLASS_UTILITY, "utility", 20},
    [IPCB_QOS_BACKGROUND] = {QOS_CLASS_BACKGROUND, "background", 4},
};
enum { QOS_CLASS_COUNT = sizeof qos_classes / sizeof qos_classes[0] };

int ipcb_set_thread_class(ipcb_qos qos) {
  if ((unsigned)qos >= QOS_CLASS_COUNT)
    return -EINVAL;
  /* EPERM only for a thread that pthread_setschedparam() opted out of QoS
   * (pthread/qos.h, pthread_set_qos_class_self_np). */
  int rc = pthread_set_qos_class_self_np(qos_classes[qos].qos, 0);
  return rc ? -rc : 0;
}

/* qos_class_self() reports the class requested, not the one in effect (a
 * task clamp, a darwinbg process or an override changes the latter), and so
 * does thread_policy_get(THREAD_QOS_POLICY), which is private besides
 * (mach/thread_policy_private.h; xnu returns requested.thrp_qos). The
 * kernel derives the thread's base priority from the class in effect
 * (thread_recompute_priority) and THREAD_EXTENDED_INFO, which is public,
 * returns it (pth_priority = base_pri): that is recorded, beside the
 * priority the requested class would give. */
void ipcb_describe_thread_class(char *out, size_t len) {
  qos_class_t qos = qos_class_self();
  int i = IPCB_QOS_USER_INTERACTIVE;
  while (i < QOS_CLASS_COUNT && qos_classes[i].qos != qos)
    i++;
  const char *name = i < QOS_CLASS_COUNT ? qos_classes[i].name : "unspecified";
  thread_extended_info_data_t info;
  mach_msg_type_number_t count = THREAD_EXTENDED_INFO_COUNT;
  if (thread_info(pthread_mach_thread_np(pthread_self()), THREAD_EXTENDED_INFO,
                  (thread_info_t)&info, &count) != KERN_SUCCESS) {
    snprintf(out, len, "QoS %s (requested; base priority unreadable)", name);
    return;
  }
  int pri = info.pth_priority;
  if (i == QOS_CLASS_COUNT) {
    snprintf(out, len, "QoS %s (requested; in effect: base priority %d)", name,
             pri);
    return;
  }
  int want = qos_classes[i].base_pri;
  /* 46 becomes 47 in a frontmost app (thread_policy.c, qos_ui_is_urgent). */
  if (pri == want || (want == 46 && pri == 47))
    snprintf(out, len, "QoS %s (requested; in effect: base priority %d, %s's)",
             name, pri, name);
  else
    snprintf(out, len,
             "QoS %s (requested; in effect: base priority %d, not %s's %d)",
             name, pri, name, want);
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

/* A SysV message limit: compiled into xnu (bsd/sys/msg.h), no sysctl. */
static int fixed_limit(ipcb_limit *out, const char *name, uint64_t value) {
  out->value = value;
  snprintf(out->name, sizeof out->name, "%s", name);
  snprintf(out->how, sizeof out->how,
           "nothing: it is fixed in the macOS kernel");
  return 0;
}

int ipcb_kernel_limit(ipcb_limit_id id, ipcb_limit *out) {
  switch (id) {
  case IPCB_LIMIT_MSGMAX:
  case IPCB_LIMIT_MSGMNB: return fixed_limit(out, "MSGMNB", 2048);
  /* Message headers for all queues together: a queue of small messages
   * holds 40 at most. */
  case IPCB_LIMIT_MSGTQL: return fixed_limit(out, "MSGTQL", 40);
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

/* No timer that signals one thread (no timer_create; setitimer signals the
 * process, and CF, XPC and libdispatch give it other threads). */
int ipcb__thread_timer_supported(void) { return 0; }

int ipcb__thread_timer_start(ipcb_thread_timer **out, int signo, int tag,
                             int64_t period_ns) {
  (void)signo, (void)tag, (void)period_ns;
  *out = NULL;
  return -ENOTSUP;
}

void ipcb__thread_timer_stop(ipcb_thread_timer *t) { (void)t; }

void ipcb__name_this_thread(const char *name) { pthread_setname_np(name); }
