/* The hand-over of ShmFcntl (src/transports/posix/shm_fcntl.c), model-
 * checked with spin: the client C and the peer P pass the turn H times with
 * POSIX record locks, as the kernel grants them:
 *   - a request for a free lock, or for one the requester holds, is granted
 *     at once (POSIX: a process never blocks on its own lock);
 *   - a request that would block is refused with EDEADLK when the holder
 *     is itself blocked on a lock the requester holds;
 *   - an unlock takes the waiters off the wait list (they are no longer
 *     blocked, and ask again when they run);
 *   - a blocked request may be ended by a signal (EINTR) and is asked
 *     again, up to MAX_EINTR times in a run;
 *   - either side may die at any step once attached: the kernel drops its
 *     locks (the client also drops them when it gives up and closes).
 * Checked: no EDEADLK ever; the turns strictly alternate (a side that is
 * granted its lock was handed the turn, unless the other side died); every
 * wait ends (no invalid end state), even after a death. An unlock that
 * trims a merged lock wakes waiters that need not run: the retry below. 
 *
 * One protocol per build, selected with -D:
 *   THREE_LOCKS    shm_fcntl.c: unlock L[k], then wait for L[k+1] (mod 3).
 *   TWO_LOCKS      the same with two locks: the mover waits for a lock it
 *                  holds, so the turns do not alternate; the check must say so.
 *   REQUEST_FIRST  three locks, but wait for L[k+1] before unlocking L[k]:
 *                  the kernel must answer EDEADLK; the check must say so. */
#define H 6
#define MAX_EINTR 3
#define FREE 0
#define NONE 9
#if defined(TWO_LOCKS)
#define NLOCKS 2
#else
#define NLOCKS 3
#endif

byte owner[NLOCKS];          /* FREE, or 1 (C) / 2 (P) */
byte waiting[3] = NONE;      /* the lock each side is blocked on */
byte turns = 0; /* hand-overs counted (the region's atomic_fetch_add) */
byte turn = 1;  /* who may run: counting a hand-over gives the turn */
byte kill = 0, dead = 0; /* the side killed: 1 (C) or 2 (P) */
byte interrupts = 0;
bit deadlock = 0;
bit client_attached = 0, peer_attached = 0; /* the region's `holding` */

inline unlock(me, i) {
  atomic {
    owner[i] = FREE;
    if
    :: waiting[3 - me] == i -> waiting[3 - me] = NONE
    :: else -> skip
    fi
  }
}

/* F_SETLKW on lock i, retried after EINTR, until granted. */
inline wait_for(me, i) {
  do
  :: atomic {
       if
       :: owner[i] == FREE || owner[i] == me -> owner[i] = me; break
       :: else ->
          if /* the kernel's deadlock search */
          :: waiting[3 - me] != NONE && owner[waiting[3 - me]] == me ->
             deadlock = 1
          :: else -> waiting[me] = i
          fi
       fi
     };
     assert(!deadlock);
     if
     :: waiting[me] == NONE
     :: atomic { waiting[me] != NONE && interrupts < MAX_EINTR ->
                 waiting[me] = NONE; interrupts++ }
     fi
  od
}

/* One side: `give` is -1 for the peer's first wait. Returns when H
 * hand-overs are made or the other side died. */
inline side(me, give, take) {
  byte before;
  do
  :: turns >= H -> break
  :: else ->
#if defined(REQUEST_FIRST)
     if
     :: give != 255 -> atomic { turns++; before = turns; turn = 3 - me };
                       wait_for(me, take); unlock(me, give)
     :: else -> before = 0; wait_for(me, take)
     fi;
#else
     if
     :: give != 255 -> atomic { turns++; before = turns; turn = 3 - me };
                       unlock(me, give)
     :: else -> before = 0
     fi;
     if
     :: turns >= H -> break /* the last hand-over: nobody answers it */
     :: else -> wait_for(me, take)
     fi;
#endif
     if
     :: turns == before -> assert(dead == 3 - me); break /* IPCB_EPEERDIED */
     :: else -> assert(turn == me)
     fi;
     give = (take + 1) % NLOCKS;
     take = (take + 2) % NLOCKS
  od
}

/* The kernel's part of a death: the dead side's locks go, its waits too. */
inline die(me) {
  atomic {
    dead = me;
    waiting[me] = NONE;
    i = 0;
    do
    :: i < NLOCKS -> if :: owner[i] == me -> unlock(me, i) :: else fi; i++
    :: else -> break
    od
  }
}

/* K kills one side at any one step, or none. (unless gives the escape
 * priority: a side makes no step once killed.) A death is modelled once
 * both sides hold their first locks; before that, attach polls
 * ipcb_interrupted(), which reports it. */
active proctype K() {
  if
  :: atomic { client_attached && peer_attached && turns < H -> kill = 1 }
  :: atomic { client_attached && peer_attached && turns < H -> kill = 2 }
  :: skip
  fi
}

active proctype C() {
  byte give = 0, take = 1, i = 0;
  {
    atomic {
      owner[0] = 1;
#if !defined(TWO_LOCKS)
      owner[2] = 1;
#endif
      client_attached = 1
    };
    (peer_attached); /* attach: the flag the peer set once it held L[1] */
    side(1, give, take)
  } unless { kill == 1 -> die(1) }
}

active proctype P() {
  byte give = 255, take = 0, i = 0;
  {
    atomic { owner[1] = 2; peer_attached = 1 };
    (client_attached);
    side(2, give, take)
  } unless { kill == 2 -> die(2) }
}
