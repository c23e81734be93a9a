/* See intruder_darwin.h. Uses the core's channel, spawn and watchdog
 * directly: a session does setup, spawn and attach in one call, and the
 * intruder must speak in between. */
#include "intruder_darwin.h"

#include <mach/mach.h>
#include <servers/bootstrap.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "mach_common.h" /* IPCB_MACH_EXTRAS: the hello's shape */

extern char **environ;

/* The rendezvous hello's layout (mach_rendezvous.c), as a stranger who read
 * the source would send it: exactly that shape, so that only the sender's
 * pid can be what refuses it. */
#define FAKE_PORTS (1 + IPCB_MACH_EXTRAS)
typedef struct fake_hello {
  mach_msg_header_t hdr;
  mach_msg_body_t body;
  mach_msg_port_descriptor_t port[FAKE_PORTS];
} fake_hello;

/* What the stranger sends: a well-formed hello with a live port of its own,
 * a bare header (no trailer where a hello's would be), or a message too
 * large for the receiver's buffer. */
static mach_msg_size_t fill_message(unsigned char *buf, const char *mode,
                                    mach_port_t server, mach_port_t own) {
  mach_msg_header_t *hdr = (mach_msg_header_t *)buf;
  hdr->msgh_bits = MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0);
  hdr->msgh_remote_port = server;
  if (strcmp(mode, "bare") == 0)
    return hdr->msgh_size = sizeof *hdr;
  if (strcmp(mode, "large") == 0)
    return hdr->msgh_size = 200;
  fake_hello *m = (fake_hello *)buf;
  m->hdr.msgh_bits |= MACH_MSGH_BITS_COMPLEX;
  m->body.msgh_descriptor_count = FAKE_PORTS;
  m->port[0].name = own;
  m->port[0].disposition = MACH_MSG_TYPE_MAKE_SEND;
  m->port[0].type = MACH_MSG_PORT_DESCRIPTOR;
  for (int i = 1; i < FAKE_PORTS; i++) {
    m->port[i].name = MACH_PORT_NULL;
    m->port[i].disposition = MACH_MSG_TYPE_COPY_SEND;
    m->port[i].type = MACH_MSG_PORT_DESCRIPTOR;
  }
  return m->hdr.msgh_size = sizeof *m;
}

static void on_term(int sig) { (void)sig; }

/* Sends, says so on stdout, then waits on its own port until SIGTERM: 0 if
 * nothing came, 10 if the client answered it. */
int intruder_main(const char *arg) {
  char mode[16];
  const char *name = strchr(arg, ':');
  mach_port_t server = MACH_PORT_NULL, own = MACH_PORT_NULL;
  if (!name || (size_t)(name - arg) >= sizeof mode)
    return 2;
  snprintf(mode, sizeof mode, "%.*s", (int)(name - arg), arg);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term; /* no SA_RESTART: the receive below returns */
  sigaction(SIGTERM, &sa, NULL);
  if (bootstrap_look_up(bootstrap_port, name + 1, &server) != KERN_SUCCESS)
    return 3;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &own) !=
      KERN_SUCCESS)
    return 4;
  unsigned char buf[256] = {0};
  mach_msg_size_t size = fill_message(buf, mode, server, own);
  if (mach_msg((mach_msg_header_t *)buf, MACH_SEND_MSG | MACH_SEND_TIMEOUT,
               size, 0, MACH_PORT_NULL, 2000, MACH_PORT_NULL) != KERN_SUCCESS)
    return 5;
  if (write(1, "S", 1) != 1)
    return 6;
  close(1);
  memset(buf, 0, sizeof buf);
  kern_return_t kr = mach_msg((mach_msg_header_t *)buf,
                              MACH_RCV_MSG | MACH_RCV_INTERRUPT |
                                  MACH_RCV_TIMEOUT | MACH_RCV_LARGE,
                              0, sizeof buf, own, 20000, MACH_PORT_NULL);
  return kr == MACH_RCV_INTERRUPTED ? 0 : kr == MACH_RCV_TIMED_OUT ? 11 : 10;
}

/* The intruder has sent before this returns, so its message is queued ahead
 * of the real peer's; it then stays alive, holding its port. */
