// Leak checks over exactly our objects. The core records every object it
// tracks; at the end each one is asked of the kernel by its id or name. A
// listing of the machine would also show other programs' objects (macOS's
// ipcs shows every user's), and macOS cannot list POSIX names at all. On
// Linux a listing adds what was made without being tracked, limited to what
// is provably ours.
#include "hygiene.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>
#if __has_include(<mqueue.h>)
#include <mqueue.h>
#define IPCB_TEST_HAVE_MQ 1
#endif

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "ipcb/ipcb.h"

namespace ipcb_test {
namespace {

// semctl's fourth argument; glibc leaves the union to the caller.
union SemArg {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
};

#ifdef __APPLE__
key_t KeyOf(const struct ipc_perm &perm) { return perm._key; }
#else
key_t KeyOf(const struct ipc_perm &perm) { return perm.__key; }
#endif

int StatSysv(ipcb_obj_kind kind, int id, struct ipc_perm *perm, pid_t *cpid) {
  int rc = -1;
  *cpid = 0;
  if (kind == IPCB_OBJ_SYSV_SHM) {
    struct shmid_ds ds;
    if ((rc = shmctl(id, IPC_STAT, &ds)) == 0)
      *perm = ds.shm_perm, *cpid = ds.shm_cpid;
  } else if (kind == IPCB_OBJ_SYSV_SEM) {
    struct semid_ds ds;
    SemArg arg;
    arg.buf = &ds;
    if ((rc = semctl(id, 0, IPC_STAT, arg)) == 0)
      *perm = ds.sem_perm;
  } else {
    struct msqid_ds ds;
    if ((rc = msgctl(id, IPC_STAT, &ds)) == 0)
      *perm = ds.msg_perm;
  }
  return rc;
}

// A removed id is EINVAL (Linux: EIDRM while it goes). An id is given again
// only once the kernel's sequence for it wraps (Linux ipc/util.c; xnu: 15
// bits per slot), so the object that answers may be another's. A segment
// names its creator, and no other process holds our pid while we run:
// exact. Sets and queues keep no creator, but the core made each under a
// random key that it recorded (ipcb_sysv_create): this user's object under
// that key is ours. `key` -1 asks only the creator (segments found by a
// listing); a segment removed while still attached loses its key (Linux
// gives it IPC_PRIVATE), and its creator still names it. EACCES counts as
// ours: a mode that denies us reading.
Seen LookSysv(ipcb_obj_kind kind, int id, long key) {
  Seen seen;
  struct ipc_perm perm;
  pid_t cpid;
  if (StatSysv(kind, id, &perm, &cpid) != 0) {
    seen.present = errno != EINVAL && errno != EIDRM;
    seen.note = std::string("IPC_STAT: ") + strerror(errno);
    return seen;
  }
  bool shm = kind == IPCB_OBJ_SYSV_SHM;
  bool same_key = key < 0 || KeyOf(perm) == static_cast<key_t>(key) ||
                  (shm && KeyOf(perm) == IPC_PRIVATE);
  bool ours = perm.cuid == geteuid() && same_key &&
              (!shm || cpid == getpid()) && (shm || key >= 0);
  seen.present = ours;
  seen.others = !ours;
  seen.mode_known = true;
  seen.mode = perm.mode & 0777; // xnu keeps its state flags above
  seen.uid = perm.uid;
  return seen;
}

void TakeStat(const struct stat &st, Seen *seen) {
  seen->mode_known = true;
  seen->mode = st.st_mode & 0777;
  seen->uid = st.st_uid;
}

void StatPath(const std::string &path, Seen *seen) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0)
    TakeStat(st, seen);
}

// Our names carry our pid and 32 random bits: whatever answers is ours.
Seen LookNamed(const ipcb_tracked_object &o) {
  Seen seen;
  errno = 0;
  if (o.kind == IPCB_OBJ_POSIX_SHM) {
    int fd = shm_open(o.name, O_RDONLY, 0);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0) // xnu pshm_stat fills mode and uid
      TakeStat(st, &seen);
    if (fd >= 0)
      close(fd);
    seen.present = fd >= 0 || errno != ENOENT;
  } else if (o.kind == IPCB_OBJ_POSIX_SEM) {
    sem_t *sem = sem_open(o.name, 0);
    seen.present = sem != SEM_FAILED || errno != ENOENT;
    if (sem != SEM_FAILED)
      sem_close(sem);
    StatPath(std::string("/dev/shm/sem.") + (o.name + 1), &seen); // Linux
    if (!seen.mode_known)
      seen.note = "a named semaphore's mode cannot be read here";
#ifdef IPCB_TEST_HAVE_MQ
  } else if (o.kind == IPCB_OBJ_POSIX_MQ) {
    mqd_t q = mq_open(o.name, O_RDONLY);
    seen.present = q != static_cast<mqd_t>(-1) || errno != ENOENT;
    if (q != static_cast<mqd_t>(-1))
      mq_close(q);
    StatPath(std::string("/dev/mqueue") + o.name, &seen);
#endif
  } else if (o.kind == IPCB_OBJ_PATH) {
    seen.present = access(o.name, F_OK) == 0 || errno != ENOENT;
    StatPath(o.name, &seen);
  }
  if (seen.present && !seen.mode_known && seen.note.empty())
    seen.note = strerror(errno);
  return seen;
}

} // namespace

