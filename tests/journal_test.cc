// The crash journal and the start-up sweep: what a process killed in setup
// made is removed once it is dead, and nothing else ever is: not a live
// run's objects, not objects its journal does not list, not an object that
// took a listed key over, not a segment a live process has attached.
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <string>

#include "ipcb/ipcb.h"
#include "ipcb/transport.h"
#include "support.h"

namespace ipcb_test {
namespace {

// What a child made before it died, as ids and names.
struct Made {
  int shm = -1, sem = -1, msg = -1;
  char shm_name[32] = "", sem_name[32] = "";
};

// Runs `make` in a child, then lets `finish` end it (by default SIGKILL:
// a client killed in setup). Returns the child's pid once reaped, or while
// it lives if `keep_alive` (then *alive is the pipe that keeps it).
pid_t InChild(const std::function<void(Made *)> &make, Made *made,
              bool keep_alive = false, int *alive = nullptr) {
  int report[2], hold[2];
  if (pipe(report) != 0 || pipe(hold) != 0)
    return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(report[0]);
    close(hold[1]);
    Made m;
    make(&m);
    (void)!write(report[1], &m, sizeof m);
    if (keep_alive) {
      char c;
      (void)!read(hold[0], &c, 1); // until the parent closes its end
    }
    raise(SIGKILL);
  }
  close(report[1]);
  close(hold[0]);
  bool got = read(report[0], made, sizeof *made) == sizeof *made;
  close(report[0]);
  if (keep_alive && got) {
    *alive = hold[1];
    return pid;
  }
  close(hold[1]);
  int status;
  waitpid(pid, &status, 0);
  return got ? pid : -1;
}

void MakeEverything(Made *m) {
  m->shm = ipcb_sysv_create(IPCB_OBJ_SYSV_SHM, 4096);
  m->sem = ipcb_sysv_create(IPCB_OBJ_SYSV_SEM, 3);
  m->msg = ipcb_sysv_create(IPCB_OBJ_SYSV_MSG, 0);
  ipcb_unique_name(m->shm_name, sizeof m->shm_name);
  int fd = shm_open(m->shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
  if (fd >= 0)
    close(fd);
  ipcb_unique_name(m->sem_name, sizeof m->sem_name);
  sem_t *s = sem_open(m->sem_name, O_CREAT | O_EXCL, 0600, 0);
  if (s != SEM_FAILED)
    sem_close(s);
}

bool SegmentThere(int id) {
  struct shmid_ds ds;
  return shmctl(id, IPC_STAT, &ds) == 0;
}
bool SemaphoresThere(int id) { return semctl(id, 0, GETVAL) >= 0; }
bool QueueThere(int id) {
  struct msqid_ds ds;
  return msgctl(id, IPC_STAT, &ds) == 0;
}
bool ShmNameThere(const char *name) {
  int fd = shm_open(name, O_RDONLY, 0);
  if (fd >= 0)
    close(fd);
  return fd >= 0;
}
bool SemNameThere(const char *name) {
  sem_t *s = sem_open(name, 0);
  if (s != SEM_FAILED)
    sem_close(s);
  return s != SEM_FAILED;
}
bool JournalThere(pid_t pid) {
  char path[1024];
  struct stat st;
  ipcb_journal_path(pid, path, sizeof path);
  return stat(path, &st) == 0;
}
int CountThere(const Made &m) {
  return SegmentThere(m.shm) + SemaphoresThere(m.sem) + QueueThere(m.msg) +
         ShmNameThere(m.shm_name) + SemNameThere(m.sem_name);
}
void RemoveAll(const Made &m) {
  shmctl(m.shm, IPC_RMID, nullptr);
  semctl(m.sem, 0, IPC_RMID);
  msgctl(m.msg, IPC_RMID, nullptr);
  shm_unlink(m.shm_name);
  sem_unlink(m.sem_name);
}

TEST(Journal, WhatADeadRunMadeIsRemoved) {
  Made m;
  pid_t pid = InChild(MakeEverything, &m);
  ASSERT_GT(pid, 0);
  ASSERT_GE(m.shm, 0);
  ASSERT_EQ(CountThere(m), 5) << "the child made five objects and died";
  EXPECT_TRUE(JournalThere(pid));
  ipcb_sweep_report r;
  ipcb_sweep_dead_runs(&r);
  EXPECT_EQ(CountThere(m), 0) << "the sweep left some of the dead run's";
  EXPECT_GE(r.removed, 5u);
  EXPECT_GE(r.runs, 1u);
  EXPECT_FALSE(JournalThere(pid)) << "a swept journal is removed too";
  RemoveAll(m);
}

// The directory of this process's journal, where the sweep looks.
std::string JournalDir() {
  char journal[1024];
  ipcb_journal_path((int)getpid(), journal, sizeof journal);
  std::string path(journal);
  return path.substr(0, path.rfind('/'));
}

// ipcb_private_file's file has no name from the moment it returns, is the
// user's alone, is not inherited across exec, and was made beside the
// journal, where a sweep would find it.
TEST(Journal, APrivateFileHasNoNameAndOneOwner) {
  int fd = -1;
  ASSERT_EQ(ipcb_private_file(nullptr, &fd), 0);
  struct stat st, dir;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_nlink, 0u) << "the file is still linked";
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  ASSERT_EQ(stat(JournalDir().c_str(), &dir), 0) << JournalDir();
  EXPECT_EQ(st.st_dev, dir.st_dev) << "not made beside " << JournalDir();
  close(fd);
}

// The file ipcb_private_file makes under `name`: beside the journal.
std::string PrivateFilePath(pid_t pid, const char *name) {
  char journal[1024];
  ipcb_journal_path((int)pid, journal, sizeof journal);
  std::string path(journal);
  return path.substr(0, path.rfind('/')) + name;
}

// A death between ipcb_private_file's open and its unlink leaves a file
// beside the journal under the journaled name: the sweep removes it.
TEST(Journal, APrivateFileADeathLeftIsRemoved) {
  Made m;
  pid_t pid = InChild(
      [](Made *made) {
        ipcb_unique_name(made->shm_name, sizeof made->shm_name);
        std::string path = PrivateFilePath(getpid(), made->shm_name);
        int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd >= 0)
          close(fd);
      },
      &m);
  ASSERT_GT(pid, 0);
  std::string path = PrivateFilePath(pid, m.shm_name);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0) << path << ": the child made none";
  ipcb_sweep_report r;
  ipcb_sweep_dead_runs(&r);
  EXPECT_NE(stat(path.c_str(), &st), 0) << path << " outlived the sweep";
  unlink(path.c_str());
}

