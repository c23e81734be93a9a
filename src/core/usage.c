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
 * loop: exact, whatever the payload. A peer that spins never blocks; it is
 * read at once after the loop (before it, at the end of the wait), late by
 * at most the time since its last sched_yield, about 40 us (kit/spin.h).
 *
 * The client reads its own counters innermost, so that neither the waits
 * nor the reads of the peer count as the client's. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "core.h"

/* How long a peer may take to block once its last message is in: its tail
 * of the exchange (a release, the next receive), or, after a Stream loop, the
 * messages still queued to it, at most one window of 16 MiB. */
#define SETTLE_NS (20 * 1000 * 1000)
#define SETTLE_NAP_NS (20 * 1000)

/* The peer's counters once it blocks. If it never does within SETTLE_NS,
 * the first read when `keep_first`, else the last. */
static int read_peer(pid_t pid, int keep_first, ipcb_usage *out, char *err,
                     size_t len) {
  int on_cpu = 0;
  int rc = ipcb__usage_of(pid, out, &on_cpu);
  int64_t end = ipcb_now_ns() + SETTLE_NS;
  while (!rc && on_cpu && ipcb_now_ns() < end) {
    /* A nap, not a spin: on one CPU the peer needs it to finish. */
    struct timespec nap = {0, SETTLE_NAP_NS};
    nanosleep(&nap, NULL);
    ipcb_usage now;
    rc = ipcb__usage_of(pid, &now, &on_cpu);
    if (!rc && (!on_cpu || !keep_first))
      *out = now;
  }
  if (rc)
    ipcb__set_err(err, len, "cannot read the peer's (pid %d) counters: %s",
                  (int)pid, ipcb_errno_name(-rc));
  return rc;
}

int ipcb__cost_start(pid_t peer, ipcb_cost_mark *m, char *err, size_t len) {
  memset(m, 0, sizeof *m);
  int rc = read_peer(peer, 0, &m->peer, err, len);
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

int ipcb__cost_stop(pid_t peer, const ipcb_cost_mark *m, ipcb_usage *client,
                    ipcb_usage *peer_use, char *err, size_t len) {
  ipcb_usage now;
  ipcb__usage_self(&now);
  subtract(&now, &m->client, client);
  memset(peer_use, 0, sizeof *peer_use);
  int rc = read_peer(peer, 1, &now, err, len);
  if (!rc)
    subtract(&now, &m->peer, peer_use);
  return rc;
}
