/* The one monotonic wall clock of ipc_bench. */
#include <time.h>

#include "core.h"

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
