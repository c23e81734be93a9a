// Children on Linux: /proc/self/task/<tid>/children lists the children of
// each thread (the peer is the child of the thread that opened the session).
#include "children.h"

#include <dirent.h>

#include <fstream>
#include <string>

namespace ipcb_test {

std::set<int> Children() {
  std::set<int> pids;
  DIR *tasks = opendir("/proc/self/task");
  while (dirent *task = tasks ? readdir(tasks) : nullptr) {
    if (task->d_name[0] == '.')
      continue;
    std::ifstream list(std::string("/proc/self/task/") + task->d_name +
                       "/children");
    for (int pid; list >> pid;)
      pids.insert(pid);
  }
  if (tasks)
    closedir(tasks);
  return pids;
}

} // namespace ipcb_test
