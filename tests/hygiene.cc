// Leak checks over what the kernel shows: /proc/sysvipc and /dev/shm on
// Linux; `ipcs` elsewhere.
#include "hygiene.h"

#include <dirent.h>
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
                 std::set<std::string> *out) {
  std::ifstream file(std::string("/proc/sysvipc/") + kind);
  std::string line;
  std::getline(file, line);
  while (std::getline(file, line)) {
    std::istringstream fields(line);
    std::string field, id;
    for (size_t i = 0; fields >> field; i++) {
      if (i == 1)
        id = field;
      if (i == uid_column && std::stoul(field) == getuid())
        out->insert(std::string(kind) + ":" + id);
    }
  }
}

void ReadIpcs(std::set<std::string> *out) {
  FILE *p = popen("ipcs 2>/dev/null", "r");
  char line[512];
  while (p && fgets(line, sizeof line, p)) {
    char kind = 0, id[64];
    if (sscanf(line, " %c %63s", &kind, id) == 2 &&
        (kind == 'q' || kind == 'm' || kind == 's'))
      out->insert(std::string(1, kind) + ":" + id);
  }
  if (p)
    pclose(p);
}

} // namespace

std::set<std::string> KernelObjects() {
  std::set<std::string> objects;
  if (access("/proc/sysvipc/shm", R_OK) == 0) {
    ReadSysvipc("shm", 7, &objects);
    ReadSysvipc("sem", 4, &objects);
    ReadSysvipc("msg", 7, &objects);
  } else {
    ReadIpcs(&objects);
  }
  if (DIR *dir = opendir("/dev/shm")) {
    while (dirent *entry = readdir(dir))
      if (strstr(entry->d_name, "ipcb."))
        objects.insert(std::string("file:/dev/shm/") + entry->d_name);
    closedir(dir);
  }
  return objects;
}

void HygieneCheck::TearDown() {
  std::string leaked;
  for (const std::string &object : KernelObjects())
    if (!before_.count(object))
      leaked += " " + object;
  EXPECT_EQ(leaked, "") << "kernel objects left behind by the tests";
  EXPECT_EQ(ipcb_tracked_count(), 0u) << "objects still tracked for cleanup";
}

} // namespace ipcb_test
