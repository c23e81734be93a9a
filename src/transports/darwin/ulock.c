/* See ulock.h. */
#include "ulock.h"

#include <errno.h>
#ifdef IPCB_HAVE_OS_SYNC_WAIT_ON_ADDRESS
#include <os/os_sync_wait_on_address.h>
#endif

/* Private but stable since macOS 10.12 (_SHARED since 10.15): xnu's
 * bsd/sys/ulock.h, exported by libSystem. libc++'s atomic wait uses them. */
extern int __ulock_wait(uint32_t operation, void *addr, uint64_t value,
                        uint32_t timeout_us);
extern int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);
#define UL_COMPARE_AND_WAIT 1
#define UL_COMPARE_AND_WAIT_SHARED 3

int ipcb__ulock_wait(_Atomic uint32_t *word, uint32_t seen, int shared) {
#ifdef IPCB_HAVE_OS_SYNC_WAIT_ON_ADDRESS
  if (__builtin_available(macOS 14.4, *)) {
    int r = os_sync_wait_on_address((void *)word, seen, sizeof *word,
                                    shared ? OS_SYNC_WAIT_ON_ADDRESS_SHARED
                                           : OS_SYNC_WAIT_ON_ADDRESS_NONE);
    return r < 0 ? -errno : 0;
  }
#endif
  int r =
      __ulock_wait(shared ? UL_COMPARE_AND_WAIT_SHARED : UL_COMPARE_AND_WAIT,
                   (void *)word, seen, 0);
  return r < 0 ? -errno : 0;
}

void ipcb__ulock_wake(_Atomic uint32_t *word, int shared) {
#ifdef IPCB_HAVE_OS_SYNC_WAIT_ON_ADDRESS
  if (__builtin_available(macOS 14.4, *)) {
    os_sync_wake_by_address_any((void *)word, sizeof *word,
                                shared ? OS_SYNC_WAKE_BY_ADDRESS_SHARED
                                       : OS_SYNC_WAKE_BY_ADDRESS_NONE);
    return;
  }
#endif
  __ulock_wake(shared ? UL_COMPARE_AND_WAIT_SHARED : UL_COMPARE_AND_WAIT,
               (void *)word, 0);
}
