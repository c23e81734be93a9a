// The failures of a run, recorded as each benchmark skips with its error.
#include "outcome.h"

#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ipcb/ipcb.h"

namespace ipcb {
namespace {

struct Outcome {
  std::string name, why;
  bool limit;
};

struct Record {
  std::mutex lock;
  std::vector<Outcome> outcomes; // in the order the benchmarks ran
  std::set<std::string> names;
};

Record &TheRecord() {
  static Record record;
  return record;
}

thread_local std::string current = "(unnamed benchmark)";

// One line each: a message over several lines would break the summary.
std::string OneLine(std::string text) {
  for (char &c : text)
    if (c == '\n' || c == '\r')
      c = ' ';
  return text;
}

void PrintGroup(const std::vector<const Outcome *> &group, const char *what,
                const char *note) {
  if (group.empty())
    return;
  fprintf(stderr, "ipc_bench: %zu benchmark%s %s%s:\n", group.size(),
          group.size() == 1 ? "" : "s", what, note);
  for (const Outcome *outcome : group)
    fprintf(stderr, "  %s: %s\n", outcome->name.c_str(), outcome->why.c_str());
}

} // namespace

Running::Running(const std::string &name) { current = name; }

Running::~Running() { current = "(unnamed benchmark)"; }

void Fail(benchmark::State &state, int code, const std::string &why) {
  state.SkipWithError(why.c_str());
  Record &record = TheRecord();
  std::lock_guard<std::mutex> hold(record.lock);
  if (record.names.insert(current).second)
    record.outcomes.push_back({current, OneLine(why), code == IPCB_ELIMIT});
}

int ReportOutcome(bool strict) {
  Record &record = TheRecord();
  std::lock_guard<std::mutex> hold(record.lock);
  std::vector<const Outcome *> failed, limited;
  for (const Outcome &outcome : record.outcomes)
    (outcome.limit ? limited : failed).push_back(&outcome);
  PrintGroup(failed, "failed", "");
  PrintGroup(limited, "refused by a limit",
             strict ? " (failures under --ipc_strict)"
                    : " (no failure without --ipc_strict)");
  return !failed.empty() || (strict && !limited.empty()) ? 1 : 0;
}

} // namespace ipcb
