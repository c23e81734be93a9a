// CMA: --ipc_list must say which permission process_vm_writev needs, and
// the probe must agree with the kernel's Yama setting.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "../support.h"

namespace ipcb_test {
namespace {

const ipcb_transport *Cma() { return ipcb_transport_find("CMA"); }

TEST(CMA, SummaryNamesThePtracePermission) {
  ASSERT_NE(Cma(), nullptr);
  std::string summary = Cma()->summary;
  EXPECT_NE(summary.find("PTRACE_MODE_ATTACH_REALCREDS"), std::string::npos);
  EXPECT_NE(summary.find("ptrace_scope"), std::string::npos);
}

TEST(CMA, ProbeAgreesWithYama) {
  int scope = -1;
  std::ifstream("/proc/sys/kernel/yama/ptrace_scope") >> scope;
  char why[256] = "";
  int rc = Cma()->probe(why, sizeof why);
  if (scope >= 3) {
    EXPECT_EQ(rc, IPCB_EUNAVAIL);
    EXPECT_NE(std::string(why).find("ptrace_scope is 3"), std::string::npos)
        << why;
  } else if (scope <= 1) {
    EXPECT_EQ(rc, 0) << why; // same uid: allowed (scope 1 via PR_SET_PTRACER)
  }
}

// The peer writes into its parent: under Yama scope 1 only the client's
// PR_SET_PTRACER allows it, and the trial write at attach checks it.
TEST(CMA, BothDirectionsAreAllowedAtAttach) {
  char why[256];
  if (Cma()->probe(why, sizeof why) != 0)
    GTEST_SKIP() << why;
  int rc = 0;
  SessionPtr session = Open(Cma(), 12, 1, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  EXPECT_EQ(ipcb_pingpong(session.get()), 0)
      << ipcb_session_error(session.get());
}

} // namespace
} // namespace ipcb_test
