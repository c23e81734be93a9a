// Client SIGKILLs at random instants: for every transport, ipc_bench runs one
// benchmark of a family (PingPong, Stream, ColdStart in turn) and is killed
// either in its first 60 ms (start-up, setup, the handover of names) or in
// the timed loop. Once its peer has exited, objects may remain only if the
// client's journal is there to name them; after the next start of ipc_bench
// (`--ipc_list`, which sweeps the journals of dead runs) nothing of ours may
// remain. Isolated only (isolated.sh): every object seen is then ours.
//
// IPCB_BENCH=<path of ipc_bench> (set by ctest); IPCB_FAULT_SEED=<n> replays
// a run; IPCB_CLIENT_KILLS=<n> kills per transport (36: a sixth of them in
// the timed loop).
#include <gtest/gtest.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support.h"
#include "objects.h"

extern char **environ;

namespace ipcb_test {
namespace {

using Clock = std::chrono::steady_clock;
const char *const kFamilies[] = {"PingPong", "Stream", "ColdStart"};
constexpr int kShownFailures = 3; // per transport, with their logs

struct Kill {
  int family;
  int64_t delay_us;
};

struct Row {
  int kills = 0;
  int for_sweep = 0;    // kills after which objects were left, journalled
  int journal_only = 0; // kills after which only the client's journal was
  int failures = 0;
  int64_t min_us = INT64_MAX, max_us = 0;
};

uint64_t EnvNumber(const char *name, uint64_t fallback) {
  const char *text = getenv(name);
  return text && *text ? strtoull(text, nullptr, 0) : fallback;
}

uint64_t Seed() { return EnvNumber("IPCB_FAULT_SEED", 20240613); }

// FNV-1a: the same on every standard library, unlike std::hash.
uint64_t NameHash(const std::string &name) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : name)
    h = (h ^ c) * 1099511628211ull;
  return h;
}

// One stream per transport, so that a filtered run replays the same kills.
std::vector<Kill> Plan(const std::string &transport) {
  size_t total = EnvNumber("IPCB_CLIENT_KILLS", 36);
  size_t timed = total / 6, early = total - timed;
  std::seed_seq seq{static_cast<uint32_t>(Seed()),
                    static_cast<uint32_t>(Seed() >> 32),
                    static_cast<uint32_t>(NameHash(transport))};
  std::mt19937 rng(seq);
  std::uniform_int_distribution<int64_t> first_60ms(0, 59999);
  std::uniform_int_distribution<int64_t> in_loop(100000, 399999);
  std::vector<Kill> plan;
  for (size_t i = 0; i < early; i++)
    plan.push_back({static_cast<int>(i % 3), first_60ms(rng)});
  for (size_t i = 0; i < timed; i++)
    plan.push_back({static_cast<int>(i % 3), in_loop(rng)});
  return plan;
}

std::string Filter(int family, const std::string &transport) {
  // ColdStart has 12 B and 4 MiB only; the others 4 KiB.
  return std::string("--benchmark_filter=^") + kFamilies[family] + "/" +
         transport + (family == 2 ? "/12$" : "/4096$");
}

