/* A client endpoint with no peer process: the test plays the peer with what
 * the peer would have been given (an inherited descriptor, or the ids in the
 * rendezvous token) and writes what a corrupt or hostile peer could. Only
 * for transports whose client attach does not wait for the peer. */
#ifndef IPCB_TESTS_HOSTILE_ENDPOINT_H
#define IPCB_TESTS_HOSTILE_ENDPOINT_H

#include <stddef.h>

#include "ipcb/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hostile_endpoint hostile_endpoint;

/* NULL with *err filled on failure. *peer_fd is the first inherited
 * descriptor (the test's to close) or -1; *token the rendezvous token. */
hostile_endpoint *hostile_open(const char *transport, size_t max_bytes,
                               int *peer_fd, const char **token,
                               const char **err);
/* Runs only the transport's setup(), with no peer: every object it makes
 * exists, and no other process holds one. fds[0..*nfds) are the rendezvous
 * descriptors, the test's to close; hostile_close() tears the rest down.
 * NULL with *err filled on failure. */
hostile_endpoint *hostile_setup_only(const char *transport, size_t max_bytes,
                                     int fds[IPCB_RDV_MAX_FDS], int *nfds,
                                     const char **err);
/* Receives one message of n bytes and releases it: 0 or a negative code,
 * with *err the endpoint's error text. */
int hostile_recv(hostile_endpoint *h, size_t n, const char **err);
void hostile_close(hostile_endpoint *h);

#ifdef __cplusplus
}
#endif
#endif
