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

extern char **environ;

/* The rendezvous hello's layout (mach_rendezvous.c), as a stranger who read
 * the source would send it. */
typedef struct fake_hello {
  mach_msg_header_t hdr;
  mach_msg_body_t body;
  mach_msg_port_descriptor_t port[2];
} fake_hello;

int intruder_main(const char *name) {
  mach_port_t server = MACH_PORT_NULL, own = MACH_PORT_NULL;
  if (bootstrap_look_up(bootstrap_port, name, &server) != KERN_SUCCESS)
    return 3;
  if (mach_port_allocate(mach_task_self(), MACH_PORT_RIGHT_RECEIVE, &own) !=
      KERN_SUCCESS)
    return 4;
  fake_hello m;
  memset(&m, 0, sizeof m);
  m.hdr.msgh_bits =
      MACH_MSGH_BITS(MACH_MSG_TYPE_COPY_SEND, 0) | MACH_MSGH_BITS_COMPLEX;
  m.hdr.msgh_size = sizeof m;
  m.hdr.msgh_remote_port = server;
  m.body.msgh_descriptor_count = 2;
  m.port[0].name = own;
  m.port[0].disposition = MACH_MSG_TYPE_MAKE_SEND;
  m.port[0].type = MACH_MSG_PORT_DESCRIPTOR;
  m.port[1].name = MACH_PORT_NULL;
  m.port[1].disposition = MACH_MSG_TYPE_COPY_SEND;
  m.port[1].type = MACH_MSG_PORT_DESCRIPTOR;
  kern_return_t kr =
      mach_msg(&m.hdr, MACH_SEND_MSG | MACH_SEND_TIMEOUT, sizeof m, 0,
               MACH_PORT_NULL, 2000, MACH_PORT_NULL);
  return kr == MACH_MSG_SUCCESS ? 0 : 5;
}

/* The intruder runs to completion first, so its hello is queued ahead of
 * the real peer's. */
static int run_intruder(const char *name, char *err, size_t len) {
  char exe[1024], arg[IPCB_RDV_TOKEN_MAX + 32];
  if (ipcb__self_exe(exe, sizeof exe) != 0)
    return snprintf(err, len, "cannot find the test executable"), -1;
  snprintf(arg, sizeof arg, "%s%s", INTRUDER_FLAG, name);
  char *argv[] = {exe, arg, NULL};
  pid_t pid;
  int status = 0;
  if (posix_spawn(&pid, exe, NULL, NULL, argv, environ) != 0)
    return snprintf(err, len, "posix_spawn of the intruder failed"), -1;
  while (waitpid(pid, &status, 0) < 0)
    ;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return snprintf(err, len, "the intruder could not send (status %d)",
                    status),
           -1;
  return 0;
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

int intruder_trial_run(const char *transport, intruder_trial *out) {
  const ipcb_transport *tr = ipcb_transport_find(transport);
  ipcb_cfg cfg = {64, 1, 5000000000LL};
  ipcb_rdv rdv;
  memset(out, 0, sizeof *out);
  memset(&rdv, 0, sizeof rdv);
  out->attach_rc = out->exchange_rc = -1;
  ipcb_chan *ch = tr ? ipcb__chan_new(tr, IPCB_ROLE_CLIENT, &cfg) : NULL;
  if (!ch)
    return snprintf(out->err, sizeof out->err, "no transport %s", transport),
           -1;
  int rc = tr->setup(ch->ctx, &cfg, &rdv);
  snprintf(out->name, sizeof out->name, "%s", rdv.token);
  if (rc)
    snprintf(out->err, sizeof out->err, "setup: %s", ch->err);
  else
    rc = run_intruder(rdv.token, out->err, sizeof out->err);
  if (!rc)
    attach_and_exchange(ch, &rdv, out);
  tr->teardown(ch->ctx, IPCB_ROLE_CLIENT);
  free(ch);
  out->registered_after_close = out->name[0] && name_is_registered(out->name);
  return rc;
}
