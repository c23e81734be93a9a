// Every kernel object a session creates is private to the user from the
// moment it exists.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <semaphore.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#ifdef __APPLE__
#include <libproc.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "endpoint.h"
#include "hygiene.h"
#include "support.h"

namespace ipcb_test {
namespace {

const char kMach[] = "Mach ports under a bootstrap name, which has no mode: "
                     "the client takes a hello only from the pid it spawned";

// Transports whose setup makes no object with a mode and hands the peer no
// descriptor, each with what guards it instead. One that checks nothing
// must be listed, and one listed must check nothing, so that the test never
// passes a transport having looked at nothing without saying why.
const std::map<std::string, std::string> &NothingToCheck() {
  static const std::map<std::string, std::string> list = {
      {"Null", "no second process: the client answers itself"},
      {"TCP", "a loopback port any local process may reach: the peer proves "
              "itself with the random cookie of the token"},
      {"MachMsg", kMach},
      {"MachOOL", kMach},
      {"MachOOLPhysical", kMach},
      {"MachShm", std::string(kMach) + "; the memory entry travels as a port"},
      {"MachSemaphore", std::string(kMach) +
                            "; the memory entry and the semaphores travel as "
                            "ports"},
      {"CFMessagePort", "bootstrap names, which have no mode: any process "
                        "of the user may send, and fails the session at "
                        "worst"},
      {"CFMachPort", kMach},
      {"XPC", std::string(kMach) + "; the XPC listener is anonymous: its port "
                                   "reaches only that peer, and the client "
                                   "accepts one connection, from its pid"},
  };
  return list;
}

// What was looked at, and what was found not private.
struct Findings {
  std::string checked, problems;
  int unseen = 0;  // recorded objects whose mode only a descriptor shows
  int holders = 0; // descriptors of shared memory or queues, checked by mode
  void Check(const std::string &what, const std::string &how, bool ok) {
    checked += "\n  " + what + ": " + how;
    if (!ok)
      problems += "\n  " + what + ": " + how;
  }
};

#ifdef __APPLE__
// xnu keeps a named semaphore's mode and owner but has no stat for it; the
// sem_t * that sem_open returns is a descriptor's number (posix_sem.c,
// sem_open: *retval = indx; sem_close: CAST_DOWN(int, uap->sem)), whose
// proc_pidfdinfo carries both (posix_sem.c, fill_pseminfo).
void ReadSemMode(const ipcb_tracked_object &o, Seen *seen) {
  sem_t *sem = sem_open(o.name, 0);
  if (sem == SEM_FAILED)
    return;
  struct psem_fdinfo info;
  int fd = static_cast<int>(reinterpret_cast<intptr_t>(sem));
  if (proc_pidfdinfo(getpid(), fd, PROC_PIDFDPSEMINFO, &info, sizeof info) ==
      static_cast<int>(sizeof info)) {
    seen->mode_known = true;
    seen->mode = info.pseminfo.psem_stat.vst_mode & 0777;
    seen->uid = info.pseminfo.psem_stat.vst_uid;
  }
  sem_close(sem);
}
#endif

// A recorded object, asked of the kernel while setup's objects all exist.
void CheckRecord(const ipcb_tracked_object &o, Findings *f) {
  Seen seen = Look(o);
#ifdef __APPLE__
  if (o.kind == IPCB_OBJ_POSIX_SEM && seen.present && !seen.mode_known)
    ReadSemMode(o, &seen);
#endif
  std::string name = Describe(o);
  // Unlinked within setup (ShmSpin, CacheLine, ShmUlock), or a queue whose
  // mode only /dev/mqueue shows: the descriptor that holds it stands in.
  bool held = o.kind == IPCB_OBJ_POSIX_SHM || o.kind == IPCB_OBJ_POSIX_MQ;
  if (held && (!seen.present || !seen.mode_known)) {
    f->unseen++;
    f->checked += "\n  " + name + ": " +
                  (seen.present ? "mode shown by its descriptor"
                                : "removed within setup, checked by its "
                                  "descriptor");
    return;
  }
  f->Check(name, seen.present ? ModeText(seen) : "gone before it was seen",
           seen.present && seen.mode_known && seen.mode == 0600 &&
               seen.uid == geteuid());
}

// An AF_UNIX socket with no name: reachable only through a descriptor.
// Linux gives an unbound socket a bare family (a leading NUL with a name
// after it is an abstract name, open to the network namespace); xnu gives
// one a zeroed sockaddr (uipc_usrreq.c, sun_noname).
bool UnnamedSocket(int fd, std::string *how) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(fd, reinterpret_cast<sockaddr *>(&ss), &len) != 0) {
    *how = std::string("getsockname: ") + strerror(errno);
    return false;
  }
  if (ss.ss_family != AF_UNIX) {
    *how = "a socket of family " + std::to_string(ss.ss_family);
    return false;
  }
  const auto *un = reinterpret_cast<const sockaddr_un *>(&ss);
  size_t path = offsetof(sockaddr_un, sun_path);
  size_t n = len > path ? std::min<size_t>(len - path, sizeof un->sun_path) : 0;
  *how = "AF_UNIX socket, no name";
  if (std::any_of(un->sun_path, un->sun_path + n, [](char c) { return c; }))
    *how = "AF_UNIX socket bound to a name";
  return *how == "AF_UNIX socket, no name";
}

