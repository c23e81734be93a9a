// What the fault tests count as left behind: the hygiene check's SysV
// objects and /dev/shm files, plus the POSIX message queues of the IPC
// namespace when isolated.sh mounted them at $IPCB_MQUEUE_DIR (a private IPC
// namespace's queues are not those of /dev/mqueue).
#ifndef IPCB_TESTS_FAULT_OBJECTS_H
#define IPCB_TESTS_FAULT_OBJECTS_H

#include <set>
#include <string>

namespace ipcb_test {

std::set<std::string> AllObjects();
// True when run by isolated.sh: every object seen is this process's.
bool Isolated();

} // namespace ipcb_test

#endif // IPCB_TESTS_FAULT_OBJECTS_H
