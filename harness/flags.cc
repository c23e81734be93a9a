// The --ipc_* flags: parsed before Google Benchmark's, each with an IPC_*
// environment fallback, each bad value reported before anything runs.
#include <cstdlib>
#include <cstring>
#include <string>

#include "harness.h"
#include "ipcb/ipcb.h"

namespace ipcb {
namespace {

constexpr size_t kMaxSizes = 64;

bool ParseBool(const char *text, bool *out) {
  if (!strcmp(text, "") || !strcmp(text, "1") || !strcmp(text, "true")) {
    *out = true;
    return true;
  }
  if (!strcmp(text, "0") || !strcmp(text, "false")) {
    *out = false;
    return true;
  }
  return false;
}

// Applies one flag's value; `source` is "--ipc_x" or "IPC_X" for messages.
bool Apply(const std::string &name, const char *value,
           const std::string &source, Flags *flags, std::string *error) {
  char err[512] = "";
  if (name == "sizes") {
    size_t sizes[kMaxSizes], count = 0;
    if (ipcb_parse_sizes(value, sizes, kMaxSizes, &count, err, sizeof err)) {
      *error = source + ": " + err;
      return false;
    }
    flags->sizes.assign(sizes, sizes + count);
  } else if (name == "timeout") {
    if (ipcb_parse_duration(value, &flags->timeout_ns, err, sizeof err)) {
      *error = source + ": " + err;
      return false;
    }
  } else if (name == "verify" || name == "list") {
    bool *target = name == "verify" ? &flags->verify : &flags->list;
    if (!ParseBool(value, target)) {
      *error = source + ": '" + value + "': accepted: true, false, 1, 0 " +
               "or no value";
      return false;
    }
  } else {
    *error = "unknown flag " + source + "; accepted: " + FlagsHelp();
    return false;
  }
  return true;
}

} // namespace

std::vector<size_t> DefaultSizes() {
  return {12, 64, 512, 4 << 10, 64 << 10, 512 << 10, 4 << 20, 16 << 20};
}

const char *FlagsHelp() {
  return "--ipc_list, --ipc_sizes=12,4KiB,4MiB, --ipc_timeout=10s, "
         "--ipc_verify";
}

bool ParseFlags(int *argc, char **argv, Flags *flags, std::string *error) {
  flags->sizes = DefaultSizes();
  static const char *const kEnv[][2] = {{"sizes", "IPC_SIZES"},
                                        {"timeout", "IPC_TIMEOUT"},
                                        {"verify", "IPC_VERIFY"}};
  for (const auto &env : kEnv)
    if (const char *value = getenv(env[1]))
      if (!Apply(env[0], value, env[1], flags, error))
        return false;
  int kept = 1;
  for (int i = 1; i < *argc; i++) {
    const char *arg = argv[i];
    if (strncmp(arg, "--ipc_", 6) != 0) {
      argv[kept++] = argv[i];
      continue;
    }
    const char *eq = strchr(arg, '=');
    std::string name = eq ? std::string(arg + 6, eq) : std::string(arg + 6);
    std::string source = eq ? std::string(arg, eq) : std::string(arg);
    if (!Apply(name, eq ? eq + 1 : "", source, flags, error))
      return false;
  }
  *argc = kept;
  argv[kept] = nullptr;
  return true;
}

} // namespace ipcb