TEST(Journal, ALiveRunIsLeftAlone) {
  Made m;
  int alive = -1;
  pid_t pid = InChild(MakeEverything, &m, true, &alive);
  ASSERT_GT(pid, 0);
  ipcb_sweep_report r;
  ipcb_sweep_dead_runs(&r);
  EXPECT_EQ(CountThere(m), 5) << "the sweep removed a live run's objects";
  EXPECT_TRUE(JournalThere(pid));
  close(alive); // now it dies
  int status;
  waitpid(pid, &status, 0);
  ipcb_sweep_dead_runs(&r);
  EXPECT_EQ(CountThere(m), 0);
  RemoveAll(m);
}

// This user's objects with our name pattern or under a random key, but in
// no journal: another program's, or an older ipc_bench's. Never touched,
// while the dead run's own object, listed in the same sweep, goes.
TEST(Journal, ObjectsNoJournalListsAreLeftAlone) {
  Made m;
  pid_t pid = InChild(
      [](Made *made) { made->sem = ipcb_sysv_create(IPCB_OBJ_SYSV_SEM, 1); },
      &m);
  ASSERT_GT(pid, 0);
  ASSERT_GE(m.sem, 0);
  std::string name = "/ipcb." + std::to_string(pid) + ".1.0badf00d";
  int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  close(fd);
  int sem = -1;
  for (key_t key = 0x1bcb0000 | (getpid() & 0xffff); sem < 0; key += 0x10000)
    sem = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);
  ipcb_sweep_report r;
  ipcb_sweep_dead_runs(&r);
  EXPECT_FALSE(SemaphoresThere(m.sem)) << "the listed object was not swept";
  EXPECT_TRUE(ShmNameThere(name.c_str()));
  EXPECT_TRUE(SemaphoresThere(sem));
  semctl(sem, 0, IPC_RMID);
  semctl(m.sem, 0, IPC_RMID);
  shm_unlink(name.c_str());
}

