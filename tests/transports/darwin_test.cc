// The macOS transports' quirks: MachMsg's chunking above the inline cap,
// MachOOLPhysical's copy-map limit, a Stream window at the Mach port queue's
// limit, the rendezvous against a stranger, and what the context records
// instead of pinning.
#include <gtest/gtest.h>
#include <libproc.h>
#include <sys/proc_info.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include <unistd.h>

#include "../cost_support.h"
#include "darwin_support.h"

namespace ipcb_test {
namespace {

// Above the inline cap a message travels as several Mach messages, each
// header written over the previous chunk's tail: every byte must survive.
TEST(MachMsg, AMessageAboveTheInlineCapIsChunkedAndExact) {
  const ipcb_transport *machmsg = Find("MachMsg");
  ASSERT_NE(machmsg, nullptr);
  size_t cap = machmsg->max_message();
  size_t bytes = cap + cap / 2 + 1; // two chunks, the second not full
  int rc = 0;
  SessionPtr session = Open(machmsg, bytes, /*verify=*/1, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  std::string label = ipcb_session_label(session.get());
  EXPECT_NE(label.find("chunked: 2 messages"), std::string::npos) << label;
  for (int i = 0; i < 3; i++)
    ASSERT_EQ(ipcb_round_trip(session.get()), 0)
        << ipcb_session_error(session.get());
}

TEST(MachOOLPhysical, AMessageAboveTheCopyMapLimitNamesIt) {
  const ipcb_transport *physical = Find("MachOOLPhysical");
  ASSERT_NE(physical, nullptr);
  int rc = 0;
  SessionPtr session = Open(physical, physical->max_message() + 1, 0, 0, &rc);
  EXPECT_EQ(rc, IPCB_ELIMIT) << ipcb_session_error(session.get());
  EXPECT_NE(std::string(ipcb_session_error(session.get()))
                .find("ipc_kmsg_max_vm_space"),
            std::string::npos)
      << ipcb_session_error(session.get());
}

// The largest window ipc_bench accepts is MACH_PORT_QLIMIT_MAX: xnu refuses
// a larger queue limit (osfmk/ipc/mach_port.c), so a transport that asked
// for the window plus one failed at attach with KERN_INVALID_VALUE.
class MachWindow : public testing::TestWithParam<const char *> {};

TEST_P(MachWindow, TheLargestStreamWindowRuns) {
  const ipcb_transport *transport = Find(GetParam());
  ASSERT_NE(transport, nullptr);
  int rc = 0;
  SessionPtr session = Open(transport, 64, 1, 0, &rc, IPCB_STREAM, 1024);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  EXPECT_EQ(ipcb_session_window(session.get()), 1024u);
  ASSERT_TRUE(StreamMessages(session.get(), 3 * 1024));
}

INSTANTIATE_TEST_SUITE_P(Mach, MachWindow,
                         testing::Values("MachMsg", "MachOOL",
                                         "MachOOLPhysical", "MachShm",
                                         "MachSemaphore", "CFMachPort"),
                         [](const testing::TestParamInfo<const char *> &info) {
                           return std::string(info.param);
                         });

// A third process that looks the rendezvous name up and sends first is
// refused and never answered: a well-formed hello (its pid is not the
// spawned peer's), a bare header (no trailer where a hello's would be), or
// a message too large for the buffer (dropped by the kernel). The real peer
// still connects, and the name is gone once the peer has called.
struct Stranger {
  const char *transport, *mode;
};

class MachRendezvous : public testing::TestWithParam<Stranger> {};

TEST_P(MachRendezvous, AStrangerIsRefusedAndThePeerConnects) {
  intruder_trial trial;
  ASSERT_NO_FATAL_FAILURE(ExpectStrangerNeverAnswered(GetParam().transport,
                                                      GetParam().mode, &trial));
  EXPECT_FALSE(trial.registered_after_attach)
      << trial.name << " is still registered a second after the peer called ("
      << ipcb_probe_bootstrap_method() << ")";
  EXPECT_FALSE(trial.registered_after_close)
      << trial.name << " is still registered after teardown";
}

INSTANTIATE_TEST_SUITE_P(
    Mach, MachRendezvous,
    testing::Values(Stranger{"MachMsg", "hello"}, Stranger{"MachMsg", "bare"},
                    Stranger{"MachMsg", "large"}, Stranger{"MachShm", "hello"},
                    Stranger{"CFMachPort", "hello"}),
    [](const testing::TestParamInfo<Stranger> &info) {
      return std::string(info.param.transport) + "_" + info.param.mode;
    });

TEST(DarwinContext, RendezvousMethodAndQoSAreKnown) {
  const char *method = ipcb_probe_bootstrap_method();
  ASSERT_NE(method, nullptr);
  EXPECT_TRUE(std::string(method) == "bootstrap_register2" ||
              std::string(method) == "bootstrap_check_in")
      << method;
  char thread_class[160];
  ASSERT_EQ(ipcb_set_thread_class(IPCB_QOS_UTILITY), 0);
  ipcb_describe_thread_class(thread_class, sizeof thread_class);
  EXPECT_EQ(std::string(thread_class)
                .rfind("QoS utility (requested; in effect: base priority ", 0),
            0u)
      << thread_class;
  ASSERT_EQ(ipcb_set_thread_class(IPCB_QOS_PLATFORM), 0); // later tests' class
  ipcb_describe_thread_class(thread_class, sizeof thread_class);
  EXPECT_EQ(std::string(thread_class)
                .rfind("QoS user-interactive (requested; in effect: base "
                       "priority ",
                       0),
            0u)
      << thread_class;
  EXPECT_EQ(ipcb_set_thread_class(static_cast<ipcb_qos>(9)), -EINVAL);
}

// The base priorities xnu gives each class (osfmk/kern/sched.h): what
// proc_pidinfo reports for a thread of the peer (pth_priority = base_pri,
// osfmk/kern/bsd_kern.c).
std::vector<int> ThreadPriorities(int pid) {
  uint64_t ids[32];
  int bytes = proc_pidinfo(pid, PROC_PIDLISTTHREADS, 0, ids, sizeof ids);
  std::vector<int> out;
  for (int i = 0; i < bytes / static_cast<int>(sizeof ids[0]); i++) {
    struct proc_threadinfo info;
    if (proc_pidinfo(pid, PROC_PIDTHREADINFO, ids[i], &info, sizeof info) ==
        static_cast<int>(sizeof info))
      out.push_back(info.pth_priority);
  }
  return out;
}

// The session sets the calling thread's class too: back to the default for
// the tests after this one, however this one ends.
struct DefaultClassAfter {
  ~DefaultClassAfter() { ipcb_set_thread_class(IPCB_QOS_PLATFORM); }
};

TEST(DarwinQoS, ThePeerRunsAtTheClassAsked) {
  DefaultClassAfter restore;
  ipcb_options opt{};
  opt.pattern = IPCB_PINGPONG;
  opt.bytes = 64;
  opt.qos = IPCB_QOS_UTILITY;
  ipcb_session *raw = nullptr;
  int rc = ipcb_session_open(ipcb_transport_find("Pipe"), &opt, &raw);
  SessionPtr session(raw);
  ASSERT_EQ(rc, 0) << ipcb_session_error(raw);
  ASSERT_EQ(ipcb_round_trip(raw), 0) << ipcb_session_error(raw);
  std::vector<int> priorities = ThreadPriorities(ipcb_session_peer_pid(raw));
  std::string seen;
  for (int p : priorities)
    seen += " " + std::to_string(p);
  EXPECT_NE(std::find(priorities.begin(), priorities.end(), 20),
            priorities.end())
      << "no peer thread at utility's base priority 20; seen:" << seen;
}

// The names of a process's threads (proc_pidinfo, as usage_darwin.c reads
// them).
std::vector<std::string> ThreadNames(int pid) {
  std::vector<uint64_t> handles(256);
  int bytes = proc_pidinfo(pid, PROC_PIDLISTTHREADS, 0, handles.data(),
                           static_cast<int>(handles.size() * sizeof(uint64_t)));
  std::vector<std::string> names;
  for (int i = 0; i < bytes / static_cast<int>(sizeof(uint64_t)); i++) {
    struct proc_threadinfo info;
    if (proc_pidinfo(pid, PROC_PIDTHREADINFO, handles[i], &info, sizeof info) ==
        sizeof info)
      names.emplace_back(info.pth_name);
  }
  return names;
}

// macOS counts CPU time per process, and the cost counters leave out the
// core's own threads by their names: both sides' watchdogs must carry one.
TEST(DarwinCost, BothSidesWatchdogThreadsAreNamed) {
  const ipcb_transport *pipe_tr = Find("Pipe");
  ASSERT_NE(pipe_tr, nullptr);
  int rc = 0;
  SessionPtr session = Open(pipe_tr, 12, 0, 0, &rc);
  ASSERT_EQ(rc, 0) << ipcb_session_error(session.get());
  ASSERT_EQ(ipcb_round_trip(session.get()), 0);
  for (int pid :
       {static_cast<int>(getpid()), ipcb_session_peer_pid(session.get())}) {
    std::vector<std::string> names = ThreadNames(pid);
    EXPECT_NE(std::find(names.begin(), names.end(), "ipcb.watchdog"),
              names.end())
        << "pid " << pid << " has " << names.size()
        << " threads, none named ipcb.watchdog";
  }
}

// A virtual copy write-protects the sender's region and shares its pages
// with the message (xnu osfmk/vm/vm_map.c:12390-12412); the sender's next
// stamping copies each page it writes while an earlier message still holds
// them: a copy-on-write fault (osfmk/vm/vm_fault.c:2255, 5341). In Stream
// four 4 MiB messages may be queued at once, so they do. (In PingPong the
// receiver has let go by then and xnu skips the copy: vm_object.c:4027-4051.)
// A physical copy is made into the kernel's copy map at the send
// (osfmk/ipc/ipc_kmsg.c:2454-2484): the sender's pages stay its own.
TEST(MachOOL, AVirtualCopyCostsTheSenderCopyOnWriteFaultsAPhysicalOneNone) {
  const ipcb_transport *virt = Find("MachOOL");
  const ipcb_transport *phys = Find("MachOOLPhysical");
  ASSERT_NE(virt, nullptr);
  ASSERT_NE(phys, nullptr);
  const int64_t run_ns = 300 * 1000 * 1000;
  LoopCost v, p;
  ASSERT_TRUE(MeasureCost(virt, IPCB_STREAM, 4 << 20, run_ns, {}, &v));
  ASSERT_TRUE(MeasureCost(phys, IPCB_STREAM, 4 << 20, run_ns, {}, &p));
  ASSERT_TRUE(v.client.have & p.client.have & IPCB_USAGE_COW_FAULTS);
  EXPECT_GE(v.PerIteration(v.client.cow_faults), 1.0)
      << "MachOOL: the sender's copy-on-write faults per 4 MiB message, over "
      << v.iterations
      << " messages; all faults: " << v.PerIteration(v.client.faults);
  EXPECT_LT(p.PerIteration(p.client.cow_faults), 0.5)
      << "MachOOLPhysical: the sender's copy-on-write faults per message, over "
      << p.iterations << " messages";
}

} // namespace
} // namespace ipcb_test
