#!/bin/sh
# SIGINT and SIGTERM during a run: ipc_bench dies of the signal (status
# 128 + signal), its peers are gone, and no kernel object of ours is left.
set -u
bench=$1
fail() { echo "FAIL: $*"; exit 1; }
# pgrep finds the peers; without it (Debian: procps) nothing could be checked.
command -v pgrep >/dev/null || { echo "SKIP: pgrep is missing (procps)"; exit 77; }
objects() {
  # SysV ids owned by us, and our POSIX names.
  cat /proc/sysvipc/shm /proc/sysvipc/sem /proc/sysvipc/msg 2>/dev/null |
    awk -v uid="$(id -u)" 'NR > 0 && $2 ~ /^[0-9]+$/ {print $2}' | sort
  ls /dev/shm /dev/mqueue 2>/dev/null | grep 'ipcb\.' | sort
}
for signal in INT TERM; do
  for filter in 'PingPong/SysV' 'PingPong/(PosixShm|PosixMQ|Pipe)'; do
    before=$(objects)
    "$bench" --benchmark_filter="$filter" --benchmark_min_time=30 \
      --ipc_sizes=4KiB >/dev/null 2>&1 &
    pid=$!
    sleep 1
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
    # What stays for a second (other programs' objects come and go).
    first=$(objects)
    sleep 1
    left=$(objects | grep -xF "$first" | grep -vxF "$before")
    [ -z "$left" ] || fail "SIG$signal on '$filter': left behind: $left"
    echo "ok: SIG$signal during '$filter' -> status $status, nothing left"
  done
done
