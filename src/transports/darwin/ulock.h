/* The kernel's compare-and-wait on a 32-bit word (macOS), the counterpart
 * of a futex: os_sync_wait_on_address from macOS 14.4 (SDKs that declare
 * it), __ulock_wait before. A helper: no registry line. Used by ShmUlock
 * (a word in shared memory) and the XPC bridge (a word of this process).
 *
 * Untimed: the core's watchdog is the one timer, and its signal ends the
 * wait with EINTR (xnu bsd/kern/sys_ulock.c: a timeout of 0 waits forever,
 * line 737; the THREAD_ABORTSAFE wait, line 723, returns EINTR when
 * interrupted, 466). The kernel compares the word again before it sleeps,
 * so a change between the caller's read and the wait is not lost. */
#ifndef IPCB_DARWIN_ULOCK_H
#define IPCB_DARWIN_ULOCK_H

#include <stdatomic.h>
#include <stdint.h>

/* `shared`: the word is in memory that another process maps. The plain
 * variants key the wait on this process's virtual address, the shared ones
 * on the VM object. */
enum { IPCB_ULOCK_PRIVATE = 0, IPCB_ULOCK_SHARED = 1 };

/* 0 once woken (or the word already differs from `seen`), else -errno. */
int ipcb__ulock_wait(_Atomic uint32_t *word, uint32_t seen, int shared);
/* Wakes one waiter; none waiting (ENOENT) is not an error. */
void ipcb__ulock_wake(_Atomic uint32_t *word, int shared);

#endif /* IPCB_DARWIN_ULOCK_H */
