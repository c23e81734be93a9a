/* Error codes and their names: negated errno values plus IPCB_E* codes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "core.h"

/* strerrorname_np is glibc-only, so the names are listed here. A table, not
 * a switch: ENOTSUP and EOPNOTSUPP share a value on Linux, not on macOS. */
static const struct {
  int value;
  const char *name;
} errno_names[] = {
#define IPCB_ERRNO(e) {e, #e},
    IPCB_ERRNO(EPERM) IPCB_ERRNO(ENOENT) IPCB_ERRNO(ESRCH) IPCB_ERRNO(EINTR)
        IPCB_ERRNO(EIO) IPCB_ERRNO(ENXIO) IPCB_ERRNO(E2BIG) IPCB_ERRNO(
            ENOEXEC) IPCB_ERRNO(EBADF) IPCB_ERRNO(ECHILD) IPCB_ERRNO(EAGAIN)
            IPCB_ERRNO(ENOMEM) IPCB_ERRNO(EACCES) IPCB_ERRNO(EFAULT) IPCB_ERRNO(
                EBUSY) IPCB_ERRNO(EEXIST) IPCB_ERRNO(ENODEV) IPCB_ERRNO(ENOTDIR)
                IPCB_ERRNO(EISDIR) IPCB_ERRNO(EINVAL) IPCB_ERRNO(ENFILE)
                    IPCB_ERRNO(EMFILE) IPCB_ERRNO(EFBIG) IPCB_ERRNO(ENOSPC)
                        IPCB_ERRNO(ESPIPE) IPCB_ERRNO(EPIPE) IPCB_ERRNO(
                            ERANGE) IPCB_ERRNO(ENAMETOOLONG) IPCB_ERRNO(ENOSYS)
                            IPCB_ERRNO(EIDRM) IPCB_ERRNO(ENOMSG) IPCB_ERRNO(
                                EMSGSIZE) IPCB_ERRNO(ENOBUFS)
                                IPCB_ERRNO(ECONNREFUSED) IPCB_ERRNO(ECONNRESET)
                                    IPCB_ERRNO(ENOTCONN) IPCB_ERRNO(EADDRINUSE)
                                        IPCB_ERRNO(EADDRNOTAVAIL) IPCB_ERRNO(
                                            ETIMEDOUT) IPCB_ERRNO(EOVERFLOW)
                                            IPCB_ERRNO(ENOTSUP) IPCB_ERRNO(
                                                EOPNOTSUPP) IPCB_ERRNO(ENOTSOCK)
                                                IPCB_ERRNO(EPROTONOSUPPORT)
                                                    IPCB_ERRNO(EAFNOSUPPORT)
                                                        IPCB_ERRNO(EDEADLK)
#undef IPCB_ERRNO
};

static const struct {
  int value;
  const char *name;
} ipcb_names[] = {
    {IPCB_EPEERDIED, "IPCB_EPEERDIED"}, {IPCB_ETIMEDOUT, "IPCB_ETIMEDOUT"},
    {IPCB_ECORRUPT, "IPCB_ECORRUPT"},   {IPCB_ELIMIT, "IPCB_ELIMIT"},
    {IPCB_EUNAVAIL, "IPCB_EUNAVAIL"},   {IPCB_EKERN, "IPCB_EKERN"},
    {IPCB_ESTOPPED, "IPCB_ESTOPPED"},
};

const char *ipcb_errno_name(int err) {
  for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
    if (errno_names[i].value == err)
      return errno_names[i].name;
  return "E?";
}

const char *ipcb_code_name(int code) {
  for (size_t i = 0; i < sizeof ipcb_names / sizeof ipcb_names[0]; i++)
    if (ipcb_names[i].value == code)
      return ipcb_names[i].name;
  return code < 0 ? ipcb_errno_name(-code) : "OK";
}

void ipcb__set_err(char *dst, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dst, len, fmt, ap);
  va_end(ap);
}
