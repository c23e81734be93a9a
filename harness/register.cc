// Registers <Family>/<Transport>/<bytes> for every available transport.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "harness.h"
#include "session.h"

namespace ipcb {
namespace {

// One benchmark run: a peer started here, one untimed warm-up round trip,
// then the timed loop. Any failure skips this benchmark only.
void RunPingPong(benchmark::State &state, const ipcb_transport *transport,
                 size_t bytes, const Flags &flags) {
  ipcb_options options{};
  options.pattern = IPCB_PINGPONG;
  options.bytes = bytes;
  options.timeout_ns = flags.timeout_ns;
  options.verify = flags.verify;
  Session session(transport, options);
  if (!session.ok() || !session.Step(ipcb_pingpong)) {
    state.SkipWithError(session.error().c_str());
    return;
  }
  for (auto _ : state) {
    if (!session.Step(ipcb_pingpong)) {
      state.SkipWithError(session.error().c_str());
      break;
    }
  }
  // Both directions carry `bytes`, so a round trip moves 2 * bytes.
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 2 *
                          static_cast<int64_t>(bytes));
  std::string label = ipcb_session_label(session.get());
  if (!label.empty())
    state.SetLabel(label);
}

bool Available(const ipcb_transport *transport, std::string *why) {
  char text[512] = "";
  if (!transport->probe || transport->probe(text, sizeof text) == 0)
    return true;
  *why = text;
  return false;
}

} // namespace

void RegisterBenchmarks(const Flags &flags) {
  for (size_t i = 0; i < ipcb_transport_count(); i++) {
    const ipcb_transport *transport = ipcb_transport_at(i);
    std::string why;
    if (transport->caps & IPCB_CAP_BASELINE)
      continue;
    if (!Available(transport, &why)) {
      fprintf(stderr, "ipc_bench: %s is not available here: %s\n",
              transport->name, why.c_str());
      continue;
    }
    for (size_t bytes : flags.sizes) {
      std::string name = "PingPong/" + std::string(transport->name) + "/" +
                         std::to_string(bytes);
      benchmark::RegisterBenchmark(name.c_str(), [transport, bytes, flags](
                                                     benchmark::State &state) {
        RunPingPong(state, transport, bytes, flags);
      })->UseRealTime();
    }
  }
}

void PrintTransportList() {
  printf("%-16s %-11s %-12s %s\n", "transport", "status", "limit", "summary");
  for (size_t i = 0; i < ipcb_transport_count(); i++) {
    const ipcb_transport *transport = ipcb_transport_at(i);
    std::string why;
    bool available = Available(transport, &why);
    char limit[32] = "none";
    size_t max = transport->max_message ? transport->max_message() : 0;
    if (max && max < (size_t)1 << 60) // Linux's default shmmax is ~2^64
      ipcb_format_size(max, limit, sizeof limit);
    printf("%-16s %-11s %-12s %s%s\n", transport->name,
           available ? "available" : "unavailable", limit, transport->summary,
           (transport->caps & IPCB_CAP_CHUNKED) && max
               ? " (chunked above the limit)"
               : "");
    if (!available)
      printf("%-16s   why: %s\n", "", why.c_str());
  }
}

} // namespace ipcb