Seen Look(const ipcb_tracked_object &o) {
  if (o.kind == IPCB_OBJ_SYSV_SHM || o.kind == IPCB_OBJ_SYSV_SEM ||
      o.kind == IPCB_OBJ_SYSV_MSG)
    return LookSysv(o.kind, o.id, o.key);
  return LookNamed(o);
}

std::string Describe(const ipcb_tracked_object &o) {
  static const char *const kinds[] = {"SysV shm",  "SysV sem",  "SysV msg",
                                      "POSIX shm", "POSIX sem", "POSIX mq",
                                      "path"};
  std::string kind = o.kind >= 0 && o.kind <= IPCB_OBJ_PATH
                         ? kinds[o.kind]
                         : "kind " + std::to_string(o.kind);
  return kind + " " + (o.id >= 0 ? std::to_string(o.id) : o.name);
}

std::string ModeText(const Seen &seen) {
  if (!seen.mode_known)
    return seen.note;
  char text[64];
  snprintf(text, sizeof text, "mode 0%o, owner uid %u", seen.mode,
           static_cast<unsigned>(seen.uid));
  return text;
}

namespace {

// Where each test's records begin, to name the test that made a leak.
struct Mark {
  size_t first;
  std::string test;
};
std::vector<Mark> &Marks() {
  static std::vector<Mark> marks;
  return marks;
}

std::string MadeIn(size_t index) {
  std::string test = "before the first test";
  for (const Mark &mark : Marks())
    if (mark.first <= index)
      test = mark.test;
  return test;
}

class TestMarker : public testing::EmptyTestEventListener {
  void OnTestStart(const testing::TestInfo &info) override {
    Marks().push_back(
        {ipcb_tracked_history(nullptr, 0),
         std::string(info.test_suite_name()) + "." + info.name()});
  }
};

// /proc/sysvipc/<kind>: a header line, then one object per line; the id is
// the second column, the owner's uid is at a kind-specific column.
void ReadSysvipc(const char *kind, size_t uid_column,
                 std::map<std::string, unsigned> *out) {
  std::ifstream file(std::string("/proc/sysvipc/") + kind);
  std::string line;
  std::getline(file, line);
  while (std::getline(file, line)) {
    std::istringstream fields(line);
    std::string field, id;
    unsigned mode = 0;
    for (size_t i = 0; fields >> field; i++) {
      if (i == 1)
        id = field;
      if (i == 2)
        mode = static_cast<unsigned>(std::stoul(field, nullptr, 8)) & 0777;
      if (i == uid_column && std::stoul(field) == getuid())
        (*out)[std::string(kind) + ":" + id] = mode;
    }
  }
}

// Linux shows POSIX shared memory and semaphores in /dev/shm, POSIX message
// queues in /dev/mqueue. False where the directory cannot be read.
bool ReadNamed(const char *dir_path, std::map<std::string, unsigned> *out) {
  DIR *dir = opendir(dir_path);
  if (!dir)
    return false;
  while (dirent *entry = readdir(dir)) {
    if (!strstr(entry->d_name, "ipcb."))
      continue;
    std::string path = std::string(dir_path) + "/" + entry->d_name;
    struct stat st;
    if (stat(path.c_str(), &st) == 0)
      (*out)["file:" + path] = st.st_mode & 0777;
  }
  closedir(dir);
  return true;
}

// ipcs lists every user's objects and prints modes in its own format: only
// the ids are taken from it, and each is asked of the kernel for its owner
// and mode (another user's 0600 object answers EACCES and is not ours).
void ReadIpcs(std::map<std::string, unsigned> *out) {
  FILE *p = popen("ipcs 2>/dev/null", "r");
  char line[512];
  while (p && fgets(line, sizeof line, p)) {
    char kind = 0;
    int id = -1;
    if (sscanf(line, " %c %d", &kind, &id) != 2 || id < 0)
      continue;
    ipcb_obj_kind k = kind == 'm'   ? IPCB_OBJ_SYSV_SHM
                      : kind == 's' ? IPCB_OBJ_SYSV_SEM
                      : kind == 'q' ? IPCB_OBJ_SYSV_MSG
                                    : IPCB_OBJ_PATH;
    struct ipc_perm perm;
    pid_t cpid;
    if (k != IPCB_OBJ_PATH && StatSysv(k, id, &perm, &cpid) == 0 &&
        perm.uid == geteuid())
      (*out)[std::string(k == IPCB_OBJ_SYSV_SHM   ? "shm"
                         : k == IPCB_OBJ_SYSV_SEM ? "sem"
                                                  : "msg") +
             ":" + std::to_string(id)] = perm.mode & 0777;
  }
  if (p)
    pclose(p);
}

std::vector<ipcb_tracked_object> Record(size_t *total) {
  std::vector<ipcb_tracked_object> record(IPCB_TRACKED_HISTORY_MAX);
  *total = ipcb_tracked_history(record.data(), record.size());
  record.resize(std::min(*total, record.size()));
  return record;
}

// macOS lists no POSIX names: the recorded ones still there stand in.
void AddRecordedNames(std::map<std::string, unsigned> *out) {
  size_t total;
  for (const ipcb_tracked_object &o : Record(&total)) {
    Seen seen = o.kind == IPCB_OBJ_POSIX_SHM ? LookNamed(o) : Seen();
    if (seen.present && seen.mode_known)
      (*out)[std::string("posix_shm:") + o.name] = seen.mode;
  }
}

} // namespace