// The dead run's key now names another object (the run removed its own,
// another process took the key): the journal's id no longer matches.
TEST(Journal, AKeyTakenOverIsLeftAlone) {
  Made m;
  pid_t pid = InChild(
      [](Made *made) {
        made->sem = ipcb_sysv_create(IPCB_OBJ_SYSV_SEM, 1);
        struct semid_ds ds;
        union {
          int val;
          struct semid_ds *buf;
          unsigned short *array;
        } arg = {.buf = &ds};
        semctl(made->sem, 0, IPC_STAT, arg);
#ifdef __APPLE__
        made->msg = ds.sem_perm._key;
#else
        made->msg = ds.sem_perm.__key;
#endif
        semctl(made->sem, 0, IPC_RMID);
      },
      &m);
  ASSERT_GT(pid, 0);
  int taker = semget(static_cast<key_t>(m.msg), 1, IPC_CREAT | IPC_EXCL | 0600);
  ASSERT_GE(taker, 0) << strerror(errno);
  ASSERT_NE(taker, m.sem);
  ipcb_sweep_report r;
  ipcb_sweep_dead_runs(&r);
  EXPECT_TRUE(SemaphoresThere(taker)) << "the sweep removed a newer object";
  EXPECT_GE(r.foreign, 1u);
  semctl(taker, 0, IPC_RMID);
}

TEST(Journal, AnAttachedSegmentWaitsForItsLastUser) {
  Made m;
  pid_t pid = InChild(
      [](Made *made) { made->shm = ipcb_sysv_create(IPCB_OBJ_SYSV_SHM, 4096); },
      &m);
  ASSERT_GT(pid, 0);
  void *map = shmat(m.shm, nullptr, 0);
  ASSERT_NE(map, reinterpret_cast<void *>(-1));
  ipcb_sweep_report r;
  ipcb_sweep_dead_runs(&r);
  EXPECT_TRUE(SegmentThere(m.shm)) << "removed while attached";
  EXPECT_GE(r.busy, 1u);
  EXPECT_TRUE(JournalThere(pid)) << "kept for a later sweep";
  shmdt(map);
  ipcb_sweep_dead_runs(&r);
  EXPECT_FALSE(SegmentThere(m.shm));
  EXPECT_FALSE(JournalThere(pid));
  shmctl(m.shm, IPC_RMID, nullptr);
}

