// The benchmark families: PingPong, Stream and ColdStart.
#ifndef IPCB_HARNESS_FAMILIES_H
#define IPCB_HARNESS_FAMILIES_H

#include <benchmark/benchmark.h>

#include <string>

#include "harness.h"
#include "ipcb/ipcb.h"

namespace ipcb {

ipcb_options Options(const Flags &flags, ipcb_pattern pattern, size_t bytes);

void RunPingPong(benchmark::State &state, const ipcb_transport *transport,
                 size_t bytes, const Flags &flags);
// The same, with `label` at the head of the result's label (the baselines).
void RunPingPongLabelled(benchmark::State &state,
                         const ipcb_transport *transport, size_t bytes,
                         const Flags &flags, const std::string &label);
void RunStream(benchmark::State &state, const ipcb_transport *transport,
               size_t bytes, const Flags &flags);
void RunColdStart(benchmark::State &state, const ipcb_transport *transport,
                  size_t bytes, const Flags &flags);

} // namespace ipcb

#endif // IPCB_HARNESS_FAMILIES_H
