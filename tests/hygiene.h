// A test environment that fails the run if a kernel object the tests made is
// still there at the end, or was not private to the user. It asks the kernel
// about exactly the objects the core tracked (ipcb_tracked_history), so other
// programs' objects never count, on Linux and macOS alike.
#ifndef IPCB_TESTS_HYGIENE_H
#define IPCB_TESTS_HYGIENE_H

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

namespace ipcb_test {

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
