/* A session: one client channel, its peer process and its watchdog. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

struct ipcb_session {
  const ipcb_transport *tr;
  ipcb_options opt;
  ipcb_chan *ch;
  ipcb_watch watch;
  ipcb_watchdog *wd;
  pid_t peer;
  uint64_t seq;               /* the last request's sequence number */
  unsigned window, in_window; /* Stream: messages per ack, sent so far */
  uint64_t epoch; /* the client's call epoch, mirrored into watch.epoch */
  int fault;      /* once set, every call returns it */
  int counting;   /* between ipcb_cost_start and ipcb_cost_stop */
  ipcb_cost_mark cost;
  char label[256];
  char err[IPCB_ERR_MAX];
};

/* Record a failure; if the peer is gone, say how it went. */
static int fail(ipcb_session *s, int rc, const char *text) {
  char status[160] = "";
  int dead = s->peer > 0 &&
             ipcb__peer_status(s->peer, rc == IPCB_EPEERDIED ? 200000000 : 0,
                               status, sizeof status);
  if (dead && rc != IPCB_EPEERDIED && strstr(text, status) == NULL)
    rc = IPCB_EPEERDIED;
  if (dead && strstr(text, status) == NULL)
    snprintf(s->err, sizeof s->err, "%s: %s", status, text);
  else
    snprintf(s->err, sizeof s->err, "%s", text);
  s->fault = rc;
  return rc;
}

static void make_label(ipcb_session *s) {
  size_t limit = ipcb_transport_limit(s->tr);
  size_t len = 0;
  char sz[32];
  s->label[0] = '\0';
  if (s->opt.pattern == IPCB_STREAM) {
    ipcb_format_size(IPCB_WINDOW_BUDGET_BYTES, sz, sizeof sz);
    len += (size_t)snprintf(s->label, sizeof s->label, "window %u", s->window);
    if (s->window < s->opt.window)
      len += (size_t)snprintf(s->label + len, sizeof s->label - len,
                              " (%s budget)", sz);
    char limit[64] = "";
    long held = s->tr->queue_depth ? s->tr->queue_depth(s->ch->ctx, &s->ch->cfg,
                                                        limit, sizeof limit)
                                   : -1;
    if (held == 0)
      len += (size_t)snprintf(s->label + len, sizeof s->label - len,
                              ", queue holds part of a message (%s)", limit);
    else if (held > 0 && held < (long)s->window)
      len += (size_t)snprintf(s->label + len, sizeof s->label - len,
                              ", queue holds %ld (%s)", held, limit);
  }
  if (!(s->tr->caps & IPCB_CAP_CHUNKED) || !limit || s->opt.bytes <= limit)
    return;
  ipcb_format_size(limit, sz, sizeof sz);
  snprintf(s->label + len, sizeof s->label - len,
           "%schunked: %zu messages of <= %s each", len ? ", " : "",
           (s->opt.bytes + limit - 1) / limit, sz);
}

/* Stream's window, clamped so that one window fits the memory budget. At
 * 16 MiB that leaves a window of 1; windows of 1, 2 and 4 measured the same
 * within noise there (PosixShm and ShmFutex, 1.1 to 1.4 ms a message). */
static unsigned clamp_window(const ipcb_options *opt) {
  size_t budget_msgs = IPCB_WINDOW_BUDGET_BYTES / opt->bytes;
  if (budget_msgs < 1)
    budget_msgs = 1;
  return opt->window < budget_msgs ? opt->window : (unsigned)budget_msgs;
}

static int start(ipcb_session *s) {
  ipcb_rdv rdv;
  char why[IPCB_ERR_MAX] = "";
  const char *unavailable = "";
  int rc = ipcb_transport_probe(s->tr, &unavailable);
  if (rc)
    return fail(s, rc, unavailable);
  memset(&rdv, 0, sizeof rdv);
  rc = s->tr->setup(s->ch->ctx, &s->ch->cfg, &rdv);
  if (!rc) {
    ipcb_spawn_req req = {s->tr, &s->ch->cfg, &rdv, &s->opt};
    rc = ipcb__spawn_peer(&req, &s->peer, why, sizeof why);
  } else {
    snprintf(why, sizeof why, "%s", s->ch->err);
  }
  /* The peer holds its ends now; ours must go, so that its death is EOF. */
  for (int i = 0; i < rdv.nfds; i++)
    close(rdv.fds[i]);
  if (rc)
    return fail(s, rc, why);
  s->ch->other_pid = (int)s->peer;
  ipcb__cleanup_add_peer(s->peer);
  rc = ipcb__watchdog_start(&s->wd, &s->watch, s->peer, 0,
                            s->ch->cfg.timeout_ns, why, sizeof why);
  if (rc)
    return fail(s, rc, why);
  ipcb__enter(s->ch, &s->epoch);
  rc = s->tr->attach(s->ch->ctx, IPCB_ROLE_CLIENT, &s->ch->cfg, &rdv);
  ipcb__leave(s->ch, &s->epoch);
  if (rc)
    return fail(s, rc, s->ch->err);
  make_label(s);
  return 0;
}

