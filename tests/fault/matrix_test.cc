// The fault matrix: for every transport, SIGKILL of the peer at random points
// of PingPong, Stream and session setup (seeded, reproducible). Each trial
// asserts that the client reports IPCB_EPEERDIED within 1 s, that the next
// session on the same transport works, and that nothing is left behind; the
// detection latencies and leaks are printed as a table at the end.
//
// IPCB_FAULT_SEED=<n> replays a run; IPCB_FAULT_TRIALS=<n> changes the number
// of trials per transport (100 by default).
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support.h"
#include "children.h"
#include "objects.h"

namespace ipcb_test {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kSecond = 1000 * 1000 * 1000;

enum Fault { kPingPong, kStream, kSetup, kFaults };
const char *const kFaultNames[kFaults] = {"PingPong", "Stream", "setup"};

struct Row {
  std::vector<int64_t> latency_ns[kFaults];
  int in_open = 0;  // setup kills that landed before open returned
  int failures = 0; // trials with a failed assertion
  std::set<std::string> leaked;
};
std::map<std::string, Row> &Rows() {
  static std::map<std::string, Row> rows;
  return rows;
}

uint64_t EnvNumber(const char *name, uint64_t fallback) {
  const char *text = getenv(name);
  return text && *text ? strtoull(text, nullptr, 0) : fallback;
}

uint64_t Seed() {
  static const uint64_t seed =
      EnvNumber("IPCB_FAULT_SEED",
                static_cast<uint64_t>(Clock::now().time_since_epoch().count()));
  return seed;
}

int64_t Now() { return Clock::now().time_since_epoch().count(); }

// Kills one process after `delay_us`, once it is known: either `pid` now, or
// (for setup) the first child of ours that appears while the session opens.
class Killer {
public:
  Killer(int pid, int64_t delay_us) {
    thread_ = std::thread([this, pid, delay_us] {
      int victim = pid;
      while (victim <= 0 && !stop_) {
        std::set<int> children = Children();
        if (!children.empty())
          victim = *children.begin();
        else
          std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
      if (victim <= 0)
        return;
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
      killed_at_ = Now();
      kill(victim, SIGKILL);
    });
  }
  // The time of the kill, or 0 if none happened.
  int64_t Join() {
    stop_ = true;
    thread_.join();
    return killed_at_;
  }
  int64_t KilledAt() const { return killed_at_; }

private:
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> killed_at_{0};
};

struct Trial {
  Fault fault;
  size_t bytes;
  unsigned window;
  int64_t delay_us;
};

// Exchanges until a call fails or `deadline`; returns the failing code.
int ExchangeUntilFailure(ipcb_session *s, Fault fault, int64_t deadline) {
  int rc = 0;
  while (rc == 0 && Now() < deadline)
    rc = fault == kStream ? ipcb_stream_send(s) : ipcb_round_trip(s);
  return rc;
}

int Warmup(ipcb_session *s, Fault fault) {
  if (fault != kStream)
    return ipcb_round_trip(s);
  int rc = ipcb_stream_send(s);
  return rc ? rc : ipcb_stream_finish(s);
}

// One kill; returns the detection latency in ns, or -1 on a failure (the
// failure is reported through gtest).
int64_t RunTrial(const ipcb_transport *tr, const Trial &t, int *in_open) {
  ipcb_pattern pattern = t.fault == kStream ? IPCB_STREAM : IPCB_PINGPONG;
  int rc = 0;
  SessionPtr s;
  std::unique_ptr<Killer> killer;
  if (t.fault == kSetup) {
    killer.reset(new Killer(0, t.delay_us));
    s = Open(tr, t.bytes, 0, 0, &rc, pattern, t.window);
    *in_open = rc != 0;
  } else {
    s = Open(tr, t.bytes, 0, 0, &rc, pattern, t.window);
    if (rc != 0 || (rc = Warmup(s.get(), t.fault)) != 0) {
      ADD_FAILURE() << "open or warm-up: " << ipcb_code_name(rc) << ": "
                    << ipcb_session_error(s.get());
      return -1;
    }
    killer.reset(new Killer(ipcb_session_peer_pid(s.get()), t.delay_us));
  }
  if (rc == 0)
    rc = ExchangeUntilFailure(s.get(), t.fault, Now() + 5 * kSecond);
  int64_t noticed = Now();
  int64_t killed_at = killer->Join();
  std::string error = ipcb_session_error(s.get());
  if (killed_at == 0) {
    ADD_FAILURE() << "no peer to kill; the session said " << ipcb_code_name(rc)
                  << ": " << error;
    return -1;
  }
  if (rc != IPCB_EPEERDIED || error.find("SIGKILL") == std::string::npos) {
    ADD_FAILURE() << ipcb_code_name(rc) << ": " << error;
    return -1;
  }
  return noticed - killed_at;
}

// The next session on the transport works: open, one exchange, close.
bool NextSessionWorks(const ipcb_transport *tr, const Trial &t) {
  int rc = 0;
  ipcb_pattern pattern = t.fault == kStream ? IPCB_STREAM : IPCB_PINGPONG;
  SessionPtr s = Open(tr, t.bytes, 0, 0, &rc, pattern, t.window);
  if (rc == 0)
    rc = Warmup(s.get(), t.fault);
  EXPECT_EQ(rc, 0) << "the session after a kill: " << ipcb_code_name(rc) << ": "
                   << ipcb_session_error(s.get());
  return rc == 0;
}

// FNV-1a: the same on every standard library, unlike std::hash.
uint64_t NameHash(const std::string &name) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : name)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

std::vector<Trial> Plan(const std::string &transport, size_t count) {
  // One stream per transport, so a filtered run replays the same trials.
  std::seed_seq seq{Seed(), NameHash(transport)};
  std::mt19937_64 rng(seq);
  const size_t sizes[] = {12, 512, 4096, 65536};
  const unsigned windows[] = {1, 8, 64};
  std::vector<Trial> plan;
  for (size_t i = 0; i < count; i++) {
    Trial t;
    t.fault = static_cast<Fault>(i % kFaults);
    t.bytes = sizes[rng() % 4];
    t.window = windows[rng() % 3];
    // Setup lasts a few ms: kill within it, or just after.
    t.delay_us =
        static_cast<int64_t>(rng() % (t.fault == kSetup ? 1500 : 20001));
    plan.push_back(t);
  }
  return plan;
}

// Ours now that were not there at the trial's start (`mark`, `before`).
void NoteLeaks(size_t mark, const std::set<std::string> &before, Row *row) {
  for (const std::string &object : OursNow(mark))
    if (!before.count(object))
      row->leaked.insert(object);
}

class FaultMatrix : public testing::TestWithParam<const ipcb_transport *> {};

TEST_P(FaultMatrix, PeerKilledAtRandom) {
  const ipcb_transport *tr = GetParam();
  size_t count = EnvNumber("IPCB_FAULT_TRIALS", 100);
  Row &row = Rows()[tr->name];
  std::vector<Trial> plan = Plan(tr->name, count);
  size_t first = RecordMark();
  printf("fault matrix %s: %zu trials, IPCB_FAULT_SEED=%llu\n", tr->name, count,
         static_cast<unsigned long long>(Seed()));
  for (size_t i = 0; i < plan.size(); i++) {
    const Trial &t = plan[i];
    SCOPED_TRACE(testing::Message()
                 << "trial " << i << ": " << kFaultNames[t.fault] << ", "
                 << t.bytes << " B, window " << t.window << ", kill after "
                 << t.delay_us << " us");
    size_t mark = RecordMark();
    std::set<std::string> before = OursNow(mark);
    int in_open = 0;
    int64_t latency = RunTrial(tr, t, &in_open);
    row.in_open += in_open;
    bool ok = latency >= 0;
    if (ok) {
      row.latency_ns[t.fault].push_back(latency);
      EXPECT_LT(latency, kSecond) << "peer death noticed late";
      ok = latency < kSecond;
    }
    EXPECT_EQ(ipcb_tracked_count(), 0u) << "objects still tracked";
    NoteLeaks(mark, before, &row); // the killed session's, before any other
    ok = NextSessionWorks(tr, t) && ok;
    NoteLeaks(mark, before, &row); // and the next session's
    row.failures += !ok;
  }
  // A leak is what a trial left and is still there: an object taken for a
  // moment is not one.
  std::set<std::string> now = OursNow(first), leaked;
  for (const std::string &object : row.leaked)
    if (now.count(object))
      leaked.insert(object);
  row.leaked = leaked;
  EXPECT_TRUE(leaked.empty()) << "left behind: " << *leaked.begin();
  EXPECT_EQ(row.failures, 0);
}

INSTANTIATE_TEST_SUITE_P(AllTransports, FaultMatrix,
                         testing::ValuesIn(Transports()), TransportName());

std::string Millis(int64_t ns) {
  char text[32];
  snprintf(text, sizeof text, "%.1f", static_cast<double>(ns) / 1e6);
  return text;
}

// "n: median/max ms" of one cell.
std::string Cell(std::vector<int64_t> v) {
  if (v.empty())
    return "-";
  std::sort(v.begin(), v.end());
  return std::to_string(v.size()) + ": " + Millis(v[v.size() / 2]) + "/" +
         Millis(v.back());
}

// Printed after every test ran, when the whole matrix is known.
class MatrixTable : public testing::Environment {
public:
  void TearDown() override {
    if (Rows().empty())
      return;
    const char *format = "| %-11s | %-15s | %-15s | %-20s | %-16s | %-10s |\n";
    std::ostringstream out;
    char line[256];
    out << "\nFault matrix: SIGKILL of the peer, IPCB_FAULT_SEED=" << Seed()
        << (Isolated() ? ""
                       : " (not isolated: only objects provably ours counted)")
        << "\ncells: trials: median/max ms from kill() to the client's "
           "IPCB_EPEERDIED\n";
    snprintf(line, sizeof line, format, "transport", "PingPong", "Stream",
             "setup (in open)", "all", "leaks/fail");
    out << line;
    snprintf(line, sizeof line, format, "---", "---", "---", "---", "---",
             "---");
    out << line;
    for (const auto &entry : Rows()) {
      const Row &r = entry.second;
      std::vector<int64_t> all;
      for (const auto &v : r.latency_ns)
        all.insert(all.end(), v.begin(), v.end());
      std::string setup =
          Cell(r.latency_ns[kSetup]) + " (" + std::to_string(r.in_open) + ")";
      std::string faults =
          std::to_string(r.leaked.size()) + "/" + std::to_string(r.failures);
      snprintf(line, sizeof line, format, entry.first.c_str(),
               Cell(r.latency_ns[kPingPong]).c_str(),
               Cell(r.latency_ns[kStream]).c_str(), setup.c_str(),
               Cell(all).c_str(), faults.c_str());
      out << line;
    }
    printf("%s\n", out.str().c_str());
    if (const char *path = getenv("IPCB_FAULT_TABLE"))
      std::ofstream(path) << out.str();
  }
};
const testing::Environment *const kTable =
    testing::AddGlobalTestEnvironment(new MatrixTable);

} // namespace
} // namespace ipcb_test
