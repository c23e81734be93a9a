#!/bin/sh
# Two ipc_bench runs by the same user at the same moment, over transports
# that make named and SysV objects: neither disturbs the other (names, the
# start-up sweep, the hygiene of each), both give every result, and nothing
# of either is left. Run by isolated.sh: in its namespaces every object seen
# is the runs'; outside them only what names one of the two runs counts.
#
# usage: concurrent_runs.sh ipc_bench out_dir
set -u
bench=$1 out=$2
filter='(PingPong|Stream)/(PosixShm|SysVShm|SysVMsg|PosixMQ|UnixStream|ShmFutex)/4096$'
fail() { echo "FAIL: $*"; exit 1; }
command -v pgrep >/dev/null || { echo "SKIP: pgrep is missing (procps)"; exit 77; }
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3) ||
  { echo "SKIP: python3 is missing"; exit 77; }
mkdir -p "$out" || exit 2
rm -f "$out"/run_* "$out"/journal_*

journals=$out
# shellcheck source=tests/run_objects.sh
. "$(dirname "$0")/run_objects.sh"
isolated ||
  echo "not isolated: counted are the runs' POSIX names (ipcb.<pid>.), the" \
    "SysV segments they created (cpid), their journals, and the SysV objects" \
    "under the keys their journals listed when last copied (every 0.1 s);" \
    "sets and queues made after that name no creator and cannot be checked"

# A child not yet waited for is a zombie that kill -0 still finds.
alive() { awk '{ exit $3 == "Z" }' "/proc/$1/stat" 2>/dev/null; }
# A peer of run $1 over a transport matching $2 is alive: the run is inside
# one of its benchmarks.
in_benchmark() {
  pgrep -f -- "--ipc_peer=$2 .*--ipc_fds=[0-9]+,[0-9]+,$1( |$)" >/dev/null
}
wait_in_benchmark() {
  for _ in $(seq 1 200); do
    in_benchmark "$1" "$2" && return 0
    alive "$1" || return 1
    sleep 0.05
  done
  return 1
}

run() {
  "$bench" --benchmark_filter="$filter" --benchmark_min_time=0.2 \
    --benchmark_out="$out/run_$1.json" --benchmark_out_format=json \
    >"$out/run_$1.out" 2>"$out/run_$1.err" &
}

"$bench" --benchmark_list_tests --benchmark_filter="$filter" >"$out/expected.txt" ||
  fail "ipc_bench --benchmark_list_tests failed"
run a
a=$!
# The second starts, and sweeps, while the first is inside its first SysV
# benchmark: its queues, listed in its journal, live for the whole of it
# (POSIX names go once the peer holds them).
wait_in_benchmark "$a" 'SysV[A-Za-z]*' ||
  { kill "$a"; fail "run a (pid $a) never began a SysV benchmark"; }
run b
b=$!
wait_in_benchmark "$b" '[A-Za-z]*' ||
  { kill "$a" "$b"; fail "run b (pid $b) never began a benchmark"; }
alive "$a" || fail "run a ended before run b began: no overlap"
echo "overlap: run b (pid $b) in a benchmark while run a (pid $a) runs"
while alive "$a" || alive "$b"; do
  copy_journal "$a"
  copy_journal "$b"
  sleep 0.1
done
wait "$a"
status_a=$?
wait "$b"
status_b=$?
grep -H '^ipc_bench' "$out/run_a.err" "$out/run_b.err"
[ "$status_a" -eq 0 ] || fail "run a exited with $status_a (see $out/run_a.err)"
[ "$status_b" -eq 0 ] || fail "run b exited with $status_b (see $out/run_b.err)"
# In a namespace of their own no run was ever killed: a sweep that removed
# something took the other's live objects.
if [ -n "${IPCB_MQUEUE_DIR:-}" ] && cat "$out"/run_?.err | grep -q 'removed .* left by'; then
  fail "a start-up sweep removed objects, yet no run was killed"
fi
"$python" - "$out/expected.txt" "$out/run_a.json" "$out/run_b.json" <<'PY' || exit 1
import json, sys
expected = [l.strip() for l in open(sys.argv[1]) if l.strip()]
if len(expected) < 2:
    sys.exit("FAIL: only %r matched the filter" % expected)
for path in sys.argv[2:]:
    runs = {b["name"]: b for b in json.load(open(path))["benchmarks"]
            if b.get("run_type", "iteration") == "iteration"}
    for name in expected:
        b = runs.get(name)
        if b is None:
            sys.exit("FAIL: %s lacks %s" % (path, name))
        if b.get("error_occurred"):
            sys.exit("FAIL: %s: %s: %s" % (path, name, b.get("error_message")))
        if not b.get("real_time", 0) > 0:
            sys.exit("FAIL: %s: %s: real_time %r" % (path, name, b.get("real_time")))
    print("ok: %s has all %d benchmarks, none failed" % (path, len(expected)))
PY
sleep 0.3
if pgrep -f -- "--ipc_fds=[0-9]+,[0-9]+,($a|$b)( |$)" >/dev/null; then
  fail "a peer of run a or b is still running"
fi
left=$(objects "$a" "$b" | sort -u)
[ -z "$left" ] || fail "left behind: $left"
echo "ok: two runs at once, every result, nothing left"
