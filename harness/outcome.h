// What failed in a run, kept by the harness itself so that the exit status
// says it whatever Google Benchmark release reports the results.
#ifndef IPCB_HARNESS_OUTCOME_H
#define IPCB_HARNESS_OUTCOME_H

#include <benchmark/benchmark.h>

#include <string>

namespace ipcb {

// While it lives, the benchmark running on this thread is `name`: what
// Fail() records is filed under it. Google Benchmark 1.7's State has no
// name() of its own.
class Running {
public:
  explicit Running(const std::string &name);
  ~Running();
  Running(const Running &) = delete;
  Running &operator=(const Running &) = delete;
};

// SkipWithError(why), recorded once per benchmark name (Google Benchmark
// runs a benchmark several times to size its iteration count). `code` is
// the ipcb code: IPCB_ELIMIT is a size a kernel limit refused.
void Fail(benchmark::State &state, int code, const std::string &why);

// After the run: one line per benchmark that failed or met a limit, on
// stderr. Returns the exit status: 1 if any failed, or met a limit with
// `strict`, else 0.
int ReportOutcome(bool strict);

} // namespace ipcb

#endif // IPCB_HARNESS_OUTCOME_H
