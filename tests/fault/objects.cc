#include "objects.h"

#include <dirent.h>

#include <cstdlib>
#include <cstring>

#include "../hygiene.h"

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

} // namespace ipcb_test
