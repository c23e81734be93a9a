// A test environment that fails the run if a kernel object the tests made is
// still there at the end, or was not private to the user. It asks the kernel
// about exactly the objects the core tracked (ipcb_tracked_history), so other
// programs' objects never count, on Linux and macOS alike.
#ifndef IPCB_TESTS_HYGIENE_H
#define IPCB_TESTS_HYGIENE_H

#include <gtest/gtest.h>
#include <sys/types.h>

#include <map>
#include <set>
#include <string>

#include "ipcb/ipcb.h"

namespace ipcb_test {

// What the kernel says of one recorded object.
struct Seen {
  bool present = false;    // still there, and ours
  bool others = false;     // the id answers, for another program's object
  bool mode_known = false; // mode and uid were read
  unsigned mode = 0;
  uid_t uid = 0;
  std::string note; // how it was seen, when not by its mode
};

// Asks the kernel about one recorded object now: SysV ids by IPC_STAT, POSIX
// shared memory by shm_open and fstat, semaphores and queues by their name.
Seen Look(const ipcb_tracked_object &o);
// "POSIX shm /ipcb.1.2", "SysV msg 7".
std::string Describe(const ipcb_tracked_object &o);
// "mode 0600, owner uid 1000", or how it was seen when the mode was not read.
std::string ModeText(const Seen &seen);

// This user's kernel objects that can be seen now, each with its permission
// bits as the kernel reports them: "shm:123", "sem:7", "msg:9" (SysV),
// "file:/dev/shm/ipcb.1.2.x" (Linux's POSIX names), and where names cannot be
// listed (macOS), "posix_shm:/ipcb.1.2.x" for each recorded name still there.
std::map<std::string, unsigned> KernelObjectModes();
std::set<std::string> KernelObjects();

class HygieneCheck : public testing::Environment {
public:
  void SetUp() override;
  void TearDown() override;
  // Notes the test in which each object was recorded, so that a leak names
  // it; give it to googletest's listeners.
  static testing::TestEventListener *NewTestMarker();

private:
  std::set<std::string> before_;
};

} // namespace ipcb_test

#endif // IPCB_TESTS_HYGIENE_H
