// Google Benchmark's output flags, checked before it sees them: its own
// checks end the program with status 0 (a format or time unit it does not
// know, an empty --benchmark_color) or 1 (an --benchmark_out it cannot
// open), which a CI job would read as "ran" or as "a benchmark failed".
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "harness.h"

namespace ipcb {
namespace {

struct Choice {
  const char *flag;
  std::vector<std::string> accepted;
};

const Choice kChoices[] = {
    {"--benchmark_format", {"console", "json", "csv"}},
    {"--benchmark_out_format", {"console", "json", "csv"}},
    {"--benchmark_time_unit", {"ns", "us", "ms", "s"}},
};

// The value of `--flag=value` in `arg`, or nullptr for another argument.
const char *ValueOf(const char *arg, const char *flag) {
  size_t len = strlen(flag);
  return strncmp(arg, flag, len) == 0 && arg[len] == '=' ? arg + len + 1
                                                         : nullptr;
}

bool CheckChoice(const char *arg, std::string *error) {
  for (const Choice &choice : kChoices) {
    const char *value = ValueOf(arg, choice.flag);
    if (!value)
      continue;
    std::string list;
    for (const std::string &accepted : choice.accepted) {
      if (accepted == value)
        return true;
      list += (list.empty() ? "" : ", ") + accepted;
    }
    *error =
        std::string(choice.flag) + ": '" + value + "' is not one of " + list;
    return false;
  }
  return true;
}

} // namespace

bool CheckOutputFlags(const std::vector<char *> &args, std::string *error) {
  for (const char *arg : args) {
    if (!arg || !CheckChoice(arg, error))
      return arg == nullptr;
    if (const char *color = ValueOf(arg, "--benchmark_color")) {
      if (!*color) {
        *error = "--benchmark_color: empty; accepted: auto, true or false";
        return false;
      }
    }
    const char *out = ValueOf(arg, "--benchmark_out");
    if (!out || !*out)
      continue;
    // Appending creates the file as Google Benchmark would, and keeps what
    // it holds until Google Benchmark truncates it.
    FILE *file = fopen(out, "a");
    if (!file) {
      *error = std::string("--benchmark_out: cannot write '") + out +
               "': " + strerror(errno);
      return false;
    }
    fclose(file);
  }
  return true;
}

} // namespace ipcb
