// Every platform's transports, not only the ones built here: what a filter
// naming another platform's transport is told, and what --ipc_list shows.
#ifndef IPCB_HARNESS_CATALOG_H
#define IPCB_HARNESS_CATALOG_H

#include <regex.h>

#include <memory>
#include <string>
#include <vector>

#include "harness.h"

namespace ipcb {

enum Platform : unsigned { kLinux = 1u << 0, kMacOS = 1u << 1 };
constexpr unsigned kBoth = kLinux | kMacOS;

struct KnownTransport {
  const char *name;
  unsigned platforms; // Platform bits of the folders it builds from
};

// Every transport of src/transports/{posix,linux,darwin,baseline}.
const std::vector<KnownTransport> &AllTransports();

// "Linux" or "macOS".
const char *PlatformName(unsigned platform);

// The platform this binary was built for.
unsigned ThisPlatform();

// The nearest mechanism on the other platform ("MemfdSeal" for MachOOL), or
// nullptr where none is named.
const char *ClosestElsewhere(const char *transport);

// Google Benchmark's filter as it matches: a leading '-' negates, "" and
// "all" match everything. POSIX extended syntax, which is what Google
// Benchmark compiles (std::regex::extended, or regcomp with REG_EXTENDED);
// regcomp here, since gcc 12 warns inside libstdc++'s std::regex at -O1.
struct BenchmarkFilter {
  std::shared_ptr<regex_t> regex;
  bool negative = false;
  bool Matches(const std::string &name) const;
};

// Compiles `spec`; false with a message naming the flag and what is accepted
// where it is no regular expression.
bool CompileFilter(const std::string &spec, BenchmarkFilter *filter,
                   std::string *error);

// Why `filter` (which matched no benchmark) matched nothing: the transports
// of another platform or not available here that it names, with the closest
// one of this platform.
std::string WhyNothingMatched(const std::string &spec,
                              const BenchmarkFilter &filter,
                              const Flags &flags);

// The rows of --ipc_list for the other platform's transports.
void PrintOtherPlatforms();

} // namespace ipcb

#endif // IPCB_HARNESS_CATALOG_H
