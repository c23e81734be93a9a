// The --ipc_* flags: parsed before Google Benchmark's, each with an IPC_*
// environment fallback, each bad value reported before anything runs.
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <string>
#include <vector>

#include "harness.h"
#include "ipcb/ipcb.h"

namespace ipcb {
namespace {

constexpr size_t kMaxSizes = 64;

// "C,P", "same" (both on the first allowed CPU) or "split" (the first two).
bool ParseCpus(const char *text, Flags *flags, std::string *why) {
  int allowed[1024];
  int n = ipcb_allowed_cpus(allowed, 1024);
  if (n <= 0) {
    *why = "cannot read the allowed CPUs";
    return false;
  }
  int client = -1, peer = -1;
  char extra;
  if (!strcmp(text, "same")) {
    client = peer = allowed[0];
  } else if (!strcmp(text, "split")) {
    if (n < 2) {
      *why = "'split' needs two allowed CPUs, this process has one";
      return false;
    }
    client = allowed[0], peer = allowed[1];
  } else if (sscanf(text, "%d,%d%c", &client, &peer, &extra) != 2) {
    *why = "not of the form C,P";
    return false;
  }
  for (int cpu : {client, peer}) {
    bool ok = false;
    for (int i = 0; i < n; i++)
      ok = ok || allowed[i] == cpu;
    if (!ok) {
      *why = "CPU " + std::to_string(cpu) + " is not one this process may use";
      return false;
    }
  }
  flags->pinned = true;
  flags->client_cpu = client;
  flags->peer_cpu = peer;
  return true;
}

// QoS class names as macOS documents them (pthread/qos.h), without the
// QOS_CLASS_ prefix.
const struct {
  const char *name;
  ipcb_qos qos;
} kQosClasses[] = {{"user-interactive", IPCB_QOS_USER_INTERACTIVE},
                   {"user-initiated", IPCB_QOS_USER_INITIATED},
                   {"default", IPCB_QOS_DEFAULT},
                   {"utility", IPCB_QOS_UTILITY},
                   {"background", IPCB_QOS_BACKGROUND}};

const char *QosName(ipcb_qos qos) {
  for (const auto &entry : kQosClasses)
    if (entry.qos == qos)
      return entry.name;
  return "user-interactive"; // IPCB_QOS_PLATFORM, as macOS applies it
}

// A bare --ipc_verify arrives as "true"; an empty value is refused, since
// "--ipc_verify=" more likely lost its value than meant yes.
bool ParseBool(const char *text, bool *out) {
  if (!strcmp(text, "1") || !strcmp(text, "true")) {
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
    flags->sizes_given = true;
  } else if (name == "timeout") {
    if (ipcb_parse_duration(value, &flags->timeout_ns, err, sizeof err)) {
      *error = source + ": " + err;
      return false;
    }
  } else if (name == "window") {
    char *end = nullptr;
    unsigned long w = strtoul(value, &end, 10);
    if (!isdigit(static_cast<unsigned char>(value[0])) || *end || w < 1 ||
        w > 1024) {
      *error = source + ": '" + value + "': accepted: a whole number of " +
               "messages per acknowledgement, 1 to 1024";
      return false;
    }
    flags->window = static_cast<unsigned>(w);
  } else if (name == "cpus") {
    std::string why;
    if (!ParseCpus(value, flags, &why)) {
      *error = source + ": '" + value + "': " + why + "; accepted: C,P " +
               "(client CPU, peer CPU), same, or split";
      return false;
    }
  } else if (name == "qos") {
    bool ok = false;
    for (const auto &entry : kQosClasses)
      if (!strcmp(value, entry.name)) {
        flags->qos = entry.qos;
        flags->qos_source = source;
        ok = true;
      }
    if (!ok) {
      *error = source + ": '" + value + "': accepted: user-interactive, " +
               "user-initiated, default, utility, background";
      return false;
    }
  } else if (name == "verify" || name == "list" || name == "strict") {
    bool *target = name == "verify" ? &flags->verify
                   : name == "list" ? &flags->list
                                    : &flags->strict;
    if (!ParseBool(value, target)) {
      *error = source + ": '" + value + "': accepted: true, false, 1, 0, " +
               "or the bare flag for true";
      return false;
    }
  } else {
    *error = "unknown flag " + source + "; accepted: " + FlagsHelp();
    return false;
  }
  return true;
}

// Rewrites every end anchor `$` of a regex (not `\$`, not inside [...]) as
// `(/real_time)?$`.
std::string AnchorAcceptsSuffix(const std::string &regex) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < regex.size(); i++) {
    char c = regex[i];
    if (c == '\\' && i + 1 < regex.size()) {
      out += c;
      out += regex[++i];
      continue;
    }
    if (c == '[')
      in_class = true;
    else if (c == ']')
      in_class = false;
    if (c == '$' && !in_class)
      out += "(/real_time)?";
    out += c;
  }
  return out;
}

} // namespace

