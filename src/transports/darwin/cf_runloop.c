/* The run-loop pump that CFMessagePort and CFMachPort share (macOS). A helper
 * file: it has no registry line.
 *
 * Waiting. The run loop receives with neither MACH_RCV_INTERRUPT nor a
 * timeout (CFRunLoop.c, __CFRunLoopServiceMachPort), so libsyscall restarts
 * its receive after the watchdog's signal (xnu libsyscall/mach/mach_msg.c:
 * 133-144) and the signal alone would never end a wait. One repeating
 * run-loop timer in the private mode asks ipcb_interrupted() every SLICE_S
 * and stops the run loop when the wait must end: a cost per 20 ms of
 * waiting, not per message; the run itself is untimed, since above
 * TIMER_INTERVAL_LIMIT CFRunLoopRunInMode arms no timeout timer of its own
 * (CFRunLoop.c, __CFRunLoopRun). Each run returns once a source has been
 * handled, so a transport's callout delivers one Mach message per run. */
#include <errno.h>

#include "cf_runloop.h"
#include "ipcb/transport.h"

#define SLICE_S 0.02
/* No timeout: above TIMER_INTERVAL_LIMIT (504911232 s), as CFRunLoopRun's
 * own 1.0e10. */
#define FOREVER_S 1.0e10

/* The one timer of the private mode: the wait ends here, not in mach_msg. */
static void on_tick(CFRunLoopTimerRef timer, void *info) {
  (void)timer;
  if (ipcb_interrupted(info))
    CFRunLoopStop(CFRunLoopGetCurrent());
}

int ipcb__cf_pump_start(void *ctx, ipcb_cf_pump *p, CFStringRef mode) {
  CFRunLoopTimerContext tc = {0, ctx, NULL, NULL, NULL};
  p->mode = mode;
  p->tick = CFRunLoopTimerCreate(kCFAllocatorDefault,
                                 CFAbsoluteTimeGetCurrent() + SLICE_S, SLICE_S,
                                 0, 0, on_tick, &tc);
  if (!p->tick)
    return ipcb_fail(ctx, -ENOMEM, "CFRunLoopTimerCreate failed");
  CFRunLoopAddTimer(CFRunLoopGetCurrent(), p->tick, mode);
  return 0;
}

void ipcb__cf_pump_add(const ipcb_cf_pump *p, CFRunLoopSourceRef source) {
  CFRunLoopAddSource(CFRunLoopGetCurrent(), source, p->mode);
}

int ipcb__cf_pump_run(void *ctx, const ipcb_cf_pump *p, int (*ready)(void *)) {
  for (;;) {
    int got = ready(ctx);
    if (got)
      return got < 0 ? got : 0;
    CFRunLoopRunResult r = CFRunLoopRunInMode(p->mode, FOREVER_S, true);
    if (r == kCFRunLoopRunFinished)
      return ipcb_fail(ctx, IPCB_EUNAVAIL,
                       "CFRunLoopRunInMode: kCFRunLoopRunFinished, the port's "
                       "source is gone");
    if (r != kCFRunLoopRunHandledSource) { /* on_tick stopped it */
      int rc = ipcb_interrupted(ctx);
      if (rc)
        return rc;
    }
  }
}

void ipcb__cf_pump_stop(ipcb_cf_pump *p) {
  if (p->tick) {
    CFRunLoopTimerInvalidate(p->tick);
    CFRelease(p->tick);
  }
  p->tick = NULL;
}
