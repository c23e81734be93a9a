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

/* Send the n bytes at sbuf + IPCB_MACH_SPARE to `to`, chunk by chunk. */
int ipcb__mach_send_chunks(void *ctx, mach_port_t to, unsigned char *sbuf,
                           size_t n);

#endif /* IPCB_MACH_CHUNKS_H */
