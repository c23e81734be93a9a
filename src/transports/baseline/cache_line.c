/* CacheLine: the Baseline/CacheLine floor, two processes handing one shared
 * cache line back and forth with atomics (any platform).
 *
 * The line holds an owner word and the message itself, so a round trip moves
 * that one line to the peer's core and back, and nothing else: the hardware
 * floor for any notification between processes. A message therefore fits in
 * the line beside the word (56 bytes), and one is in flight at a time.
 *
 * Ordering: a side writes the message, then stores owner = other with
 * release; the other side loads owner with acquire before it reads, so the
 * message's bytes happen-before those reads. Only the owner writes the line
 * (message and word), so the previous reader is done before it is rewritten. */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>

#include "../kit/spin.h"

#define MSG_MAX 56

typedef struct line {
  _Alignas(IPCB_LINE) _Atomic uint64_t owner; /* 0: client, 1: peer */
  unsigned char msg[MSG_MAX];
} line;

typedef struct line_ctx {
  int ready;
  line *l;
  uint64_t me;
} line_ctx;

static size_t line_max_message(void) { return MSG_MAX; }

static int line_setup(void *ctx, const ipcb_cfg *cfg, ipcb_rdv *rdv) {
  line_ctx *c = ctx;
  int fd = -1;
  void *map = NULL;
  c->ready = 1;
  if (cfg->max_bytes > MSG_MAX)
    return ipcb_fail_limit(ctx, "a message in the flipped line", cfg->max_bytes,
                           "the line's room", MSG_MAX,
                           "a smaller size (it is a fixed floor)");
  if (cfg->window != 1)
    return ipcb_fail(ctx, -EINVAL, "one line holds one message (window 1)");
  int rc = ipcb__shm_create(ctx, sizeof(line), NULL, &fd, &map);
  if (rc)
    return rc;
  c->l = map; /* zeroed: the client owns the line first */
  rdv->fds[0] = fd;
  rdv->nfds = 1;
  snprintf(rdv->token, sizeof rdv->token, "inherited");
  return 0;
}

static int line_attach(void *ctx, ipcb_role role, const ipcb_cfg *cfg,
                       const ipcb_rdv *rdv) {
  line_ctx *c = ctx;
  (void)cfg;
  c->me = role == IPCB_ROLE_CLIENT ? 0 : 1;
  if (role == IPCB_ROLE_CLIENT)
    return 0;
  void *map = NULL;
  c->ready = 1;
  int rc = ipcb__shm_map_fd(ctx, rdv, sizeof(line), &map);
  c->l = map;
  return rc;
}

/* Both sending and receiving wait for the line to be this side's. */
static int line_send_buf(void *ctx, size_t n, void **buf) {
  line_ctx *c = ctx;
  (void)n;
  *buf = c->l->msg;
  return ipcb__spin_while(ctx, &c->l->owner, 1 - c->me);
}

static int line_send(void *ctx, size_t n) {
  line_ctx *c = ctx;
  (void)n;
  atomic_store_explicit(&c->l->owner, 1 - c->me, memory_order_release);
  return 0;
}

static int line_recv(void *ctx, const void **p, size_t *n) {
  line_ctx *c = ctx;
  (void)n;
  *p = c->l->msg;
  return ipcb__spin_while(ctx, &c->l->owner, 1 - c->me);
}

static void line_teardown(void *ctx, ipcb_role role) {
  line_ctx *c = ctx;
  (void)role;
  if (c->ready && c->l)
    munmap(c->l, sizeof(line));
  c->l = NULL;
}

const ipcb_transport ipcb_tr_CacheLine = {
    .name = "CacheLine",
    .summary = "two processes flipping one shared cache line with atomics "
               "(Baseline/CacheLine)",
    .caps = IPCB_CAP_BASELINE | IPCB_CAP_SHARED_MEMORY | IPCB_CAP_SPINS,
    .ctx_size = sizeof(line_ctx),
    .max_message = line_max_message,
    .setup = line_setup,
    .attach = line_attach,
    .send_buf = line_send_buf,
    .send = line_send,
    .recv = line_recv,
    .teardown = line_teardown,
};