std::vector<char *> AdaptBenchmarkFilter(int argc, char **argv,
                                         std::list<std::string> *storage) {
  static const char kFlag[] = "--benchmark_filter=";
  std::vector<char *> args(argv, argv + argc);
  bool given = false;
  for (char *&arg : args) {
    if (strncmp(arg, kFlag, sizeof kFlag - 1) != 0)
      continue;
    given = true;
    storage->push_back(kFlag + AnchorAcceptsSuffix(arg + sizeof kFlag - 1));
    arg = &storage->back()[0];
  }
  // Google Benchmark read BENCHMARK_FILTER before main(); pass it as a flag.
  const char *env = getenv("BENCHMARK_FILTER");
  if (!given && env) {
    storage->push_back(kFlag + AnchorAcceptsSuffix(env));
    args.push_back(&storage->back()[0]);
  }
  args.push_back(nullptr);
  return args;
}

std::string FilterAsGiven(const std::string &adapted) {
  static const std::string kSuffix = "(/real_time)?";
  std::string out = adapted;
  for (size_t at = out.find(kSuffix); at != std::string::npos;
       at = out.find(kSuffix, at))
    out.erase(at, kSuffix.size());
  return out;
}

std::vector<size_t> DefaultSizes() {
  return {12, 64, 512, 4 << 10, 64 << 10, 512 << 10, 4 << 20, 16 << 20};
}

const char *FlagsHelp() {
  return "--ipc_list, --ipc_sizes=12,4KiB,4MiB, --ipc_timeout=10s, "
         "--ipc_window=64, --ipc_cpus=C,P|same|split, "
         "--ipc_qos=user-interactive|user-initiated|default|utility|"
         "background, --ipc_verify, --ipc_strict (a size a kernel limit "
         "refuses fails the run)";
}

bool ApplyPlacement(const Flags &flags, std::string *error) {
  if (!flags.pinned)
    return true;
  int rc = ipcb_pin_self(flags.client_cpu);
  if (rc == -ENOTSUP) {
    *error = "--ipc_cpus: this OS has no thread pinning; the QoS class "
             "(--ipc_qos, user-interactive by default) places both sides "
             "instead (drop the flag)";
    return false;
  }
  if (rc != 0) {
    *error = "--ipc_cpus: cannot pin to CPU " +
             std::to_string(flags.client_cpu) + ": " + ipcb_code_name(rc);
    return false;
  }
  return true;
}

bool ApplyThreadClass(const Flags &flags, std::string *error) {
  int rc = ipcb_set_thread_class(flags.qos);
  if (rc == 0)
    return true;
  std::string source =
      flags.qos_source.empty() ? "--ipc_qos" : flags.qos_source;
  if (rc == -ENOTSUP)
    *error = source + ": '" + QosName(flags.qos) + "': this OS has no QoS " +
             "classes; place the two processes with --ipc_cpus instead " +
             "(drop the flag)";
  else
    *error = source + ": cannot set QoS class " + QosName(flags.qos) + ": " +
             ipcb_code_name(rc);
  return false;
}

std::string PlacementText(const Flags &flags) {
  if (!flags.pinned)
    return "not pinned";
  return "client=" + std::to_string(flags.client_cpu) +
         " peer=" + std::to_string(flags.peer_cpu);
}

bool ParseFlags(int *argc, char **argv, Flags *flags, std::string *error) {
  flags->sizes = DefaultSizes();
  struct Given {
    std::string name, value, source;
  };
  std::vector<Given> given;
  int kept = 1;
  for (int i = 1; i < *argc; i++) {
    const char *arg = argv[i];
    if (strncmp(arg, "--ipc_", 6) != 0) {
      argv[kept++] = argv[i];
      continue;
    }
    const char *eq = strchr(arg, '=');
    std::string name = eq ? std::string(arg + 6, eq) : std::string(arg + 6);
    bool bare_bool =
        !eq && (name == "verify" || name == "list" || name == "strict");
    given.push_back({name,
                     eq          ? eq + 1
                     : bare_bool ? "true"
                                 : "",
                     eq ? std::string(arg, eq) : std::string(arg)});
  }
  *argc = kept;
  argv[kept] = nullptr;
  // The environment fills in what the command line left out; an empty
  // variable counts as unset.
  static const char *const kEnv[][2] = {
      {"sizes", "IPC_SIZES"},   {"timeout", "IPC_TIMEOUT"},
      {"window", "IPC_WINDOW"}, {"cpus", "IPC_CPUS"},
      {"qos", "IPC_QOS"},       {"verify", "IPC_VERIFY"},
      {"strict", "IPC_STRICT"}};
  for (const auto &env : kEnv) {
    const char *value = getenv(env[1]);
    bool overridden = false;
    for (const Given &flag : given)
      overridden = overridden || flag.name == env[0];
    if (value && *value && !overridden &&
        !Apply(env[0], value, env[1], flags, error))
      return false;
  }
  for (const Given &flag : given)
    if (!Apply(flag.name, flag.value.c_str(), flag.source, flags, error))
      return false;
  return true;
}

} // namespace ipcb
