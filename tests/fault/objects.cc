#include "objects.h"

#include <dirent.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../hygiene.h"
#include "ipcb/ipcb.h"

namespace ipcb_test {

std::set<std::string> AllObjects() {
  std::set<std::string> objects = KernelObjects();
  const char *dir_path = getenv("IPCB_MQUEUE_DIR");
  DIR *dir = dir_path ? opendir(dir_path) : nullptr;
  while (dirent *entry = dir ? readdir(dir) : nullptr)
    if (strstr(entry->d_name, "ipcb."))
      objects.insert(std::string("mqueue:") + entry->d_name);
  if (dir)
    closedir(dir);
  return objects;
}

bool Isolated() { return getenv("IPCB_MQUEUE_DIR") != nullptr; }

size_t RecordMark() { return ipcb_tracked_history(nullptr, 0); }

namespace {

// A segment names its creator, and no other process holds our pid while we
// run. Sets and queues keep no creator: only the record covers them.
bool OurSegment(const std::string &object) {
  if (object.rfind("shm:", 0) != 0)
    return false;
  struct shmid_ds ds;
  return shmctl(atoi(object.c_str() + 4), IPC_STAT, &ds) == 0 &&
         ds.shm_cpid == getpid() && ds.shm_perm.cuid == geteuid();
}

std::set<std::string> NamingUs() {
  static bool told = false;
  if (!told)
    printf("objects: not isolated: counted are the objects this process "
           "recorded, POSIX names with its pid and SysV segments it "
           "created; unrecorded SysV semaphore sets and message queues, "
           "and objects made by other processes, cannot be checked here\n");
  told = true;
  std::string pid = "ipcb." + std::to_string(getpid()) + ".";
  std::set<std::string> ours;
  for (const std::string &object : KernelObjects())
    if (object.find(pid) != std::string::npos || OurSegment(object))
      ours.insert(object);
  return ours;
}

} // namespace

std::set<std::string> OursNow(size_t mark) {
  std::set<std::string> ours = Isolated() ? AllObjects() : NamingUs();
  std::vector<ipcb_tracked_object> record(IPCB_TRACKED_HISTORY_MAX);
  size_t total = ipcb_tracked_history(record.data(), record.size());
  record.resize(total < record.size() ? total : record.size());
  for (size_t i = mark; i < record.size(); i++)
    if (Look(record[i]).present)
      ours.insert("recorded " + Describe(record[i]));
  return ours;
}

} // namespace ipcb_test
