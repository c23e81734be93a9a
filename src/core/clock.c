/* The one monotonic wall clock of ipc_bench, and the cheap tick counter that
 * times each PingPong iteration for the percentiles. */
#include <stdatomic.h>
#include <time.h>

#include "core.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <x86intrin.h>
#define HAVE_CPU_COUNTER 1
static uint64_t cpu_counter(void) { return __rdtsc(); }
/* CPUID 0x80000007 EDX bit 8: the TSC ticks at one rate in every P- and
 * C-state and on every core, so it measures time. */
static int cpu_counter_is_invariant(void) {
  unsigned a, b, c, d;
  return __get_cpuid(0x80000007, &a, &b, &c, &d) && (d >> 8) & 1;
}
#elif defined(__aarch64__)
#define HAVE_CPU_COUNTER 1
/* The generic timer's virtual count: constant rate by the architecture,
 * readable at EL0 on Linux and macOS (mach_absolute_time reads it). */
static uint64_t cpu_counter(void) {
  uint64_t v;
  __asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v));
  return v;
}
static int cpu_counter_is_invariant(void) { return 1; }
#else
#define HAVE_CPU_COUNTER 0
#endif

int64_t ipcb_now_ns(void) {
#ifdef IPCB_HAVE_CLOCK_GETTIME_NSEC_NP
  /* macOS: CLOCK_UPTIME_RAW does not jump with NTP and costs no syscall. */
  return (int64_t)clock_gettime_nsec_np(CLOCK_UPTIME_RAW);
#else
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
#endif
}

enum { SOURCE_UNKNOWN, SOURCE_COUNTER, SOURCE_CLOCK };
static _Atomic int tick_source = SOURCE_UNKNOWN;

#if HAVE_CPU_COUNTER
/* ns per read of a clock, over 2000 reads. */
static double cost_ns(int counter) {
  volatile uint64_t sink = 0;
  int64_t start = ipcb_now_ns();
  for (int i = 0; i < 2000; i++)
    sink += counter ? cpu_counter() : (uint64_t)ipcb_now_ns();
  (void)sink;
  return (double)(ipcb_now_ns() - start) / 2000;
}
#endif

/* The counter only where it measures time and is cheaper than the clock:
 * a hypervisor that traps RDTSC makes it cost microseconds. Measured on a
 * 2-vCPU KVM guest: RDTSC 9.6 ns, clock_gettime 24 ns. */
static int choose_source(void) {
#if HAVE_CPU_COUNTER
  if (cpu_counter_is_invariant() && cost_ns(1) < cost_ns(0))
    return SOURCE_COUNTER;
#endif
  return SOURCE_CLOCK;
}

/* Decided once per process: the first decision wins, so no two callers
 * ever count in different units. */
static int source(void) {
  int s = atomic_load_explicit(&tick_source, memory_order_relaxed);
  if (s == SOURCE_UNKNOWN) {
    int expected = SOURCE_UNKNOWN;
    s = choose_source();
    if (!atomic_compare_exchange_strong(&tick_source, &expected, s))
      s = expected;
  }
  return s;
}

uint64_t ipcb_ticks(void) {
#if HAVE_CPU_COUNTER
  if (source() == SOURCE_COUNTER)
    return cpu_counter();
#endif
  return (uint64_t)ipcb_now_ns();
}

const char *ipcb_ticks_source(void) {
  if (source() == SOURCE_CLOCK)
    return "monotonic clock";
#if defined(__x86_64__) || defined(__i386__)
  return "TSC";
#else
  return "CNTVCT_EL0";
#endif
}
