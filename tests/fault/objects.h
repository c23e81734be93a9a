// What the fault tests count as left behind. In isolated.sh's namespaces
// every object seen is this test's: the hygiene check's SysV objects and
// /dev/shm files, plus the POSIX message queues of the namespace mounted at
// $IPCB_MQUEUE_DIR (a private IPC namespace's queues are not those of
// /dev/mqueue). Outside them only what is provably ours counts, so that
// another program's objects, coming and going, are never taken for leaks.
#ifndef IPCB_TESTS_FAULT_OBJECTS_H
#define IPCB_TESTS_FAULT_OBJECTS_H

#include <stddef.h>

#include <set>
#include <string>

namespace ipcb_test {

std::set<std::string> AllObjects();
// True when run by isolated.sh: every object seen is this process's.
bool Isolated();

// Where the core's record (ipcb_tracked_history) stands now: give it to
// OursNow to count the objects recorded from here on.
size_t RecordMark();
// Our objects the kernel has now: those recorded since `mark` that are still
// there (hygiene.h Look), plus, isolated, everything in the namespace, or
// else the listed objects that name this process: POSIX names carrying its
// pid ("ipcb.<pid>.") and SysV segments it created. The first call outside a
// namespace prints what cannot be checked there.
std::set<std::string> OursNow(size_t mark);

} // namespace ipcb_test

#endif // IPCB_TESTS_FAULT_OBJECTS_H
