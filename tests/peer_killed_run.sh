#!/bin/sh
# A peer killed in the middle of a run: that benchmark is reported with the
# peer's fate as its error, and ipc_bench goes on to the next one.
set -u
bench=$1
out=${2:-peer_killed_run.json}
fail() { echo "FAIL: $*"; exit 1; }
# pgrep finds the peers; without it (Debian: procps) nothing could be checked.
command -v pgrep >/dev/null || { echo "SKIP: pgrep is missing (procps)"; exit 77; }
"$bench" --benchmark_filter='PingPong/(SysVShm|Pipe)/4096$' \
  --benchmark_min_time=3 --benchmark_out="$out" --benchmark_out_format=json \
  >/dev/null 2>&1 &
pid=$!
# The first benchmark is Pipe (registry order). Each of its runs has a
# peer of its own, and the short runs that size the iteration count spend
# most of their time starting and stopping it: a kill that lands there,
# outside the timed loop, is no error of the benchmark. So only a peer that
# has lived 0.3 s, which belongs to a run that long, is killed.
killed=""
for _ in $(seq 1 100); do
  peer=$(pgrep -f -- "--ipc_peer=Pipe .*--ipc_fds=[0-9]+,[0-9]+,$pid( |$)" | head -n 1)
  if [ -n "$peer" ]; then
    sleep 0.3
    if kill -0 "$peer" 2>/dev/null && kill -KILL "$peer" 2>/dev/null; then
      killed=$peer
      break
    fi
  fi
  sleep 0.05
done
[ -n "$killed" ] || { kill "$pid"; fail "no Pipe peer of pid $pid to kill"; }
wait "$pid"
status=$?
# The run went on, and its status says a benchmark failed.
[ "$status" -eq 1 ] || fail "ipc_bench exited with $status, expected 1"
python3 - "$out" <<'PY' || exit 1
import json, sys
runs = {b["run_name"]: b for b in json.load(open(sys.argv[1]))["benchmarks"]}
pipe = runs.get("PingPong/Pipe/4096/real_time", {})
shm = runs.get("PingPong/SysVShm/4096/real_time", {})
err = pipe.get("error_message", "")
if "SIGKILL" not in err:
    sys.exit("FAIL: Pipe's error does not name the peer's death: %r" % err)
if "error_message" in shm or shm.get("iterations", 0) < 1:
    sys.exit("FAIL: the next benchmark did not run: %r" % shm)
print("ok: Pipe reported %r; SysVShm ran %d iterations" % (err, shm["iterations"]))
PY
