/* The run-loop pump of the CoreFoundation transports (macOS): a private
 * run-loop mode on the session's thread, run until a transport's callout has
 * delivered, with one timer that asks the watchdog (cf_runloop.c). */
#ifndef IPCB_CF_RUNLOOP_H
#define IPCB_CF_RUNLOOP_H

#include <CoreFoundation/CoreFoundation.h>

typedef struct ipcb_cf_pump {
  CFStringRef mode; /* a CFSTR constant, never released */
  CFRunLoopTimerRef tick;
} ipcb_cf_pump;

/* Arm the tick in `mode` on the calling thread's run loop: the thread that
 * later runs the pump, the session's. */
int ipcb__cf_pump_start(void *ctx, ipcb_cf_pump *p, CFStringRef mode);

/* Serve `source` in the pump's mode on the calling thread's run loop. The
 * source stays its owner's to invalidate and release. */
void ipcb__cf_pump_add(const ipcb_cf_pump *p, CFRunLoopSourceRef source);

/* Run the mode, one handled source at a time, until ready(ctx), which the
 * callouts' results decide, is not 0: 0 once it is positive, its code once
 * it is negative (ready filled the error text), or ipcb_interrupted()'s code
 * once the wait must end. */
int ipcb__cf_pump_run(void *ctx, const ipcb_cf_pump *p, int (*ready)(void *));

/* Remove the tick. Idempotent, and safe on a zeroed pump. */
void ipcb__cf_pump_stop(ipcb_cf_pump *p);

#endif /* IPCB_CF_RUNLOOP_H */