// The descriptor's kind: "named" (POSIX shared memory or a queue, whose
// mode is what another process is checked against), "memfd", "pipe",
// "socket", "anon" (an anonymous inode, such as an eventfd), or "". *name
// is what the kernel calls the object, where it says.
std::string KindOf(int fd, const struct stat &st, std::string *name) {
  if (S_ISSOCK(st.st_mode))
    return "socket";
#ifdef __linux__
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  std::error_code ec;
  std::string link = std::filesystem::read_symlink(proc, ec).string();
  *name = link;
  if (link.rfind("anon_inode:", 0) == 0)
    return "anon";
  if (S_ISFIFO(st.st_mode) && link.rfind("pipe:", 0) == 0)
    return "pipe";
  if (S_ISREG(st.st_mode))
    return link.rfind("/memfd:", 0) == 0 ? "memfd" : "named";
#else
  // xnu's stat of a POSIX shm object has no file type bits (posix_shm.c,
  // pshm_stat), and a pipe's and a FIFO's look alike; proc_pidfdinfo
  // answers a flavour only for a descriptor of its kind (proc_info.c,
  // fp_get_ftype), a FIFO in a file system being a vnode.
  struct pipe_fdinfo fifo;
  struct pshm_fdinfo pshm;
  if (proc_pidfdinfo(getpid(), fd, PROC_PIDFDPIPEINFO, &fifo, sizeof fifo) ==
      static_cast<int>(sizeof fifo))
    return "pipe";
  if (proc_pidfdinfo(getpid(), fd, PROC_PIDFDPSHMINFO, &pshm, sizeof pshm) ==
      static_cast<int>(sizeof pshm)) {
    *name = pshm.pshminfo.pshm_name;
    return "named";
  }
#endif
  return "";
}

// One rendezvous descriptor. Only a named object's mode decides who may
// open it; the others have no name to open, so what is checked is that
// they have none, and whose they are.
void CheckFd(int fd, Findings *f) {
  struct stat st;
  std::string what = "descriptor " + std::to_string(fd), how;
  if (fstat(fd, &st) != 0) {
    f->Check(what, std::string("fstat: ") + strerror(errno), false);
    return;
  }
  std::string name, kind = KindOf(fd, st, &name);
  if (!name.empty())
    what += " (" + name + ")";
  char mode[64];
  snprintf(mode, sizeof mode, "mode 0%o, owner uid %u",
           static_cast<unsigned>(st.st_mode & 0777),
           static_cast<unsigned>(st.st_uid));
  bool mine = st.st_uid == geteuid();
  if (kind == "named") {
    f->holders++;
    f->Check(what, std::string("shared memory or queue, ") + mode,
             (st.st_mode & 0777) == 0600 && mine);
  } else if (kind == "memfd") {
    // memfd_create makes every memfd 0777 (mm/shmem.c, S_IRWXUGO): with no
    // name, only /proc/<pid>/fd reaches it, and that needs ptrace rights.
    f->Check(what,
             std::string("memfd, ") + mode + ", " +
                 std::to_string(st.st_nlink) + " names",
             st.st_nlink == 0 && mine);
  } else if (kind == "pipe") {
    // The kernel's fixed mode (Linux 0600, xnu 0660) opens nothing.
    f->Check(what, std::string("pipe, ") + mode, mine);
  } else if (kind == "socket") {
    bool ok = UnnamedSocket(fd, &how);
    f->Check(what, how, ok);
  } else if (kind == "anon") {
    f->Check(what, "anonymous inode, no name", true);
  } else {
    snprintf(mode, sizeof mode, "st_mode 0%o: no rule for this kind",
             static_cast<unsigned>(st.st_mode));
    f->Check(what, mode, false);
  }
}

