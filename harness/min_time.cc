// --benchmark_min_time in either spelling on every Google Benchmark release:
// 1.7 takes seconds without a suffix and refuses "0.5s" as an unknown flag;
// 1.8 and later take "0.5s" or an iteration count "100x", and a bare "0.5"
// with a warning on every benchmark. The value is rewritten to what the
// linked release takes, and one neither takes is refused before anything
// runs.
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <list>
#include <string>
#include <vector>

#include "harness.h"

namespace ipcb {
namespace {

constexpr bool kTakesSuffix = IPCB_BENCHMARK_MAJOR > 1 ||
                              (IPCB_BENCHMARK_MAJOR == 1 &&
                               IPCB_BENCHMARK_MINOR >= 8);

// Seconds as strtod reads them, whole, finite and not negative.
bool ParseSeconds(const std::string &text, double *seconds) {
  if (text.empty() || isspace(static_cast<unsigned char>(text[0])))
    return false;
  char *end = nullptr;
  errno = 0;
  *seconds = strtod(text.c_str(), &end);
  return errno == 0 && *end == '\0' && std::isfinite(*seconds) && *seconds >= 0;
}

// "100x": a whole number of iterations, at least 1.
bool IsIterationCount(const std::string &text) {
  if (text.size() < 2 || text.back() != 'x')
    return false;
  for (size_t i = 0; i + 1 < text.size(); i++)
    if (!isdigit(static_cast<unsigned char>(text[i])))
      return false;
  return strtoull(text.c_str(), nullptr, 10) > 0;
}

// The value in the linked release's spelling, or false with why.
bool Rewrite(const std::string &value, const std::string &source,
             std::string *out, std::string *error) {
  const std::string accepted = std::string("; accepted: seconds (0.5 or ") +
                               "0.5s)" +
                               (kTakesSuffix ? " or iterations (100x)" : "");
  double seconds = 0;
  if (IsIterationCount(value)) {
    if (!kTakesSuffix) {
      *error = source + ": '" + value + "': an iteration count needs " +
               "Google Benchmark 1.8 or later, this build links " +
               IPCB_BENCHMARK_VERSION + accepted;
      return false;
    }
    *out = value;
    return true;
  }
  bool suffix = !value.empty() && value.back() == 's';
  std::string number = suffix ? value.substr(0, value.size() - 1) : value;
  if (!ParseSeconds(number, &seconds)) {
    *error = source + ": '" + value + "': not a duration" + accepted;
    return false;
  }
  *out = kTakesSuffix ? number + "s" : number;
  return true;
}

} // namespace

bool AdaptMinTime(std::vector<char *> *args, std::list<std::string> *storage,
                  std::string *error) {
  static const char kFlag[] = "--benchmark_min_time=";
  const size_t len = sizeof kFlag - 1;
  bool given = false;
  std::string value;
  for (char *&arg : *args) {
    if (!arg || strncmp(arg, kFlag, len) != 0)
      continue;
    given = true;
    if (!Rewrite(arg + len, "--benchmark_min_time", &value, error))
      return false;
    storage->push_back(kFlag + value);
    arg = &storage->back()[0];
  }
  // Google Benchmark read BENCHMARK_MIN_TIME before main(): a flag, which
  // overrides it, passes the value in the spelling it takes. The variable
  // is rewritten too: each peer is this executable, and 1.7 complains of a
  // suffix at every start.
  const char *env = getenv("BENCHMARK_MIN_TIME");
  if (!given && env && !*env) {
    // Empty counts as unset, but Google Benchmark read it as 0 s: its
    // default (0.5 s in every release) is passed back.
    storage->push_back(std::string(kFlag) + (kTakesSuffix ? "0.5s" : "0.5"));
    args->insert(args->end() - 1, &storage->back()[0]);
    unsetenv("BENCHMARK_MIN_TIME");
    return true;
  }
  if (!given && env && *env) {
    if (!Rewrite(env, "BENCHMARK_MIN_TIME", &value, error))
      return false;
    storage->push_back(kFlag + value);
    args->insert(args->end() - 1, &storage->back()[0]);
    given = true;
  }
  if (given)
    setenv("BENCHMARK_MIN_TIME", value.c_str(), 1);
  return true;
}

const char *BenchmarkLibraryVersion() { return IPCB_BENCHMARK_VERSION; }

} // namespace ipcb