static pid_t start_intruder(const char *mode, const char *name, char *err,
                            size_t len) {
  char exe[1024], arg[IPCB_RDV_TOKEN_MAX + 48], said = 0;
  int out[2];
  pid_t pid = -1;
  if (ipcb__self_exe(exe, sizeof exe) != 0 || pipe(out) != 0)
    return snprintf(err, len, "cannot start the intruder"), -1;
  snprintf(arg, sizeof arg, "%s%s:%s", INTRUDER_FLAG, mode, name);
  char *argv[] = {exe, arg, NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  int rc = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  if (rc == 0 && read(out[0], &said, 1) == 1 && said == 'S') {
    close(out[0]);
    return pid;
  }
  close(out[0]);
  snprintf(err, len, "the intruder could not send (%s)", mode);
  if (rc == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
  return -1;
}

/* SIGTERM, then its verdict: 0 if the client never answered it. */
static int stop_intruder(pid_t pid) {
  int status = 0;
  kill(pid, SIGTERM);
  while (waitpid(pid, &status, 0) < 0)
    ;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* launchd removes a name once it has taken the port's death notice, which
 * is asynchronous: a name still there after a second has stayed. */
static int name_is_registered(const char *name) {
  for (int i = 0; i < 100; i++) {
    mach_port_t port = MACH_PORT_NULL;
    if (bootstrap_look_up(bootstrap_port, name, &port) != KERN_SUCCESS)
      return 0;
    mach_port_deallocate(mach_task_self(), port);
    usleep(10 * 1000);
  }
  return 1;
}

/* Spawn the real peer, attach, and exchange once, under a watchdog. */
static void attach_and_exchange(ipcb_chan *ch, ipcb_rdv *rdv,
                                intruder_trial *out) {
  ipcb_options opt;
  memset(&opt, 0, sizeof opt);
  opt.pattern = IPCB_PINGPONG;
  opt.bytes = ch->cfg.max_bytes;
  opt.timeout_ns = ch->cfg.timeout_ns;
  ipcb_spawn_req req = {ch->tr, &ch->cfg, rdv, &opt};
  ipcb_watch watch;
  ipcb_watchdog *wd = NULL;
  pid_t peer = 0;
  memset(&watch, 0, sizeof watch);
  out->attach_rc = ipcb__spawn_peer(&req, &peer, out->err, sizeof out->err);
  for (int i = 0; i < rdv->nfds; i++)
    close(rdv->fds[i]);
  if (out->attach_rc)
    return;
  ch->other_pid = (int)peer;
  ch->watch = &watch;
  ipcb__install_wake_signal();
  out->attach_rc = ipcb__watchdog_start(
      &wd, &watch, peer, 0, ch->cfg.timeout_ns, out->err, sizeof out->err);
  uint64_t epoch = 0;
  if (!out->attach_rc) {
    ipcb__enter(ch, &epoch);
    out->attach_rc = ch->tr->attach(ch->ctx, IPCB_ROLE_CLIENT, &ch->cfg, rdv);
    ipcb__leave(ch, &epoch);
  }
  out->registered_after_attach = name_is_registered(rdv->token);
  if (!out->attach_rc)
    out->exchange_rc = ipcb__client_request(ch, &epoch, 2, &opt);
  if (out->attach_rc || out->exchange_rc)
    snprintf(out->err, sizeof out->err, "%s", ch->err);
  ipcb__stop_peer(peer);
  ipcb__watchdog_stop(wd);
}

int intruder_trial_run(const char *transport, const char *mode,
                       intruder_trial *out) {
  const ipcb_transport *tr = ipcb_transport_find(transport);
  ipcb_cfg cfg = {64, 1, 2000000000LL};
  ipcb_rdv rdv;
  memset(out, 0, sizeof *out);
  memset(&rdv, 0, sizeof rdv);
  out->attach_rc = out->exchange_rc = out->intruder_status = -1;
  ipcb_chan *ch = tr ? ipcb__chan_new(tr, IPCB_ROLE_CLIENT, &cfg) : NULL;
  if (!ch)
    return snprintf(out->err, sizeof out->err, "no transport %s", transport),
           -1;
  int rc = tr->setup(ch->ctx, &cfg, &rdv);
  pid_t intruder = -1;
  snprintf(out->name, sizeof out->name, "%s", rdv.token);
  if (rc)
    snprintf(out->err, sizeof out->err, "setup: %s", ch->err);
  else if ((intruder =
                start_intruder(mode, rdv.token, out->err, sizeof out->err)) < 0)
    rc = -1;
  if (!rc)
    attach_and_exchange(ch, &rdv, out);
  if (intruder > 0)
    out->intruder_status = stop_intruder(intruder);
  tr->teardown(ch->ctx, IPCB_ROLE_CLIENT);
  free(ch);
  out->registered_after_close = out->name[0] && name_is_registered(out->name);
  return rc;
}
