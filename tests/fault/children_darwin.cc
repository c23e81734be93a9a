// Children on macOS: libproc's proc_listchildpids.
#include "children.h"

#include <libproc.h>
#include <unistd.h>

namespace ipcb_test {

std::set<int> Children() {
  pid_t pids[64];
  int n = proc_listchildpids(getpid(), pids, sizeof pids);
  std::set<int> out;
  for (int i = 0; i < n && i < 64; i++)
    out.insert(pids[i]);
  return out;
}

} // namespace ipcb_test