// Starts ipc_bench in a process group of its own (its peers join it), with
// stdin /dev/null and stdout and stderr to `log`. Returns its pid, or -1.
pid_t Start(const std::vector<std::string> &args, const std::string &log) {
  std::vector<char *> argv;
  for (const std::string &arg : args)
    argv.push_back(const_cast<char *>(arg.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -1;
}

std::string Status(int status) {
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "exited " + std::to_string(WEXITSTATUS(status));
}

// Reaps the group `pgid` until none of it is left (this process is the
// subreaper, so the orphaned peers are its children). Notes each exit in
// `ends`, and in *survived whether a peer outlived the client and ended on
// its own (not by the client's SIGKILL); false if some member was still
// alive after 5 s (then killed).
bool WaitGroup(pid_t pgid, std::string *ends, bool *survived) {
  auto deadline = Clock::now() + std::chrono::seconds(5);
  for (;;) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-pgid, &status, WNOHANG)) > 0) {
      *ends += " peer " + std::to_string(pid) + " " + Status(status) + ";";
      *survived |= !WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL;
    }
    if (kill(-pgid, 0) != 0 && errno == ESRCH)
      return true;
    if (Clock::now() > deadline) {
      kill(-pgid, SIGKILL);
      while (waitpid(-pgid, &status, 0) > 0) {
      }
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

std::string JournalPath(pid_t pid) {
  return "/dev/shm/ipcb-journal." + std::to_string(geteuid()) + "." +
         std::to_string(pid);
}

// Our objects in the namespace and every journal in /dev/shm but this
// process's own (the core keeps one here too).
std::set<std::string> Leftovers() {
  std::set<std::string> left = AllObjects();
  if (DIR *dir = opendir("/dev/shm")) {
    while (dirent *entry = readdir(dir))
      if (strncmp(entry->d_name, "ipcb-journal.", 13) == 0)
        left.insert(std::string("journal:/dev/shm/") + entry->d_name);
    closedir(dir);
  }
  left.erase("journal:" + JournalPath(getpid()));
  return left;
}

// Removes what a failed check left, so that the next kill starts clean.
void Scrub(const std::set<std::string> &left) {
  const char *mq_dir = getenv("IPCB_MQUEUE_DIR");
  for (const std::string &object : left) {
    size_t colon = object.find(':');
    std::string kind = object.substr(0, colon), rest = object.substr(colon + 1);
    if (kind == "shm")
      shmctl(atoi(rest.c_str()), IPC_RMID, nullptr);
    else if (kind == "sem")
      semctl(atoi(rest.c_str()), 0, IPC_RMID);
    else if (kind == "msg")
      msgctl(atoi(rest.c_str()), IPC_RMID, nullptr);
    else if (kind == "mqueue" && mq_dir)
      unlink((std::string(mq_dir) + "/" + rest).c_str());
    else
      unlink(rest.c_str());
  }
}

std::string Join(const std::set<std::string> &items) {
  std::string out;
  for (const std::string &item : items)
    out += "\n  " + item;
  return out.empty() ? " none" : out;
}

// The client's log, and what the sweep said (not its transport table).
std::string Logs(const std::string &log) {
  std::ifstream client(log), sweep(log + ".sweep");
  std::stringstream text;
  text << "--- " << log << "\n" << client.rdbuf() << "--- the sweep said:\n";
  for (std::string line; std::getline(sweep, line);)
    if (line.rfind("ipc_bench:", 0) == 0)
      text << line << "\n";
  return text.str();
}

class ClientKill : public testing::Test {
protected:
  void SetUp() override {
    bench_ = getenv("IPCB_BENCH") ? getenv("IPCB_BENCH") : "";
    if (!Isolated() || bench_.empty())
      GTEST_SKIP() << "needs isolated.sh's private namespaces and IPCB_BENCH "
                      "(run by ctest -R fault.client_kill)";
    // The orphaned peers must be reaped here: PID 1 of a container may
    // never reap them, and a zombie still answers kill(-pgid, 0).
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0) << strerror(errno);
    char dir[] = "/tmp/ipcb-client-kill.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr) << strerror(errno);
    logs_ = dir;
    ASSERT_EQ(Leftovers(), std::set<std::string>()) << "objects at the start";
    printf("client_kill: IPCB_FAULT_SEED=%llu, logs in %s\n",
           static_cast<unsigned long long>(Seed()), logs_.c_str());
  }

  // One kill; false on a failure, which is reported in `*report`.
  bool RunKill(const std::string &transport, const Kill &k, int n, Row *row,
               std::string *report);
  // ipc_bench --ipc_list: the start-up sweep. Returns its exit status.
  int Sweep(const std::string &log) {
    pid_t pid = Start({bench_, "--ipc_list"}, log);
    int status = -1;
    if (pid > 0)
      waitpid(pid, &status, 0);
    return status;
  }

  std::string bench_, logs_;
};