std::map<std::string, unsigned> KernelObjectModes() {
  std::map<std::string, unsigned> objects;
  if (access("/proc/sysvipc/shm", R_OK) == 0) {
    ReadSysvipc("shm", 7, &objects);
    ReadSysvipc("sem", 4, &objects);
    ReadSysvipc("msg", 7, &objects);
  } else {
    ReadIpcs(&objects);
  }
  if (!ReadNamed("/dev/shm", &objects))
    AddRecordedNames(&objects);
  ReadNamed("/dev/mqueue", &objects);
  return objects;
}

std::set<std::string> KernelObjects() {
  std::set<std::string> names;
  for (const auto &object : KernelObjectModes())
    names.insert(object.first);
  return names;
}

namespace {

// Objects made without being tracked, where the kernel shows they are ours
// whatever else runs: segments whose creator is this process, and (Linux,
// which lists names) names with our pid ("ipcb.<pid>.") that were not there
// at the start (a dead process with our pid may have left some). Sets and
// queues name no creator, so only the record covers them.
std::string Untracked(const std::vector<ipcb_tracked_object> &record,
                      const std::set<std::string> &before) {
  std::set<std::string> known;
  for (const ipcb_tracked_object &o : record)
    known.insert(o.id >= 0 ? std::to_string(o.id) : o.name + 1);
  std::string ours = "ipcb." + std::to_string(getpid()) + ".", out;
  for (const std::string &object : KernelObjects()) {
    if (object.rfind("shm:", 0) == 0) {
      Seen seen = LookSysv(IPCB_OBJ_SYSV_SHM, std::stoi(object.substr(4)), -1);
      if (seen.present && !known.count(object.substr(4)))
        out += "\n  " + object + " (" + ModeText(seen) + "), not tracked";
    }
    size_t at = object.find(ours);
    if (object.rfind("file:", 0) == 0 && at != std::string::npos &&
        !before.count(object) && !known.count(object.substr(at)))
      out += "\n  " + object + ", not tracked";
  }
  return out;
}

} // namespace

void HygieneCheck::SetUp() {
  ipcb_tracked_history_reset();
  Marks().clear();
  before_ = KernelObjects();
}

void HygieneCheck::TearDown() {
  size_t total;
  std::vector<ipcb_tracked_object> record = Record(&total);
  EXPECT_LE(total, record.size())
      << "the record keeps " << IPCB_TRACKED_HISTORY_MAX << " of " << total
      << " objects: raise IPCB_TRACKED_HISTORY_MAX to check them all";
  std::set<std::string> reported;
  std::string leaked, exposed;
  for (size_t i = 0; i < record.size(); i++) {
    std::string name = Describe(record[i]);
    Seen seen = Look(record[i]);
    if (seen.others)
      printf("hygiene: %s was removed; the id is another program's now\n",
             name.c_str());
    if (!seen.present || !reported.insert(name).second)
      continue;
    leaked += "\n  " + name + " (" + ModeText(seen) + "), made in " + MadeIn(i);
    if (seen.mode_known && (seen.mode != 0600 || seen.uid != geteuid()))
      exposed += "\n  " + name + ": " + ModeText(seen);
  }
  leaked += Untracked(record, before_);
  EXPECT_EQ(leaked, "") << "kernel objects left behind by the tests ("
                        << record.size() << " recorded)";
  EXPECT_EQ(exposed, "") << "objects not private to the user (0600, ours)";
  EXPECT_EQ(ipcb_tracked_count(), 0u) << "objects still tracked for cleanup";
  if (leaked.empty())
    printf("hygiene: none of the %zu objects the tests made is left\n",
           record.size());
}

testing::TestEventListener *HygieneCheck::NewTestMarker() {
  return new TestMarker;
}

} // namespace ipcb_test
