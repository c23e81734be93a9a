/* Minimal two-process ping-pongs, one per mechanism, written as plainly as
 * the mechanism allows: the yardstick for ipc_bench's own transports. No
 * stamps, no deadlines, no cleanup on a crash: not part of the product.
 *
 *   pingpong_reference <pipe|unix|tcp|futex|mq|sysvshm|spin> <bytes>
 *                      <round trips> [<client cpu> <peer cpu>]
 *
 * Prints the mean round trip in ns over the timed round trips (after 1000
 * untimed ones), then their p50, p99, p999 and max. Each round trip is timed
 * as ipc_bench times one PingPong iteration, with one read of the CPU's
 * counter, scaled to ns by the whole loop, so that the two sets of
 * percentiles pay for the same clock. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 1000

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static uint64_t ticks(void) { return __rdtsc(); }
#elif defined(__aarch64__)
static uint64_t ticks(void) {
  uint64_t v;
  __asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v));
  return v;
}
#else
static uint64_t ticks(void);
#define TICKS_ARE_NS 1
#endif

static void die(const char *what) {
  perror(what);
  exit(1);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#ifdef TICKS_ARE_NS
static uint64_t ticks(void) { return (uint64_t)now_ns(); }
#endif

static void pin(int cpu) {
  cpu_set_t set;
  if (cpu < 0)
    return;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0)
    die("sched_setaffinity");
}

/* One mechanism: each side sends then receives (client) or receives then
 * sends (peer) `bytes` through its own endpoints. */
typedef struct mech {
  void (*send)(int side, void *buf, size_t n);
  void (*recv)(int side, void *buf, size_t n);
} mech;

/* ---- descriptors: pipe, unix, tcp -------------------------------------- */
static int rd[2], wr[2]; /* [side] */

static void fd_send(int side, void *buf, size_t n) {
  for (size_t off = 0; off < n;) {
    ssize_t w = write(wr[side], (char *)buf + off, n - off);
    if (w <= 0)
      die("write");
    off += (size_t)w;
  }
}

static void fd_recv(int side, void *buf, size_t n) {
  for (size_t off = 0; off < n;) {
    ssize_t r = read(rd[side], (char *)buf + off, n - off);
    if (r <= 0)
      die("read");
    off += (size_t)r;
  }
}

static void pipe_init(void) {
  int a[2], b[2];
  if (pipe(a) || pipe(b))
    die("pipe");
  wr[0] = a[1], rd[1] = a[0], wr[1] = b[1], rd[0] = b[0];
}

static void unix_init(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
    die("socketpair");
  rd[0] = wr[0] = sv[0];
  rd[1] = wr[1] = sv[1];
}

static void tcp_init(void) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
      getsockname(l, (struct sockaddr *)&a, &len))
    die("listen");
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a))
    die("connect");
  int s = accept(l, NULL, NULL);
  if (s < 0)
    die("accept");
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  close(l);
  rd[0] = wr[0] = c;
  rd[1] = wr[1] = s;
}

/* Shared memory for the two directions, each `header + bytes` rounded up to
 * pages; *each is the distance between them. */
