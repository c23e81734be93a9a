/* What a client tells the peer it spawns, as the peer's argv. Written and
 * read only here, so the two sides cannot disagree on the format:
 *   --ipc_peer=<transport> --ipc_rdv=<token> --ipc_fds=<base>,<n>,<client pid>
 *   --ipc_cfg=<pattern>,<bytes>,<verify>,<max_bytes>,<window>,<timeout_ns>,
 *             <peer CPU, -1: not pinned>,<QoS class> */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

#define CFG_FORMAT "%d,%zu,%d,%zu,%u,%lld,%d,%d"
#define CFG_FIELDS 8

void ipcb__peer_argv_write(const ipcb_peer_args *a, char *exe,
                           ipcb_peer_argv *out) {
  const ipcb_options *opt = &a->opt;
  snprintf(out->peer, sizeof out->peer, "--ipc_peer=%s", a->transport);
  snprintf(out->rdv, sizeof out->rdv, "--ipc_rdv=%s", a->token);
  snprintf(out->fds, sizeof out->fds, "--ipc_fds=%d,%d,%d", a->fd_base, a->nfds,
           a->ppid);
  snprintf(out->cfg, sizeof out->cfg, "--ipc_cfg=" CFG_FORMAT,
           (int)opt->pattern, opt->bytes, opt->verify, a->cfg.max_bytes,
           a->cfg.window, (long long)a->cfg.timeout_ns,
           opt->pin_peer ? opt->peer_cpu : -1, (int)opt->qos);
  char *argv[] = {exe, out->peer, out->rdv, out->fds, out->cfg, NULL};
  memcpy(out->argv, argv, sizeof argv);
}

static const char *arg_value(int argc, char **argv, const char *key) {
  size_t len = strlen(key);
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], key, len) == 0)
      return argv[i] + len;
  return NULL;
}

const char *ipcb__peer_argv_transport(int argc, char **argv) {
  return arg_value(argc, argv, "--ipc_peer=");
}

int ipcb__peer_argv_read(int argc, char **argv, ipcb_peer_args *a) {
  const char *fds = arg_value(argc, argv, "--ipc_fds=");
  const char *cfg = arg_value(argc, argv, "--ipc_cfg=");
  int pattern, verify, cpu, qos;
  long long timeout;
  memset(a, 0, sizeof *a);
  a->transport = ipcb__peer_argv_transport(argc, argv);
  a->token = arg_value(argc, argv, "--ipc_rdv=");
  if (!a->transport || !a->token || !fds || !cfg ||
      sscanf(fds, "%d,%d,%d", &a->fd_base, &a->nfds, &a->ppid) != 3 ||
      sscanf(cfg, CFG_FORMAT, &pattern, &a->opt.bytes, &verify,
             &a->cfg.max_bytes, &a->cfg.window, &timeout, &cpu,
             &qos) != CFG_FIELDS ||
      a->cfg.window == 0 || a->opt.bytes == 0 || a->nfds < 0 ||
      a->nfds > IPCB_RDV_MAX_FDS)
    return -EINVAL;
  a->opt.pattern = (ipcb_pattern)pattern;
  a->opt.verify = verify;
  a->opt.timeout_ns = timeout;
  a->opt.pin_peer = cpu >= 0;
  a->opt.peer_cpu = cpu;
  a->opt.qos = (ipcb_qos)qos;
  a->opt.window = a->cfg.window;
  a->cfg.timeout_ns = timeout;
  return 0;
}