bool ClientKill::RunKill(const std::string &transport, const Kill &k, int n,
                         Row *row, std::string *report) {
  std::string log = logs_ + "/" + transport + "." + std::to_string(n) + ".log";
  pid_t pid = Start(
      {bench_, Filter(k.family, transport), "--benchmark_min_time=2"}, log);
  if (pid <= 0) {
    *report = "posix_spawn of " + bench_ + " failed";
    return false;
  }
  std::this_thread::sleep_for(std::chrono::microseconds(k.delay_us));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  std::string ends = " client " + Status(status) + ";";
  bool survived = false;
  bool peer_gone = WaitGroup(pid, &ends, &survived);
  std::set<std::string> left = Leftovers();
  bool journal = left.count("journal:" + JournalPath(pid)) != 0;
  std::set<std::string> objects;
  for (const std::string &object : left)
    if (object.rfind("journal:", 0) != 0)
      objects.insert(object);
  int swept = Sweep(log + ".sweep");
  std::set<std::string> after = Leftovers();
  row->for_sweep += !objects.empty();
  std::string note;
  for (const std::string &object : objects)
    note += " " + object;
  if (!note.empty()) // the windows that the survivor cannot close
    printf("client_kill: %s %s at %.1f ms left for the sweep:%s;%s\n",
           transport.c_str(), kFamilies[k.family], k.delay_us / 1000.0,
           note.c_str(), ends.c_str());
  row->journal_only += objects.empty() && !left.empty();
  std::ostringstream why;
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
    why << "the client ended before the kill\n";
  if (!peer_gone)
    why << "a peer was still alive 5 s after the client's death\n";
  if (!objects.empty() && !journal)
    why << "the survivor left objects and the client's journal is gone\n";
  if (survived && !left.empty())
    why << "a peer outlived its client, yet did not remove all it listed\n";
  if (swept != 0 || !after.empty())
    why << "ipc_bench --ipc_list (" << Status(swept) << ") left some\n";
  if (why.str().empty())
    return true;
  *report = why.str() + "seed " + std::to_string(Seed()) + ", " + transport +
            ", " + kFamilies[k.family] + ", delay " +
            std::to_string(k.delay_us) + " us, client pid " +
            std::to_string(pid) + ";" + ends +
            "\nleft after the peer:" + Join(left) +
            "\nleft after the sweep:" + Join(after) + "\nlog " + log;
  Scrub(after);
  return false;
}

TEST_F(ClientKill, NothingLeftOnceThePeerAndTheNextStartRan) {
  std::map<std::string, Row> rows;
  for (const ipcb_transport *tr : Transports()) {
    std::string name = tr->name;
    Row &row = rows[name];
    std::vector<Kill> plan = Plan(name);
    for (size_t i = 0; i < plan.size(); i++) {
      const Kill &k = plan[i];
      std::string report;
      row.kills++;
      row.min_us = std::min(row.min_us, k.delay_us);
      row.max_us = std::max(row.max_us, k.delay_us);
      if (RunKill(name, k, static_cast<int>(i), &row, &report))
        continue;
      if (row.failures++ < kShownFailures) {
        size_t at = report.rfind("\nlog ");
        ADD_FAILURE() << report << "\n" << Logs(report.substr(at + 5));
      } else {
        ADD_FAILURE() << report;
      }
    }
  }
  printf("\n%-12s %5s %15s %12s %8s %12s %12s\n", "transport", "kills",
         "left for sweep", "journal only", "failed", "min delay", "max delay");
  for (const auto &r : rows)
    printf("%-12s %5d %15d %12d %8d %9.1f ms %9.1f ms\n", r.first.c_str(),
           r.second.kills, r.second.for_sweep, r.second.journal_only,
           r.second.failures, r.second.min_us / 1000.0,
           r.second.max_us / 1000.0);
  if (!HasFailure())
    std::filesystem::remove_all(logs_);
}

} // namespace
} // namespace ipcb_test
