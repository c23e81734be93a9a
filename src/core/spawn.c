/* Starting and stopping the peer: posix_spawn of our own executable.
 *
 * Spawn, never fork: CoreFoundation and libdispatch are unsafe in a forked
 * child, a fork would copy the benchmark library's state, and Mach port
 * rights do not survive fork() on macOS. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

extern char **environ;

/* Inherited fds land at base, base+1, ... with base above every source fd,
 * so no dup2 overwrites a source that a later dup2 still reads. dup2 to a
 * new number also clears FD_CLOEXEC, which the transports set. */
static int fd_base(const ipcb_rdv *rdv) {
  int base = 3;
  for (int i = 0; i < rdv->nfds; i++)
    if (rdv->fds[i] + 1 > base)
      base = rdv->fds[i] + 1;
  return base;
}

/* The peer inherits stdin, stdout, stderr and its rendezvous fds, nothing
 * else: a descriptor the client holds without FD_CLOEXEC (Google Benchmark's
 * --benchmark_out file, a test's pipe) would otherwise stay open in every
 * peer, and a pipe's write end held there hides the client's EOF. Those at
 * or above RLIMIT_NOFILE are left alone: valgrind keeps its own there. */
static int close_inherited(posix_spawn_file_actions_t *fa, int keep_from,
                           int keep_n) {
  struct rlimit lim;
  DIR *dir = opendir("/dev/fd");
  if (!dir)
    return 0; /* best effort: no fd directory, nothing to list */
  rlim_t limit = getrlimit(RLIMIT_NOFILE, &lim) == 0 ? lim.rlim_cur : 1024;
  int rc = 0;
  for (struct dirent *e; !rc && (e = readdir(dir)) != NULL;) {
    char *end;
    long fd = strtol(e->d_name, &end, 10);
    if (*end || end == e->d_name || fd < 3 || fd == dirfd(dir) ||
        (rlim_t)fd >= limit || (fd >= keep_from && fd < keep_from + keep_n))
      continue;
    int flags = fcntl((int)fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC))
      rc = posix_spawn_file_actions_addclose(fa, (int)fd);
  }
  closedir(dir);
  return rc;
}

static int prepare(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr,
                   const ipcb_rdv *rdv, int base) {
  sigset_t none, dflt;
  int rc = posix_spawn_file_actions_init(fa);
  for (int i = 0; !rc && i < rdv->nfds; i++)
    rc = posix_spawn_file_actions_adddup2(fa, rdv->fds[i], base + i);
  if (!rc)
    rc = close_inherited(fa, base, rdv->nfds);
  if (!rc)
    rc = posix_spawnattr_init(attr);
  sigemptyset(&none);
  sigemptyset(&dflt);
  sigaddset(&dflt, SIGPIPE);
  sigaddset(&dflt, SIGINT);
  sigaddset(&dflt, SIGTERM);
  sigaddset(&dflt, SIGURG);
  if (!rc)
    rc = posix_spawnattr_setsigmask(attr, &none);
  if (!rc)
    rc = posix_spawnattr_setsigdefault(attr, &dflt);
  if (!rc)
    rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSIGMASK |
                                            POSIX_SPAWN_SETSIGDEF);
  return rc;
}

/* Descriptors the peer needs free beyond the ones it inherits: the dynamic
 * loader opens one at a time, and attach opens a few (queues by name, /proc
 * files, a received memfd). Without this check a low RLIMIT_NOFILE, which the
 * peer inherits, shows as an EBADF from posix_spawn's dup2 or as a peer that
 * exits with 127 before main. */
enum { PEER_FD_HEADROOM = 16 };

static int check_fd_room(const ipcb_rdv *rdv, int base, char *err,
                         size_t errlen) {
  struct rlimit lim;
  rlim_t need = (rlim_t)(base + rdv->nfds + PEER_FD_HEADROOM);
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= need)
    return 0;
  ipcb__set_err(err, errlen,
                "EMFILE: RLIMIT_NOFILE is %llu and the peer needs %llu (it "
                "inherits fds up to %d and opens up to %d more); raise it "
                "with ulimit -n <n>",
                (unsigned long long)lim.rlim_cur, (unsigned long long)need,
                rdv->nfds ? base + rdv->nfds - 1 : 2, PEER_FD_HEADROOM);
  return IPCB_ELIMIT;
}

int ipcb__spawn_peer(const ipcb_spawn_req *req, pid_t *pid, char *err,
                     size_t errlen) {
  char exe[1024];
  int base = fd_base(req->rdv);
  int rc = ipcb__self_exe(exe, sizeof exe);
  if (rc) {
    ipcb__set_err(err, errlen, "cannot find the running executable's path");
    return rc;
  }
  rc = check_fd_room(req->rdv, base, err, errlen);
  if (rc)
    return rc;
  ipcb_peer_args args = {req->tr->name,  req->rdv->token, base,
                         req->rdv->nfds, (int)getpid(),   *req->opt,
                         *req->cfg};
  ipcb_peer_argv argv;
  ipcb__peer_argv_write(&args, exe, &argv);

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  rc = prepare(&fa, &attr, req->rdv, base);
  if (!rc)
    rc = posix_spawn(pid, exe, &fa, &attr, argv.argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc) {
    ipcb__set_err(err, errlen, "posix_spawn(%s): %s (%s)", exe,
                  ipcb_errno_name(rc), strerror(rc));
    return -rc;
  }
  return 0;
}

/* SIGKILL, not SIGTERM: the client owns and removes every kernel object, so
 * the peer has nothing to clean, and a SIGTERM that lands between two of the
 * peer's calls would leave it blocked until a grace period ran out, which
 * ColdStart would time. (SIGTERM is for a peer whose client died.) */
int ipcb__stop_peer(pid_t pid) {
  int status = 0;
  kill(pid, SIGKILL);
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  return status;
}