std::vector<ipcb_tracked_object> RecordedSince(size_t first, size_t *total) {
  std::vector<ipcb_tracked_object> record(IPCB_TRACKED_HISTORY_MAX);
  *total = ipcb_tracked_history(record.data(), record.size());
  record.resize(std::min(*total, record.size()));
  record.erase(record.begin(),
               record.begin() +
                   static_cast<std::ptrdiff_t>(std::min(first, record.size())));
  return record;
}

class Privacy : public testing::TestWithParam<const ipcb_transport *> {};

// Looks right after setup, before any peer exists: every object is there
// and none is unlinked yet, except what setup itself unlinks, which the
// descriptor it hands over still holds. After attach most names are gone,
// and a name made 0666 would have been open to others unseen.
TEST_P(Privacy, ObjectsAreOwnerOnlyFromCreation) {
  const char *name = GetParam()->name;
  size_t first = ipcb_tracked_history(nullptr, 0), total = 0;
  int fds[IPCB_RDV_MAX_FDS], nfds = 0;
  const char *err = "";
  // 32 bytes: within CacheLine's room in one line, and any size serves.
  hostile_endpoint *h = hostile_setup_only(name, 32, fds, &nfds, &err);
  ASSERT_NE(h, nullptr) << err;
  std::vector<ipcb_tracked_object> made = RecordedSince(first, &total);
  Findings f;
  for (const ipcb_tracked_object &o : made)
    CheckRecord(o, &f);
  for (int i = 0; i < nfds; i++)
    CheckFd(fds[i], &f);
  for (int i = 0; i < nfds; i++)
    close(fds[i]);
  hostile_close(h);
  bool listed = NothingToCheck().count(name) != 0;
  std::string summary = f.checked;
  if (summary.empty())
    summary =
        listed ? " nothing to check: " + NothingToCheck().at(name) : " nothing";
  printf("%s:%s\n", name, summary.c_str());
  ASSERT_LE(total, size_t{IPCB_TRACKED_HISTORY_MAX}) << "records were dropped";
  EXPECT_EQ(f.problems, "") << "not private to the user (0600, ours)";
  EXPECT_LE(f.unseen, f.holders)
      << "objects whose mode only a descriptor shows outnumber the "
         "descriptors of shared memory or queues:"
      << f.checked;
  bool nothing = made.empty() && nfds == 0;
  EXPECT_EQ(nothing, listed)
      << (listed ? "listed as having nothing to check, yet checked:" + f.checked
                 : std::string("setup made no object and handed no "
                               "descriptor: list it in NothingToCheck with "
                               "what guards it"));
}

INSTANTIATE_TEST_SUITE_P(AllTransports, Privacy,
                         testing::ValuesIn(Transports(true)), TransportName());

#ifdef __linux__
// A descriptor the client holds without FD_CLOEXEC (as Google Benchmark's
// --benchmark_out file is) must not reach the peer.
TEST(PeerDescriptors, OnlyStandardAndRendezvousFdsAreInherited) {
  int stray = open("/dev/null", O_RDONLY); // no O_CLOEXEC, on purpose
  ASSERT_GE(stray, 3);
  int rc = 0;
  SessionPtr session =
      Open(ipcb_transport_find("Pipe"), 64, 0, 0, &rc, IPCB_PINGPONG);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_round_trip(session.get()), 0);
  std::string dir =
      "/proc/" + std::to_string(ipcb_session_peer_pid(session.get())) + "/fd";
  int others = 0;
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    int fd = std::stoi(entry.path().filename().string());
    std::error_code ec;
    std::string target = std::filesystem::read_symlink(entry.path(), ec);
    if (fd <= 2)
      continue;
    EXPECT_NE(target, "/dev/null") << "fd " << fd << " of the peer";
    if (target.rfind("pipe:", 0) != 0)
      others++;
  }
  EXPECT_EQ(others, 0) << "the peer holds fds other than its pipes";
  close(stray);
}
#endif

} // namespace
} // namespace ipcb_test
