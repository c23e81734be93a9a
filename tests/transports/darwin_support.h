// Helpers shared by the macOS transports' tests: the registry's lookup, the
// peer's argv and the bootstrap namespace, a peer killed at random moments,
// and a stranger at the Mach rendezvous.
#ifndef IPCB_TESTS_DARWIN_SUPPORT_H
#define IPCB_TESTS_DARWIN_SUPPORT_H

#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "../support.h"
#include "intruder_darwin.h"

namespace ipcb_test {

// The transport of that name, with a failure where the registry has none.
const ipcb_transport *Find(const char *name);

// The peer's argv as the kernel keeps it (KERN_PROCARGS2: argc, the exec
// path, padding, then the arguments).
std::vector<std::string> ArgsOf(pid_t pid);

// Whether the user's bootstrap namespace has the name now.
bool Registered(const std::string &name);

// launchd deletes a name once it has taken its port's death notice, which
// is asynchronous: a name still there after a second has stayed.
bool StillRegistered(const std::string &name);

// 20 sessions of `transport`, of bytes(trial) each: after one round trip,
// the peer is SIGKILLed 0 to 20 ms later (the delays drawn from `seed`)
// while round trips go on, and the one that fails must report a dead peer,
// not an I/O error. With `reported_within`, the failure must also come
// within that time of the kill.
void ExpectRandomKillsReportedAsDead(
    const ipcb_transport *transport, unsigned seed,
    const std::function<size_t(int trial)> &bytes,
    std::optional<std::chrono::microseconds> reported_within = std::nullopt);

// A stranger's trial at `transport`'s rendezvous (intruder_darwin.h): it is
// staged, the real peer attaches and exchanges, and the stranger is never
// answered. What stays registered is in `trial`, for the caller to check.
void ExpectStrangerNeverAnswered(const char *transport, const char *mode,
                                 intruder_trial *trial);

} // namespace ipcb_test

#endif // IPCB_TESTS_DARWIN_SUPPORT_H
