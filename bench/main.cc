// ipc_bench: how fast two processes exchange data, per IPC mechanism.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <list>
#include <string>
#include <vector>

#include "catalog.h"
#include "harness.h"
#include "ipcb/ipcb.h"
#include "outcome.h"

namespace {

// What killed runs left where no survivor could see it (see README,
// "Nothing left behind").
void SweepDeadRuns() {
  ipcb_sweep_report swept;
  if (ipcb_sweep_dead_runs(&swept) > 0 || swept.busy > 0)
    fprintf(stderr,
            "ipc_bench: removed %u object%s left by %u killed run%s%s\n",
            swept.removed, swept.removed == 1 ? "" : "s", swept.runs,
            swept.runs == 1 ? "" : "s",
            swept.busy ? "; some are still attached by a live process and "
                         "stay until a later start"
                       : "");
}

int Refuse(const std::string &error) {
  fprintf(stderr, "ipc_bench: %s\n", error.c_str());
  return 2;
}

// Google Benchmark's flags, the benchmarks and the run; the exit status: 2
// for bad input, 1 if a benchmark failed (see ReportOutcome), else 0.
int RunBenchmarks(int argc, char **argv, const ipcb::Flags &flags) {
  std::string error;
  std::list<std::string> storage;
  std::vector<char *> args = ipcb::AdaptBenchmarkFilter(argc, argv, &storage);
  if (!ipcb::CheckOutputFlags(args, &error) ||
      !ipcb::AdaptMinTime(&args, &storage, &error))
    return Refuse(error);
  argc = static_cast<int>(args.size()) - 1;
  benchmark::Initialize(&argc, args.data());
  if (benchmark::ReportUnrecognizedArguments(argc, args.data()))
    return 2;
  // Google Benchmark reports a filter that does not compile, or matches
  // nothing, and returns as if it had run: both are bad input here.
  ipcb::BenchmarkFilter filter;
  if (!ipcb::CompileFilter(benchmark::GetBenchmarkFilter(), &filter, &error))
    return Refuse(error);
  ipcb::AddContext(flags);
  ipcb::RegisterBenchmarks(flags);
  ipcb::RegisterBaselines(flags);
  size_t matched = benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (matched == 0)
    return Refuse(ipcb::WhyNothingMatched(
        ipcb::FilterAsGiven(benchmark::GetBenchmarkFilter()), filter, flags));
  return ipcb::ReportOutcome(flags.strict);
}

} // namespace

int main(int argc, char **argv) {
  // The peer is this same executable; it must never reach the benchmarks.
  int peer_status = ipcb_peer_main_if_requested(argc, argv);
  if (peer_status >= 0) {
    if (peer_status != 0)
      fprintf(stderr, "ipc_bench: %s\n", ipcb_peer_error());
    return peer_status;
  }

  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
      printf("ipc_bench: IPC round trips, streams and cold starts between "
             "two processes.\nipc_bench flags (each also read from IPC_*):\n"
             "  %s\n\nGoogle Benchmark flags:\n",
             ipcb::FlagsHelp());
  ipcb::Flags flags;
  std::string error;
  if (!ipcb::ParseFlags(&argc, argv, &flags, &error))
    return Refuse(error);
  SweepDeadRuns();
  if (flags.list) {
    ipcb::PrintTransportList();
    return 0;
  }
  if (!ipcb::ApplyPlacement(flags, &error) ||
      !ipcb::ApplyThreadClass(flags, &error))
    return Refuse(error);
  ipcb_install_cleanup_handlers();
  return RunBenchmarks(argc, argv, flags);
}
