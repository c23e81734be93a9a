// An RAII owner of one ipcb session: the peer lives exactly as long as it.
#ifndef IPCB_HARNESS_SESSION_H
#define IPCB_HARNESS_SESSION_H

#include <string>

#include "ipcb/ipcb.h"

namespace ipcb {

class Session {
public:
  Session(const ipcb_transport *transport, const ipcb_options &options)
      : rc_(ipcb_session_open(transport, &options, &session_)) {}
  ~Session() { ipcb_session_close(session_); }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  bool ok() const { return rc_ == 0; }
  int code() const { return rc_; }
  ipcb_session *get() { return session_; }
  std::string error() const {
    return std::string(ipcb_code_name(rc_)) + ": " +
           ipcb_session_error(session_);
  }
  // Runs one pattern step; on failure the error stays readable.
  bool Step(int (*step)(ipcb_session *)) {
    rc_ = step(session_);
    return rc_ == 0;
  }

private:
  ipcb_session *session_ = nullptr;
  int rc_;
};

} // namespace ipcb

#endif // IPCB_HARNESS_SESSION_H
