// A test environment that fails the run if any SysV object, /dev/shm file or
// tracked object created while it ran is still there at the end.
#ifndef IPCB_TESTS_HYGIENE_H
#define IPCB_TESTS_HYGIENE_H

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

namespace ipcb_test {

// "shm:123", "sem:7", "msg:9", "file:/dev/shm/ipcb.1.2.x" of the current
// user, each with its permission bits (0600...).
std::map<std::string, unsigned> KernelObjectModes();
std::set<std::string> KernelObjects();

class HygieneCheck : public testing::Environment {
public:
  void SetUp() override { before_ = KernelObjects(); }
  void TearDown() override;

private:
  std::set<std::string> before_;
};

} // namespace ipcb_test

#endif // IPCB_TESTS_HYGIENE_H