int ipcb_session_open(const ipcb_transport *tr, const ipcb_options *opt,
                      ipcb_session **out) {
  ipcb_session *s = calloc(1, sizeof *s);
  *out = s;
  if (!s)
    return -ENOMEM;
  ipcb__journal_session(1);
  s->tr = tr;
  s->opt = *opt;
  if (s->opt.timeout_ns <= 0)
    s->opt.timeout_ns = IPCB_DEFAULT_TIMEOUT_NS;
  if (s->opt.window == 0)
    s->opt.window = IPCB_DEFAULT_WINDOW;
  if (opt->bytes == 0 || opt->bytes > IPCB_SIZE_MAX_BYTES)
    return fail(s, -EINVAL, "message size must be 1 B to 1 GiB");
  s->window = s->opt.pattern == IPCB_STREAM ? clamp_window(&s->opt) : 1;
  ipcb_cfg cfg = {opt->bytes, s->window, s->opt.timeout_ns};
  s->ch = ipcb__chan_new(tr, IPCB_ROLE_CLIENT, &cfg);
  if (!s->ch)
    return fail(s, -ENOMEM, "out of memory for the transport context");
  s->ch->watch = &s->watch;
  ipcb__install_wake_signal();
  int rc = ipcb_set_thread_class(s->opt.qos);
  if (rc) {
    char why[128];
    snprintf(why, sizeof why, "cannot give the thread QoS class %d: %s",
             (int)s->opt.qos,
             rc == -ENOTSUP ? "this OS has no QoS classes"
                            : ipcb_errno_name(-rc));
    return fail(s, rc, why);
  }
  return start(s);
}

int ipcb_round_trip(ipcb_session *s) {
  if (s->fault)
    return s->fault;
  if (s->opt.pattern == IPCB_STREAM)
    return fail(s, -EINVAL, "ipcb_round_trip on a Stream session");
  s->seq += 2;
  int rc = ipcb__client_request(s->ch, &s->epoch, s->seq, &s->opt);
  return rc ? fail(s, rc, s->ch->err) : 0;
}

int ipcb_stream_send(ipcb_session *s) {
  if (s->fault)
    return s->fault;
  if (s->opt.pattern != IPCB_STREAM)
    return fail(s, -EINVAL, "ipcb_stream_send on a request/reply session");
  s->seq += 2;
  int last = ++s->in_window == s->window;
  if (last)
    s->in_window = 0;
  int rc = ipcb__client_stream(s->ch, &s->epoch, s->seq, last, &s->opt);
  return rc ? fail(s, rc, s->ch->err) : 0;
}

int ipcb_stream_finish(ipcb_session *s) {
  int rc = 0;
  while (!rc && s->in_window != 0)
    rc = ipcb_stream_send(s);
  return rc;
}

/* A failure to count leaves the session usable and the text of an earlier
 * fault as it was: only a cost error's own text is kept. */
int ipcb_cost_start(ipcb_session *s) {
  if (s->fault)
    return s->fault;
  s->counting = 1;
  return ipcb__cost_start(s->peer, (s->tr->caps & IPCB_CAP_SPINS) != 0,
                          &s->cost, s->err, sizeof s->err);
}

int ipcb_cost_stop(ipcb_session *s, ipcb_usage *client, ipcb_usage *peer) {
  memset(client, 0, sizeof *client);
  memset(peer, 0, sizeof *peer);
  if (s->fault)
    return s->fault;
  if (!s->counting) {
    snprintf(s->err, sizeof s->err, "ipcb_cost_stop without ipcb_cost_start");
    return -EINVAL;
  }
  s->counting = 0;
  return ipcb__cost_stop(s->peer, (s->tr->caps & IPCB_CAP_SPINS) != 0, &s->cost,
                         client, peer, s->err, sizeof s->err);
}

unsigned ipcb_session_window(const ipcb_session *s) { return s->window; }

const char *ipcb_session_error(const ipcb_session *s) {
  return s ? s->err : "out of memory";
}

const char *ipcb_session_label(const ipcb_session *s) { return s->label; }

int ipcb_session_peer_pid(const ipcb_session *s) { return (int)s->peer; }

void ipcb_session_close(ipcb_session *s) {
  if (!s)
    return;
  if (s->peer > 0) {
    ipcb__stop_peer(s->peer);
    ipcb__cleanup_remove_peer(s->peer);
    ipcb__sweep_journal_of(s->peer, 0); /* reaped: anything it made */
  }
  ipcb__watchdog_stop(s->wd);
  if (s->ch) {
    s->tr->teardown(s->ch->ctx, IPCB_ROLE_CLIENT);
    free(s->ch);
  }
  free(s);
  ipcb__journal_session(-1);
}