// Journals written by hand, as a dead process `pid` would have left them:
// the header with IPC namespace `ns`, then `lines`, last written `age_s`
// seconds ago. Returns the path.
unsigned long long OurNamespace() {
  struct stat st; // no /proc (macOS): no namespaces, and the core says 0
  return stat("/proc/self/ns/ipc", &st) == 0 ? st.st_ino : 0;
}
std::string WriteJournal(pid_t pid, unsigned long long ns,
                         const std::string &lines, int age_s,
                         const char *suffix = "") {
  char path[1024];
  ipcb_journal_path(pid, path, sizeof path);
  std::string file = std::string(path) + suffix;
  std::string text = "ipcb-journal 1 " + std::to_string(pid) + " " +
                     std::to_string(ns) + "\n" + lines;
  int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || write(fd, text.data(), text.size()) != (ssize_t)text.size())
    ADD_FAILURE() << file << ": " << strerror(errno);
  close(fd);
  struct timeval then[2] = {{time(nullptr) - age_s, 0},
                            {time(nullptr) - age_s, 0}};
  utimes(file.c_str(), then);
  return file;
}
pid_t DeadPid() {
  Made unused;
  return InChild([](Made *) {}, &unused);
}
// A semaphore set under a fresh key of this test's; its key in *key.
int NewSemaphores(key_t *key) {
  int id = -1;
  for (*key = 0x2bcb0000 | (getpid() & 0xffff); id < 0; *key += 0x10000)
    id = semget(*key, 1, IPC_CREAT | IPC_EXCL | 0600);
  *key -= 0x10000;
  return id;
}
std::string KeyLine(key_t key, const char *id) {
  char line[64];
  snprintf(line, sizeof line, "k sem %08x %11s\n", (unsigned)key, id);
  return line;
}
bool FileThere(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// The journal never got the id (its writer died inside semget): the key's
// object is the run's only if it was made when the journal was last
// written, not an hour later.
TEST(Journal, AnUnconfirmedKeyIsTrustedOnlyNearItsTime) {
  key_t fresh_key, late_key;
  int fresh = NewSemaphores(&fresh_key), late = NewSemaphores(&late_key);
  ASSERT_GE(fresh, 0);
  ASSERT_GE(late, 0);
  WriteJournal(DeadPid(), OurNamespace(), KeyLine(fresh_key, ""), 0);
  WriteJournal(DeadPid(), OurNamespace(), KeyLine(late_key, ""), 3600);
  ipcb_sweep_report r;
  ipcb_sweep_dead_runs(&r);
  EXPECT_FALSE(SemaphoresThere(fresh)) << "made as the journal was written";
  EXPECT_TRUE(SemaphoresThere(late)) << "made an hour after the journal";
  semctl(fresh, 0, IPC_RMID);
  semctl(late, 0, IPC_RMID);
}

// Another IPC namespace's journal: its keys name other objects here, but
// its /dev/shm names are ours to remove; it stays for a sweep over there.
TEST(Journal, AnotherNamespacesJournalGivesOnlyItsNames) {
  key_t key;
  int sem = NewSemaphores(&key);
  ASSERT_GE(sem, 0);
  pid_t pid = DeadPid();
  std::string name = "/ipcb." + std::to_string(pid) + ".0.00c0ffee";
  int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
  ASSERT_GE(fd, 0);
  close(fd);
  std::string path = WriteJournal(
      pid, OurNamespace() + 1,
      "n " + name + "\n" + KeyLine(key, std::to_string(sem).c_str()), 0);
  ipcb_sweep_report r;
  ipcb_sweep_dead_runs(&r);
  EXPECT_FALSE(ShmNameThere(name.c_str()));
  EXPECT_TRUE(SemaphoresThere(sem)) << "a key of another namespace";
  EXPECT_TRUE(FileThere(path));
  unlink(path.c_str());
  semctl(sem, 0, IPC_RMID);
  shm_unlink(name.c_str());
}

// A ".new" journal: a live writer's while it holds the lock, a dead
// one's (killed before its journal had its name) once the lock is free.
TEST(Journal, ANewJournalGoesOnlyWithItsWriter) {
  Made made;
  int alive = -1;
  pid_t pid = InChild(
      [](Made *) {
        char path[1024];
        ipcb_journal_path(getpid(), path, sizeof path);
        strcat(path, ".new");
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd >= 0)
          flock(fd, LOCK_EX);
      },
      &made, true, &alive);
  ASSERT_GT(pid, 0);
  char path[1024];
  ipcb_journal_path(pid, path, sizeof path);
  std::string file = std::string(path) + ".new";
  ASSERT_TRUE(FileThere(file));
  ipcb_sweep_report r;
  ipcb_sweep_dead_runs(&r);
  EXPECT_TRUE(FileThere(file)) << "removed while its writer lives";
  close(alive);
  int status;
  waitpid(pid, &status, 0);
  ipcb_sweep_dead_runs(&r);
  EXPECT_FALSE(FileThere(file));
  unlink(file.c_str());
}

int JournalLines(pid_t pid) {
  char path[1024];
  ipcb_journal_path(pid, path, sizeof path);
  std::ifstream in(path);
  std::string line;
  int n = 0;
  while (std::getline(in, line))
    n++;
  return n;
}

// A long run's journal stays short: once the last session has closed and
// nothing is tracked, it holds its header only.
TEST(Journal, IsEmptiedOnceNothingItListsCanExist) {
  const ipcb_transport *transport = ipcb_transport_find("SysVMsg");
  ASSERT_NE(transport, nullptr);
  int rc = 0, during = 0;
  {
    SessionPtr s = Open(transport, 12, 0, 0, &rc);
    ASSERT_EQ(rc, 0) << ipcb_session_error(s.get());
    during = JournalLines(getpid());
  }
  EXPECT_GE(during, 3) << "the header and the two queues' keys";
  EXPECT_EQ(JournalLines(getpid()), 1) << "only the header once closed";
}

// SIGTERM between creating a name and tracking it: the handler removes it
// by the journal, and the journal with it.
TEST(Journal, TheSignalHandlerRemovesWhatWasNotYetTracked) {
  char name[32] = "";
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  pid_t pid = fork();
  if (pid == 0) {
    ipcb_install_cleanup_handlers();
    ipcb_unique_name(name, sizeof name);
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    (void)!write(report[1], name, sizeof name);
    if (fd >= 0)
      raise(SIGTERM);
    _exit(3);
  }
  close(report[1]);
  ASSERT_EQ(read(report[0], name, sizeof name), (ssize_t)sizeof name);
  close(report[0]);
  int status;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  EXPECT_FALSE(ShmNameThere(name));
  EXPECT_FALSE(JournalThere(pid));
  shm_unlink(name);
}

} // namespace
} // namespace ipcb_test
