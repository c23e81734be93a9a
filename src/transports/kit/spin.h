/* Busy-waiting on shared memory, for the transports that spin (ShmSpin, and
 * the CacheLine baseline; any platform). */
#ifndef IPCB_TRANSPORTS_KIT_SPIN_H
#define IPCB_TRANSPORTS_KIT_SPIN_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "kit.h"

/* The words both processes spin on must not hide a lock that lives in one
 * process only. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit atomics must be lock-free");

/* 128, not 64: Apple's M-series lines are 128 bytes, and Intel's adjacent-
 * line prefetcher pulls lines in pairs, so two words 64 bytes apart would
 * still bounce together. */
#define IPCB_LINE 128

/* Architecture (not OS) macros: the CPU's spin-loop hint, which frees the
 * sibling hyperthread and avoids the memory-order flush on loop exit. */
static inline void ipcb__cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* About 30-40 us of pause instructions between two deadline checks. */
#define IPCB_SPINS_PER_CHECK 1024u

/* Spins while *word == value; 0 once it changed (the load that saw the
 * change is an acquire), or the code that ends the wait. Every check also
 * yields the CPU once: free when nothing else is runnable, and it keeps two
 * spinners that share one CPU from each burning a whole time slice. */
static inline int ipcb__spin_while(void *ctx, _Atomic uint64_t *word,
                                   uint64_t value) {
  for (unsigned spins = 1;; spins++) {
    if (atomic_load_explicit(word, memory_order_acquire) != value)
      return 0;
    ipcb__cpu_relax();
    if (spins % IPCB_SPINS_PER_CHECK == 0) {
      int rc = ipcb_interrupted(ctx);
      if (rc)
        return rc;
      sched_yield();
    }
  }
}

#endif /* IPCB_TRANSPORTS_KIT_SPIN_H */
