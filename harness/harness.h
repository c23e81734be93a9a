// ipc_bench harness: the C registry turned into Google Benchmark benchmarks.
#ifndef IPCB_HARNESS_H
#define IPCB_HARNESS_H

#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <vector>

#include "ipcb/ipcb.h"

namespace ipcb {

// Values of the --ipc_* flags (or their IPC_* environment fallbacks).
struct Flags {
  std::vector<size_t> sizes;
  bool sizes_given = false; // ColdStart defaults to 12 B and 4 MiB only
  int64_t timeout_ns = IPCB_DEFAULT_TIMEOUT_NS;
  unsigned window = IPCB_DEFAULT_WINDOW;
  bool verify = false;
  bool list = false;
  bool strict = false; // --ipc_strict: a size a kernel limit refused fails
  bool pinned = false; // --ipc_cpus given: client_cpu and peer_cpu hold
  int client_cpu = -1, peer_cpu = -1;
  ipcb_qos qos = IPCB_QOS_PLATFORM; // --ipc_qos, both sides (macOS)
  std::string qos_source;           // "--ipc_qos" or "IPC_QOS" when given
};

// The design's default sizes: 12 B (the 2017 "Hello World") to 16 MiB.
std::vector<size_t> DefaultSizes();

// Removes the --ipc_* flags from argv and fills `flags`. On a bad value,
// returns false with a message naming the flag, the value and what is
// accepted (the caller exits with 2 before anything runs).
bool ParseFlags(int *argc, char **argv, Flags *flags, std::string *error);

// Every benchmark uses real time, so Google Benchmark appends "/real_time"
// to its name. So that --benchmark_filter='PingPong/.*/12$' (or the
// BENCHMARK_FILTER variable) still matches, each end anchor `$` of the
// filter also accepts that suffix. Returns the new argv (NULL-terminated);
// `storage` owns the rewritten strings.
std::vector<char *> AdaptBenchmarkFilter(int argc, char **argv,
                                         std::list<std::string> *storage);

// --benchmark_min_time (or the BENCHMARK_MIN_TIME variable) in the spelling
// the linked Google Benchmark takes: "0.5" or "0.5s" seconds either way,
// "100x" iterations from 1.8 on. False with a message naming the flag and
// what is accepted where neither spelling is valid. `args` is NULL-
// terminated; `storage` owns the rewritten strings.
// Checks Google Benchmark's output flags (formats, time unit, colour, the
// --benchmark_out file), whose own checks exit with 0 or 1: false with a
// message naming the flag and what is accepted.
bool CheckOutputFlags(const std::vector<char *> &args, std::string *error);

bool AdaptMinTime(std::vector<char *> *args, std::list<std::string> *storage,
                  std::string *error);

// The linked Google Benchmark's version, "1.7.1".
const char *BenchmarkLibraryVersion();

// The filter as the user wrote it, from what AdaptBenchmarkFilter made of it.
std::string FilterAsGiven(const std::string &adapted);

// The --ipc_* flags, for --help.
const char *FlagsHelp();

// Pins this thread (the benchmark thread) as --ipc_cpus asks. False with a
// message where the OS cannot pin.
bool ApplyPlacement(const Flags &flags, std::string *error);

// Gives this thread (the benchmark thread) the class of --ipc_qos, which
// every session gives both sides too. False with a message where the OS has
// no QoS classes and the flag was given.
bool ApplyThreadClass(const Flags &flags, std::string *error);

// "client=0 peer=1", or what is in force without pinning.
std::string PlacementText(const Flags &flags);

// Prints the transport table of --ipc_list to stdout.
void PrintTransportList();

// Registers every family for every available transport and size.
void RegisterBenchmarks(const Flags &flags);

// Registers Baseline/Null, Baseline/CacheLine and Baseline/Memcpy/<bytes>.
void RegisterBaselines(const Flags &flags);

// Machine, kernel limits and build facts for the JSON context.
void AddContext(const Flags &flags);

} // namespace ipcb

#endif // IPCB_HARNESS_H
