/* The sleep/wake protocol of the shared-memory rings, model-checked with
 * spin: a publisher P stores a counter N times; a consumer W waits for each
 * value, sleeping on the counter the way FUTEX_WAIT and __ulock_wait do
 * (compare and enqueue in one step, in the kernel) and woken the way
 * FUTEX_WAKE does (dequeue one sleeper in one step). Promela interleaves
 * steps in one total order, which is what the seq_cst operations of the C
 * code give. A lost wake-up is W asleep at the end: an invalid end state.
 *
 * One protocol per build, selected with -D:
 *   WAKE_AT       shm_ring.h (ShmFutex, ShmEventfd): the sleeper stores the
 *                 value that must wake it; the publisher wakes on a match.
 *   WAITER_COUNT  shm_ulock.c (ShmUlock): the sleeper counts itself in
 *                 around the sleep; the publisher wakes if the count is set.
 *   EXCHANGE_FLAG an earlier shm_ring.h: a 0/1 flag that the publisher takes
 *                 with an exchange. It loses wake-ups; the check must say so.
 *
 * W may also wake once for no reason (a signal, a spurious futex return)
 * and must then go back to sleep correctly. */
#define N 4

byte counter = 0;  /* head (or tail): written by P only */
byte announce = 0; /* the wake_at value, the waiter count or the flag */
bit queued = 0;    /* W is in the kernel's wait queue */
bit spurious_left = 1;

inline kernel_wake() {
  atomic { if :: queued -> queued = 0 :: else -> skip fi }
}

active proctype P() {
  byte value = 0;
  do
  :: value < N ->
     value++;
     counter = value;
#if defined(WAKE_AT)
     if
     :: announce == value -> kernel_wake()
     :: else -> skip
     fi
#elif defined(WAITER_COUNT)
     if
     :: announce > 0 -> kernel_wake()
     :: else -> skip
     fi
#elif defined(EXCHANGE_FLAG)
     if
     :: atomic { announce == 1 -> announce = 0 }; kernel_wake()
     :: atomic { announce == 0 -> skip }
     fi
#else
#error "define WAKE_AT, WAITER_COUNT or EXCHANGE_FLAG"
#endif
  :: else -> break
  od
}

active proctype W() {
  byte seen = 0;
  do
  :: seen < N ->
     do /* await(counter != seen) */
     :: counter != seen -> break
     :: counter == seen ->
#if defined(WAKE_AT)
        announce = seen + 1;
#elif defined(WAITER_COUNT)
        announce++;
#else
        announce = 1;
#endif
        if
        :: counter == seen -> /* the sleep: compare and enqueue, then block */
           atomic { if :: counter == seen -> queued = 1 :: else -> skip fi };
           if
           :: queued == 0
           :: atomic { queued == 1 && spurious_left -> queued = 0;
                       spurious_left = 0 }
           fi
        :: counter != seen -> skip
        fi;
#if defined(WAITER_COUNT)
        announce--
#else
        skip
#endif
     od;
     seen++
  :: else -> break
  od
}
