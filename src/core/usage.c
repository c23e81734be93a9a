/* What the counted exchanges cost both sides: each side's counters read
 * before the first exchange and after the last.
 *
 * The peer serves until it is killed and cannot tell where the timed loop
 * starts or ends; having it read its own counters would put calls inside
 * that loop. So the client reads the peer's from outside (usage_<os>.c), at
 * the two points only the client knows, and reads them once the peer has
 * blocked waiting for its next message. A blocked peer's counters stand
 * still, and the kernel brings a thread's CPU time up to date when it leaves
 * the CPU, so both reads fall between the same two points of the peer's
 * loop: exact, whatever the payload, and after a Stream loop they include
 * the messages still queued to the peer.
 *
 * A peer that spins (IPCB_CAP_SPINS) never blocks: it is read at once, late
 * by at most the time since its last sched_yield, about 40 us (kit/spin.h).
 * After a Stream loop that leaves out the messages of the last window still
 * on their way, at most window - 1 of them: 3 of about 1000 for ShmSpin at
 * 4 MiB in a 0.5 s loop, 0.3%.
 *
 * The client reads its own counters innermost, so that neither the waits
 * nor the reads of the peer count as the client's. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core.h"

/* How long a blocking peer may take to block once the loop is over: its
 * tail of the exchange (a release, the next receive) takes microseconds;
 * after a Stream loop, the messages still queued to it, at most one window
 * of 16 MiB, take milliseconds. A peer still running after a second is
 * left uncounted rather than counted short. */
#define SETTLE_NS (1000 * 1000 * 1000LL)
#define SETTLE_NAP_NS (20 * 1000)

static int read_peer(pid_t pid, int spins, ipcb_usage *out, char *err,
                     size_t len) {
  int on_cpu = 0;
  int rc = ipcb__usage_of(pid, out, &on_cpu);
  int64_t end = ipcb_now_ns() + SETTLE_NS;
  while (!rc && on_cpu && !spins) {
    if (ipcb_now_ns() >= end) {
      ipcb__set_err(err, len,
                    "the peer (pid %d) was still running %.3g s after the "
                    "loop: its counters are left out",
                    (int)pid, (double)SETTLE_NS / 1e9);
      return -EBUSY;
    }
    /* A nap, not a spin: on one CPU the peer needs it to finish. */
    struct timespec nap = {0, SETTLE_NAP_NS};
    nanosleep(&nap, NULL);
    rc = ipcb__usage_of(pid, out, &on_cpu);
  }
  if (rc)
    ipcb__set_err(err, len, "cannot read the peer's (pid %d) counters: %s",
                  (int)pid, ipcb_errno_name(-rc));
  return rc;
}

int ipcb__cost_start(pid_t peer, int spins, ipcb_cost_mark *m, char *err,
                     size_t len) {
  memset(m, 0, sizeof *m);
  int rc = read_peer(peer, spins, &m->peer, err, len);
  if (rc)
    memset(&m->peer, 0, sizeof m->peer);
  ipcb__usage_self(&m->client);
  return rc;
}

static void subtract(const ipcb_usage *after, const ipcb_usage *before,
                     ipcb_usage *out) {
  out->have = after->have & before->have;
  out->cpu_ns = after->cpu_ns - before->cpu_ns;
  out->switches = after->switches - before->switches;
  out->voluntary = after->voluntary - before->voluntary;
  out->faults = after->faults - before->faults;
  out->cow_faults = after->cow_faults - before->cow_faults;
}

int ipcb__cost_stop(pid_t peer, int spins, const ipcb_cost_mark *m,
                    ipcb_usage *client, ipcb_usage *peer_use, char *err,
                    size_t len) {
  ipcb_usage now;
  ipcb__usage_self(&now);
  subtract(&now, &m->client, client);
  memset(peer_use, 0, sizeof *peer_use);
  int rc = read_peer(peer, spins, &now, err, len);
  if (!rc)
    subtract(&now, &m->peer, peer_use);
  return rc;
}