static unsigned char *map_directions(size_t header, size_t bytes,
                                     size_t *each) {
  *each = (header + bytes + 4095) & ~(size_t)4095;
  unsigned char *p = mmap(NULL, 2 * *each, PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    die("mmap");
  return p;
}

/* ---- futex: a shared word and a shared buffer per direction ------------ */
typedef struct futex_dir {
  _Atomic uint32_t seq;
  unsigned char data[];
} futex_dir;
static futex_dir *fdir[2]; /* [side]: what that side sends on */
static uint32_t fseq[2];   /* per direction, each side's copy */
static size_t fmax;

static void futex_init(size_t bytes) {
  size_t each;
  unsigned char *p = map_directions(sizeof(futex_dir), bytes, &each);
  fdir[0] = (futex_dir *)p;
  fdir[1] = (futex_dir *)(p + each);
  fmax = bytes;
}

static void futex_send(int side, void *buf, size_t n) {
  futex_dir *d = fdir[side];
  memcpy(d->data, buf, n);
  atomic_store(&d->seq, ++fseq[side]);
  syscall(SYS_futex, &d->seq, FUTEX_WAKE, 1, NULL, NULL, 0);
}

static void futex_recv(int side, void *buf, size_t n) {
  futex_dir *d = fdir[1 - side];
  uint32_t want = ++fseq[1 - side];
  uint32_t v;
  while ((v = atomic_load(&d->seq)) != want)
    syscall(SYS_futex, &d->seq, FUTEX_WAIT, v, NULL, NULL, 0);
  memcpy(buf, d->data, n);
}

/* ---- spin: a counter and a buffer per direction, busy-waiting --------- */
/* The counter has a line of its own, as in ShmSpin, so the receiver's spin
 * does not pull the payload's line away while the sender writes it. */
typedef struct spin_dir {
  _Alignas(64) _Atomic uint64_t seq;
  _Alignas(64) unsigned char data[];
} spin_dir;
static spin_dir *sdir[2]; /* [side]: what that side sends on */
static uint64_t sseq[2];

static void spin_init(size_t bytes) {
  size_t each;
  unsigned char *p = map_directions(sizeof(spin_dir), bytes, &each);
  sdir[0] = (spin_dir *)p;
  sdir[1] = (spin_dir *)(p + each);
}

static void relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield" ::: "memory");
#endif
}

static void spin_send(int side, void *buf, size_t n) {
  spin_dir *d = sdir[side];
  memcpy(d->data, buf, n);
  atomic_store_explicit(&d->seq, ++sseq[side], memory_order_release);
}

static void spin_recv(int side, void *buf, size_t n) {
  spin_dir *d = sdir[1 - side];
  uint64_t want = ++sseq[1 - side];
  for (unsigned spins = 1;
       atomic_load_explicit(&d->seq, memory_order_acquire) != want; spins++)
    if (relax(), spins % 1024 == 0) /* on one CPU, let the other side run */
      sched_yield();
  memcpy(buf, d->data, n);
}

/* ---- POSIX message queues ---------------------------------------------- */
static mqd_t mq[2]; /* [side]: the queue that side sends on */

static void mq_init(size_t bytes) {
  struct mq_attr attr = {.mq_maxmsg = 1, .mq_msgsize = (long)bytes};
  char name[64];
  for (int i = 0; i < 2; i++) {
    snprintf(name, sizeof name, "/ipcb-reference-%d-%d", (int)getpid(), i);
    mq[i] = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (mq[i] == (mqd_t)-1)
      die("mq_open");
    mq_unlink(name);
  }
}

static void mq_send_(int side, void *buf, size_t n) {
  if (mq_send(mq[side], buf, n, 0))
    die("mq_send");
}

static void mq_recv_(int side, void *buf, size_t n) {
  if (mq_receive(mq[1 - side], buf, n, NULL) != (ssize_t)n)
    die("mq_receive");
}

/* ---- SysV shared memory with two SysV semaphores ----------------------- */
static unsigned char *shm;
static int sem; /* semaphore i: data waiting for side i */

static void sysv_init(size_t bytes) {
  int id = shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0600);
  if (id < 0)
    die("shmget");
  shm = shmat(id, NULL, 0);
  shmctl(id, IPC_RMID, NULL); /* gone once both have detached */
  sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
  if (shm == (void *)-1 || sem < 0)
    die("semget");
}

static void sysv_send(int side, void *buf, size_t n) {
  struct sembuf up = {(unsigned short)(1 - side), 1, 0};
  memcpy(shm, buf, n);
  if (semop(sem, &up, 1))
    die("semop");
}

static void sysv_recv(int side, void *buf, size_t n) {
  struct sembuf down = {(unsigned short)side, -1, 0};
  while (semop(sem, &down, 1))
    if (errno != EINTR)
      die("semop");
  memcpy(buf, shm, n);
}

