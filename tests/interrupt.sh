#!/bin/sh
# SIGINT and SIGTERM during a run: ipc_bench dies of the signal (status
# 128 + signal), its peers are gone, its crash journal is removed, and no
# kernel object of ours is left. Run by isolated.sh: in its namespaces every
# object seen is the run's; outside them only what names the run counts.
set -u
bench=$1
fail() { echo "FAIL: $*"; exit 1; }
# pgrep finds the peers; without it (Debian: procps) nothing could be checked.
command -v pgrep >/dev/null || { echo "SKIP: pgrep is missing (procps)"; exit 77; }
uid=$(id -u)
mq_dir=${IPCB_MQUEUE_DIR:-/dev/mqueue}
[ -d "$mq_dir" ] ||
  echo "not isolated: no $mq_dir here: POSIX message queues cannot be listed"
if [ -n "${IPCB_MQUEUE_DIR:-}" ]; then
  echo "isolated: every object in the namespace counts"
else
  echo "not isolated: counted are the run's POSIX names (ipcb.<pid>.), the" \
    "SysV segments it created (cpid) and the SysV objects under the keys its" \
    "journal listed just before the signal; sets and queues made after that" \
    "name no creator and cannot be checked here"
fi
journal=$(mktemp) || exit 2
trap 'rm -f "$journal"' EXIT

# Copies run $1's crash journal to $2 (empty where it has none).
copy_journal() {
  : >"$2"
  for dir in /dev/shm "${TMPDIR:-/tmp}" /tmp; do
    cp "$dir/ipcb-journal.$uid.$1" "$2" 2>/dev/null && return
  done
}

# SysV objects under the keys a copy of a run's crash journal lists
# ("k <shm|sem|msg> <hex key> <id>"): this user's object under one of those
# random keys is the run's. /proc/sysvipc prints keys as signed decimals,
# and the uid column is the 8th for shm and msg, the 5th for sem.
journaled() {
  awk '$1 == "k" { print $2, $3 }' "$1" | while read -r kind key; do
    k=$((0x$key))
    [ "$k" -lt 2147483648 ] || k=$((k - 4294967296))
    [ "$k" -ne 0 ] || continue # IPC_PRIVATE: not a journaled key
    awk -v kind="$kind" -v key="$k" -v uid="$uid" '
      NR > 1 && $1 == key && $(kind == "sem" ? 5 : 8) == uid { print kind ":" $2 }
    ' "/proc/sysvipc/$kind" 2>/dev/null
  done
}

# This user's objects of run $1: isolated, all of them; else those naming it
# (a segment's creator is the 5th column) or journaled.
# shellcheck disable=SC2010 # the names listed are plain: no blanks
objects() {
  for kind in shm sem msg; do
    awk -v kind="$kind" -v uid="$uid" -v pid="$1" \
      -v all="${IPCB_MQUEUE_DIR:+1}" '
      NR > 1 && $(kind == "sem" ? 5 : 8) == uid &&
        (all || (kind == "shm" && $5 == pid)) { print kind ":" $2 }
    ' "/proc/sysvipc/$kind" 2>/dev/null
  done
  journaled "$journal"
  [ -z "${IPCB_MQUEUE_DIR:-}" ] ||
    ls /dev/shm "$mq_dir" | grep -E 'ipcb\.|^ipcb-journal\.'
  # Its names, and its journal (in $TMPDIR or /tmp where /dev/shm was not
  # writable; /tmp is the host's even in isolation).
  ls /dev/shm "$mq_dir" "${TMPDIR:-/tmp}" /tmp 2>/dev/null |
    grep -E -e "ipcb\.$1\." -e "^ipcb-journal\.$uid\.$1(\.new)?\$"
}

for signal in INT TERM; do
  for filter in 'PingPong/SysV' 'PingPong/(PosixShm|PosixMQ|Pipe)'; do
    "$bench" --benchmark_filter="$filter" --benchmark_min_time=30 \
      --ipc_sizes=4KiB >/dev/null 2>&1 &
    pid=$!
    sleep 1
    copy_journal "$pid" "$journal"
    kill -s "$signal" "$pid"
    wait "$pid"
    status=$?
    case $signal in INT) want=130 ;; TERM) want=143 ;; esac
    [ "$status" -eq "$want" ] ||
      fail "SIG$signal on '$filter': exit status $status, expected $want"
    sleep 0.3
    if pgrep -f -- "--ipc_fds=[0-9]+,[0-9]+,$pid( |$)" >/dev/null; then
      fail "SIG$signal on '$filter': a peer of pid $pid is still running"
    fi
    left=$(objects "$pid" | sort -u)
    [ -z "$left" ] || fail "SIG$signal on '$filter': left behind: $left"
    echo "ok: SIG$signal during '$filter' -> status $status, nothing left"
  done
done
