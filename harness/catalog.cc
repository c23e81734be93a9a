// Every platform's transports, and what a filter that ran nothing named.
#include "catalog.h"

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "ipcb/ipcb.h"

namespace ipcb {
namespace {

// The mechanism of the other platform that does the same job the nearest
// way: page remapping for page remapping, a datagram for a message, shared
// memory with the wake-up the other kernel offers.
const struct {
  const char *transport, *closest;
} kClosest[] = {{"MachOOL", "MemfdSeal"},
                {"MachOOLPhysical", "MemfdSeal"},
                {"MachMsg", "UnixDgram"},
                {"MachShm", "PosixShm"},
                {"MachSemaphore", "PosixShm"},
                {"ShmUlock", "ShmFutex"},
                {"CFMessagePort", "UnixDgram"},
                {"CFMachPort", "UnixDgram"},
                {"XPC", "UnixStream"},
                {"MemfdSeal", "MachOOL"},
                {"ShmFutex", "ShmUlock"},
                {"ShmEventfd", "ShmUlock"},
                {"CMA", "MachOOL"},
                {"Vmsplice", "MachOOL"},
                {"PosixMQ", "MachMsg"}};

// "A", "A and B", "A, B and C".
std::string JoinNames(const std::vector<std::string> &names) {
  std::string out;
  for (size_t i = 0; i < names.size(); i++) {
    if (i > 0)
      out += i + 1 == names.size() ? " and " : ", ";
    out += names[i];
  }
  return out;
}

// The names `transport` would have here (sizes of this run, and ColdStart's
// defaults), as Google Benchmark matches them: with the /real_time suffix.
bool FilterNames(const BenchmarkFilter &filter, const std::string &transport,
                 const Flags &flags) {
  std::vector<size_t> sizes = flags.sizes;
  sizes.push_back(12);
  sizes.push_back(4 << 20);
  if (filter.Matches("Baseline/" + transport + "/real_time"))
    return true;
  for (const char *family : {"PingPong", "Stream", "ColdStart"})
    for (size_t bytes : sizes)
      if (filter.Matches(std::string(family) + "/" + transport + "/" +
                         std::to_string(bytes) + "/real_time"))
        return true;
  return false;
}

// "MachOOL and MachOOLPhysical exist on macOS only; on Linux the closest is
// MemfdSeal", or with several: "the closest to A is X, to B and C is Y".
std::string ElsewhereText(const std::vector<std::string> &names) {
  std::string here = PlatformName(ThisPlatform());
  std::string text = JoinNames(names) +
                     (names.size() == 1 ? " exists on " : " exist on ") +
                     PlatformName(kBoth & ~ThisPlatform()) + " only";
  std::map<std::string, std::vector<std::string>> by_closest;
  for (const std::string &name : names)
    if (const char *closest = ClosestElsewhere(name.c_str()))
      by_closest[closest].push_back(name);
  if (by_closest.size() == 1)
    return text + "; on " + here + " the closest is " +
           by_closest.begin()->first;
  std::string sep = "; on " + here + " the closest to ";
  for (const auto &entry : by_closest) {
    text += sep + JoinNames(entry.second) + " is " + entry.first;
    sep = ", to ";
  }
  return text;
}

} // namespace

const std::vector<KnownTransport> &AllTransports() {
  static const std::vector<KnownTransport> all = {
#include "transport_catalog.inc"
  };
  return all;
}

const char *PlatformName(unsigned platform) {
  return platform == kMacOS ? "macOS" : "Linux";
}

unsigned ThisPlatform() { return IPCB_THIS_PLATFORM; }

const char *ClosestElsewhere(const char *transport) {
  for (const auto &entry : kClosest)
    if (!strcmp(entry.transport, transport))
      return entry.closest;
  return nullptr;
}

bool BenchmarkFilter::Matches(const std::string &name) const {
  return (regexec(regex.get(), name.c_str(), 0, nullptr, 0) == 0) != negative;
}

bool CompileFilter(const std::string &spec, BenchmarkFilter *filter,
                   std::string *error) {
  std::string text = spec;
  filter->negative = !text.empty() && text[0] == '-';
  if (filter->negative)
    text.erase(0, 1);
  if (text.empty() || text == "all")
    text = ".";
  regex_t *compiled = new regex_t;
  int rc = regcomp(compiled, text.c_str(), REG_EXTENDED | REG_NOSUB);
  if (rc != 0) {
    char why[256];
    regerror(rc, compiled, why, sizeof why);
    delete compiled;
    *error = "--benchmark_filter: '" + FilterAsGiven(spec) +
             "' is no regular expression (" + why +
             "); accepted: an extended regular expression, " +
             "'-' before it for the benchmarks it does not match";
    return false;
  }
  filter->regex = std::shared_ptr<regex_t>(compiled, [](regex_t *r) {
    regfree(r);
    delete r;
  });
  return true;
}

std::string WhyNothingMatched(const std::string &spec,
                              const BenchmarkFilter &filter,
                              const Flags &flags) {
  std::vector<std::string> elsewhere, unavailable;
  for (const KnownTransport &known : AllTransports()) {
    if (!FilterNames(filter, known.name, flags))
      continue;
    const ipcb_transport *here = ipcb_transport_find(known.name);
    const char *why = "";
    if (!(known.platforms & ThisPlatform()))
      elsewhere.push_back(known.name);
    else if (here && ipcb_transport_probe(here, &why) != 0)
      unavailable.push_back(known.name);
  }
  std::string text = "--benchmark_filter: '" + spec + "' matches no benchmark";
  if (!elsewhere.empty())
    text += ": " + ElsewhereText(elsewhere);
  if (!unavailable.empty())
    text += (elsewhere.empty() ? ": " : "; ") + JoinNames(unavailable) +
            (unavailable.size() == 1 ? " is" : " are") +
            " not available here (see why above)";
  if (elsewhere.empty() && unavailable.empty())
    text += "; accepted: a regular expression matching a name that "
            "--benchmark_list_tests prints";
  return text;
}

void PrintOtherPlatforms() {
  unsigned here = ThisPlatform();
  std::string status = std::string(PlatformName(kBoth & ~here)) + " only";
  for (const KnownTransport &known : AllTransports()) {
    if (known.platforms & here)
      continue;
    const char *closest = ClosestElsewhere(known.name);
    printf("%-16s %-11s %-12s %s%s\n", known.name, status.c_str(), "-",
           closest ? "closest here: " : "", closest ? closest : "");
  }
}

} // namespace ipcb