static int by_value(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The nearest-rank percentile, as ipc_bench's histogram ranks them. */
static double percentile(const uint64_t *sorted, long n, double p,
                         double ns_per_tick) {
  double exact = p / 100.0 * (double)n;
  long rank = (long)exact;
  if ((double)rank < exact)
    rank++;
  if (rank < 1)
    rank = 1;
  return ns_per_tick * (double)sorted[rank - 1];
}

/* The client's timed loop: one counter read per round trip, as in
 * ipc_bench's PingPong, into an array written before the loop so that no
 * page fault lands in it. */
static void run_client(const mech *m, unsigned char *buf, size_t bytes,
                       long trips, const char *what) {
  uint64_t *trip = calloc((size_t)trips, sizeof *trip);
  if (!trip)
    die("calloc");
  memset(trip, 0xff, (size_t)trips * sizeof *trip);
  for (long i = 0; i < WARMUP; i++)
    m->send(0, buf, bytes), m->recv(0, buf, bytes);
  int64_t start = now_ns();
  uint64_t first = ticks(), last = first;
  for (long i = 0; i < trips; i++) {
    m->send(0, buf, bytes);
    m->recv(0, buf, bytes);
    uint64_t now = ticks();
    trip[i] = now - last;
    last = now;
  }
  int64_t elapsed = now_ns() - start;
  double ns_per_tick =
      last > first ? (double)elapsed / (double)(last - first) : 1.0;
  qsort(trip, (size_t)trips, sizeof *trip, by_value);
  printf("%s %zu B: %.0f ns per round trip; p50 %.0f p99 %.0f p999 %.0f "
         "max %.0f ns\n",
         what, bytes, (double)elapsed / (double)trips,
         percentile(trip, trips, 50, ns_per_tick),
         percentile(trip, trips, 99, ns_per_tick),
         percentile(trip, trips, 99.9, ns_per_tick),
         ns_per_tick * (double)trip[trips - 1]);
  free(trip);
}

static int usage(const char *argv0, const char *problem) {
  if (problem)
    fprintf(stderr, "pingpong_reference: %s\n", problem);
  fprintf(stderr,
          "usage: %s <pipe|unix|tcp|futex|mq|sysvshm|spin> <bytes> "
          "<round trips> [<client cpu> <peer cpu>]\n"
          "  bytes and round trips are whole numbers of at least 1\n",
          argv0);
  return 2;
}

static long positive(const char *text) {
  char *end = NULL;
  errno = 0;
  long v = strtol(text, &end, 10);
  return errno || end == text || *end || v < 1 ? -1 : v;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 6)
    return usage(argv[0], NULL);
  const char *what = argv[1];
  long bytes_arg = positive(argv[2]), trips = positive(argv[3]);
  if (bytes_arg < 0 || trips < 0)
    return usage(argv[0], "bytes and round trips must be at least 1");
  size_t bytes = (size_t)bytes_arg;
  int cpu[2] = {-1, -1};
  if (argc == 6)
    cpu[0] = atoi(argv[4]), cpu[1] = atoi(argv[5]);
  mech m = {fd_send, fd_recv};
  if (!strcmp(what, "pipe"))
    pipe_init();
  else if (!strcmp(what, "unix"))
    unix_init();
  else if (!strcmp(what, "tcp"))
    tcp_init();
  else if (!strcmp(what, "futex"))
    futex_init(bytes), m = (mech){futex_send, futex_recv};
  else if (!strcmp(what, "mq"))
    mq_init(bytes), m = (mech){mq_send_, mq_recv_};
  else if (!strcmp(what, "sysvshm"))
    sysv_init(bytes), m = (mech){sysv_send, sysv_recv};
  else if (!strcmp(what, "spin"))
    spin_init(bytes), m = (mech){spin_send, spin_recv};
  else
    return usage(argv[0], "unknown mechanism");
  unsigned char *buf = calloc(1, bytes);
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  int side = pid == 0;
  pin(cpu[side]);
  if (side == 1) {
    for (long i = 0; i < WARMUP + trips; i++)
      m.recv(1, buf, bytes), m.send(1, buf, bytes);
    _exit(0);
  }
  run_client(&m, buf, bytes, trips, what);
  waitpid(pid, NULL, 0);
  if (!strcmp(what, "sysvshm"))
    semctl(sem, 0, IPC_RMID);
  free(buf);
  return 0;
}
