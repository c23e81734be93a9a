// libFuzzer target for everything that parses user input: --ipc_sizes,
// --ipc_timeout and the whole --ipc_* flag parser.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "harness.h"
#include "ipcb/ipcb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  text = text.substr(0, strlen(text.c_str())); // argv strings end at NUL
  char err[512];
  size_t sizes[64], count = 0;
  if (ipcb_parse_sizes(text.c_str(), sizes, 64, &count, err, sizeof err) == 0)
    for (size_t i = 0; i < count; i++)
      if (sizes[i] == 0 || sizes[i] > IPCB_SIZE_MAX_BYTES)
        __builtin_trap(); // accepted a size outside the documented range
  int64_t ns = 0;
  if (ipcb_parse_duration(text.c_str(), &ns, err, sizeof err) == 0 &&
      (ns < 1000000 || ns > 3600LL * 1000000000LL))
    __builtin_trap();
  // The flag parser, with the input as the value of each flag.
  for (const char *flag :
       {"--ipc_sizes=", "--ipc_timeout=", "--ipc_window=", "--ipc_cpus=",
        "--ipc_qos=", "--ipc_verify=", "--ipc_"}) {
    std::string arg = flag + text;
    std::vector<char> storage(arg.begin(), arg.end());
    storage.push_back('\0');
    char name[] = "ipc_bench";
    char *argv[] = {name, storage.data(), nullptr};
    int argc = 2;
    ipcb::Flags flags;
    std::string error;
    if (!ipcb::ParseFlags(&argc, argv, &flags, &error) && error.empty())
      __builtin_trap(); // a refusal must say why
  }
  return 0;
}
