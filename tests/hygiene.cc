// Leak checks over what the kernel shows: /proc/sysvipc and /dev/shm on
// Linux; `ipcs` elsewhere.
#include "hygiene.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ipcb/ipcb.h"

namespace ipcb_test {
namespace {

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

// Our named objects: POSIX shared memory and semaphores live in /dev/shm,
// POSIX message queues in /dev/mqueue on Linux.
void ReadNamed(const char *dir_path, std::map<std::string, unsigned> *out) {
  DIR *dir = opendir(dir_path);
  if (!dir)
    return;
  while (dirent *entry = readdir(dir)) {
    if (!strstr(entry->d_name, "ipcb."))
      continue;
    std::string path = std::string(dir_path) + "/" + entry->d_name;
    struct stat st;
    if (stat(path.c_str(), &st) == 0)
      (*out)["file:" + path] = st.st_mode & 0777;
  }
  closedir(dir);
}

// The segment's creator pid (column 4 of /proc/sysvipc/shm) is this process.
bool CreatedByUs(const std::string &id) {
  std::ifstream file("/proc/sysvipc/shm");
  std::string line;
  std::getline(file, line);
  while (std::getline(file, line)) {
    std::istringstream fields(line);
    std::string key, shmid, perms, size, cpid;
    if (fields >> key >> shmid >> perms >> size >> cpid && shmid == id)
      return std::stol(cpid) == getpid();
  }
  return true; // not listed there (macOS): count it
}

void ReadIpcs(std::map<std::string, unsigned> *out) {
  FILE *p = popen("ipcs 2>/dev/null", "r");
  char line[512];
  while (p && fgets(line, sizeof line, p)) {
    char kind = 0, id[64];
    if (sscanf(line, " %c %63s", &kind, id) == 2 &&
        (kind == 'q' || kind == 'm' || kind == 's'))
      (*out)[std::string(1, kind) + ":" + id] = 0600; // ipcs -a has modes
  }
  if (p)
    pclose(p);
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
  ReadNamed("/dev/shm", &objects);
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

// Objects of this user that appeared since `before` and are not provably
// another process's: a SysV segment records its creator (cpid), and our
// POSIX names carry the creating client's pid ("ipcb.<pid>.").
std::set<std::string> NewObjects(const std::set<std::string> &before) {
  std::set<std::string> out;
  std::string ours = "ipcb." + std::to_string(getpid()) + ".";
  for (const std::string &object : KernelObjects()) {
    if (before.count(object))
      continue;
    if (object.rfind("file:", 0) == 0 && object.find(ours) == std::string::npos)
      continue;
    if (object.rfind("shm:", 0) == 0 && !CreatedByUs(object.substr(4)))
      continue;
    out.insert(object);
  }
  return out;
}

} // namespace

void HygieneCheck::TearDown() {
  // Semaphore sets and queues record no creator: another program's may
  // come and go meanwhile, so only what is still there after a pause counts.
  std::set<std::string> first = NewObjects(before_);
  if (!first.empty())
    usleep(500 * 1000);
  std::string leaked;
  for (const std::string &object : NewObjects(before_))
    if (first.count(object))
      leaked += " " + object;
  EXPECT_EQ(leaked, "") << "kernel objects left behind by the tests";
  EXPECT_EQ(ipcb_tracked_count(), 0u) << "objects still tracked for cleanup";
}

} // namespace ipcb_test
