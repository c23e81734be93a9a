// CMA: --ipc_list must say which permission process_vm_writev needs, and
// the probe must agree with the kernel's Yama setting.
#include <gtest/gtest.h>

#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

// Yama's scope as the kernel shows it, -1 without Yama.
int YamaScope() {
  int scope = -1;
  std::ifstream("/proc/sys/kernel/yama/ptrace_scope") >> scope;
  return scope;
}

bool HasCapSysPtrace() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("CapEff:", 0) == 0)
      return (std::stoull(line.substr(7), nullptr, 16) >> 19) & 1;
  return false;
}

// Whether process_vm_writev works at all here, on this process itself,
// which no permission rule refuses (only seccomp or a kernel without it).
bool CanWriteIntoSelf() {
  char byte = 0, into = 1;
  struct iovec l = {&byte, 1}, r = {&into, 1};
  return process_vm_writev(getpid(), &l, 1, &r, 1, 0) == 1;
}

// What the probe must answer at each Yama scope (-1: no Yama): scope 3
// forbids process_vm_writev to everyone, scope 2 to all but CAP_SYS_PTRACE,
// and below that the peer is allowed (at 1 through PR_SET_PTRACER); a
// refusal names the scope and what it would take.
void ExpectProbeVerdict(bool self_ok, int scope, bool cap_sys_ptrace, int rc,
                        const std::string &why) {
  SCOPED_TRACE(testing::Message()
               << "self " << self_ok << ", ptrace_scope " << scope
               << ", CAP_SYS_PTRACE " << cap_sys_ptrace);
  if (!self_ok) {
    EXPECT_EQ(rc, IPCB_EUNAVAIL) << why;
    EXPECT_NE(why.find("process_vm_writev on itself"), std::string::npos)
        << why;
  } else if (scope >= 3 || (scope == 2 && !cap_sys_ptrace)) {
    EXPECT_EQ(rc, IPCB_EUNAVAIL) << why;
    std::string said = "kernel.yama.ptrace_scope is " + std::to_string(scope);
    EXPECT_NE(why.find(said), std::string::npos) << why;
    EXPECT_NE(why.find(scope == 2 ? "CAP_SYS_PTRACE" : "forbids"),
              std::string::npos)
        << why;
  } else {
    EXPECT_EQ(rc, 0) << why;
  }
}

TEST(CMA, ProbeAgreesWithYama) {
  ASSERT_NE(Cma(), nullptr);
  char why[256] = "";
  int rc = Cma()->probe(why, sizeof why);
  ExpectProbeVerdict(CanWriteIntoSelf(), YamaScope(), HasCapSysPtrace(), rc,
                     why);
}

// The probe's verdict is the kernel's: the client writing into a child of
// its own is what scopes 0 and 1 allow, scope 2 only with CAP_SYS_PTRACE,
// and scope 3 never; a probe that says yes where the kernel says no (or the
// reverse) sends every run to a failed attach (or hides CMA).
TEST(CMA, ProbeVerdictIsTheKernels) {
  ASSERT_NE(Cma(), nullptr);
  char why[256] = "";
  int probe = Cma()->probe(why, sizeof why);
  int gate[2];
  ASSERT_EQ(pipe(gate), 0);
  char target = 0, byte = 1;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) { // waits until the parent has tried, then goes
    close(gate[1]);
    char c;
    _exit(read(gate[0], &c, 1) == 0 ? 0 : 1);
  }
  close(gate[0]);
  struct iovec l = {&byte, 1}, r = {&target, 1};
  ssize_t wrote = process_vm_writev(child, &l, 1, &r, 1, 0);
  int err = errno;
  close(gate[1]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  if (wrote != 1) {
    EXPECT_EQ(err, EPERM) << strerror(err);
  }
  EXPECT_EQ(probe == 0, wrote == 1)
      << "probe: " << (probe ? why : "allowed")
      << "; kernel: " << (wrote == 1 ? "allowed" : strerror(err));
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
  EXPECT_EQ(ipcb_round_trip(session.get()), 0)
      << ipcb_session_error(session.get());
}

} // namespace
} // namespace ipcb_test
