// The processes whose parent is this process: how the setup trials find a
// peer that ipcb_session_open is still starting (its pid is public only
// once open returns). One file per OS, chosen by CMake.
#ifndef IPCB_TESTS_FAULT_CHILDREN_H
#define IPCB_TESTS_FAULT_CHILDREN_H

#include <set>

namespace ipcb_test {

std::set<int> Children();

} // namespace ipcb_test

#endif // IPCB_TESTS_FAULT_CHILDREN_H
