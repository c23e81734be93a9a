/* The inline chunks of MachMsg and CFMachPort (macOS), so that both send the
 * same Mach messages. A helper: no registry line.
 *
 * A message above IPCB_MACH_CHUNK bytes goes as several Mach messages. No
 * extra copy: each chunk's header is written into the bytes just before the
 * chunk, which belong to the previous chunk (already sent) or to the
 * IPCB_MACH_SPARE bytes of room ahead of the buffer; IPCB_MACH_TAIL bytes
 * after it take the size's rounding and, on receive, the largest trailer. */
#ifndef IPCB_MACH_CHUNKS_H
#define IPCB_MACH_CHUNKS_H

#include <mach/mach.h>
#include <stddef.h>
#include <stdint.h>

#include "mach_common.h"

/* A multiple of 64 so every chunk starts on a line, well under the cap of
 * an inline body (3/4 of IPC_KMSG_MAX_SPACE, 64 MiB: osfmk/ipc/ipc_kmsg.c). */
#define IPCB_MACH_CHUNK ((size_t)(48u << 20) - 4096)
#define IPCB_MACH_SPARE 64
#define IPCB_MACH_TAIL 128

typedef struct ipcb_mach_chunk {
  mach_msg_header_t hdr;
  uint32_t index, count;
  uint64_t total;
} ipcb_mach_chunk;

static inline size_t ipcb__mach_chunks_of(size_t n) {
  return n ? (n + IPCB_MACH_CHUNK - 1) / IPCB_MACH_CHUNK : 1;
}

/* The length of chunk i of a message of `total` bytes. */
static inline size_t ipcb__mach_chunk_len(size_t total, size_t i) {
  size_t off = i * IPCB_MACH_CHUNK;
  return total - off < IPCB_MACH_CHUNK ? total - off : IPCB_MACH_CHUNK;
}

/* xnu wants message sizes in multiples of 4 bytes. */
static inline mach_msg_size_t ipcb__mach_wire_size(size_t len) {
  return (mach_msg_size_t)((sizeof(ipcb_mach_chunk) + len + 3) & ~(size_t)3);
}

/* The sending half of MachMsg and CFMachPort: a transport embeds it as the
 * FIRST member of its context and plugs the functions below into its
 * table. sbuf holds IPCB_MACH_SPARE + max_bytes + IPCB_MACH_TAIL bytes. */
typedef struct ipcb_mach_chunked {
  ipcb_mach_link link;
  unsigned char *sbuf;
} ipcb_mach_chunked;
int ipcb__mach_chunked_send_buf(void *ctx, size_t n, void **buf);
/* Sends the n bytes at sbuf + IPCB_MACH_SPARE to link.tx, chunk by chunk. */
int ipcb__mach_chunked_send(void *ctx, size_t n);
/* queue_depth(): link.rx holds cfg->window messages of that many chunks. */
long ipcb__mach_chunked_queue_depth(void *ctx, const ipcb_cfg *cfg, char *limit,
                                    size_t len);

#endif /* IPCB_MACH_CHUNKS_H */
