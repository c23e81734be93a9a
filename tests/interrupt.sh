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
journals=$(mktemp -d) || exit 2
trap 'rm -rf "$journals"' EXIT
# shellcheck source=tests/run_objects.sh
. "$(dirname "$0")/run_objects.sh"
isolated ||
  echo "not isolated: counted are the run's POSIX names (ipcb.<pid>.), the" \
    "SysV segments it created (cpid) and the SysV objects under the keys its" \
    "journal listed just before the signal; sets and queues made after that" \
    "name no creator and cannot be checked here"

for signal in INT TERM; do
  for filter in 'PingPong/SysV' 'PingPong/(PosixShm|PosixMQ|Pipe)'; do
    "$bench" --benchmark_filter="$filter" --benchmark_min_time=30 \
      --ipc_sizes=4KiB >/dev/null 2>&1 &
    pid=$!
    sleep 1
    copy_journal "$pid"
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
