#!/usr/bin/env python3
"""bench/tools on real ipc_bench runs made by the test.

    live_test.py run  --bench IPC_BENCH --dir DIR   two runs: DIR/run.json, DIR/run2.json
    live_test.py gate --bench IPC_BENCH --dir DIR   the same binary passes; slower copies fail
    live_test.py plot --dir DIR                     PNG and SVG from DIR/run.json

The gate check measures the way the CI workflow does: the "baseline" and the
"contender" (here the same binary) take turns, one repetition each, in the
order base, head, head, base, ... so that drift in load or clock speed, and
any cost of going second, fall on both alike; the repetitions are then
merged. On a shared machine a burst of load can still make one side
look slower; a flagged regression is measured again once, and the test fails
only if the second measurement flags one too. Copies of the baseline made
25% and 3 times slower must then be flagged wherever the repetitions spread
too little to hide the change; if none do, the test is skipped (77), since
it would have checked nothing.
"""

import argparse
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

from toolstest import SKIP, load, run_tool, save, scaled

# The runs feed the plot test too, so they include Stream; the gate, which
# takes 18 runs, sticks to PingPong to keep the test short.
RUN_FILTER = "--benchmark_filter=(PingPong|Stream)/(Pipe|SysVShm)/"
GATE_FILTER = "--benchmark_filter=PingPong/(Pipe|SysVShm)/"
SIZES = "--ipc_sizes=12,4KiB,64KiB"
# A stock Mac caps a System V segment at 4 MiB (kern.sysv.shmmax) and all of
# them at 1024 pages (kern.sysv.shmall: 4 MiB with 4 KiB pages), and a
# Stream/SysVShm window holds a 64 KiB slot per message in each direction:
# 16 messages make 1 MiB a direction, where the default 64 would ask for 4 MiB
# a direction and fail wherever the limits cannot be raised.
RUN_WINDOW = "--ipc_window=16"
ROUNDS = 9  # as in the pull-request workflow


def bench(exe, out, *flags):
    cmd = [exe, SIZES, f"--benchmark_out={out}", "--benchmark_out_format=json", *flags]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited with {p.returncode}:\n{p.stdout}{p.stderr}")
    doc = load(out)
    errors = [b["name"] + ": " + b.get("error_message", "")
              for b in doc["benchmarks"] if b.get("error_occurred")]
    if errors:
        sys.exit(f"{out}: benchmarks failed:\n" + "\n".join(errors))
    return doc


def cmd_run(args):
    os.makedirs(args.dir, exist_ok=True)
    flags = [RUN_FILTER, RUN_WINDOW, "--benchmark_min_time=0.01",
             "--benchmark_repetitions=5"]
    for name in ("run.json", "run2.json"):
        doc = bench(args.bench, os.path.join(args.dir, name), *flags)
        if doc["context"].get("ipc_window") != RUN_WINDOW.split("=")[1]:
            sys.exit(f"{name}: ipc_window is {doc['context'].get('ipc_window')}, "
                     f"not the {RUN_WINDOW} that keeps SysVShm in stock limits")
        n = sum(b["run_type"] == "iteration" for b in doc["benchmarks"])
        if n != 60:
            sys.exit(f"{name}: {n} repetitions, expected 12 benchmarks x 5")
    print(f"wrote run.json and run2.json in {args.dir}")
    return 0


def interleaved(args, attempt):
    """Baseline and contender runs in turn; returns the two merged files."""
    paths = {"base": [], "head": []}
    for i in range(ROUNDS):
        # ABBA. With base always first, two runs of one binary under
        # ThreadSanitizer were flagged twice running (SysVShm/4096, +13% and
        # +15% for the second of each pair): an order that never changes can
        # bias one side, whatever the cause.
        for side in ("base", "head") if i % 2 == 0 else ("head", "base"):
            out = os.path.join(args.dir, f"{side}-{attempt}-{i}.json")
            bench(args.bench, out, GATE_FILTER, "--benchmark_min_time=0.05",
                  "--benchmark_repetitions=1")
            paths[side].append(out)
    merged = []
    for side in ("base", "head"):
        out = os.path.join(args.dir, f"{side}-{attempt}.json")
        status, _, err = run_tool("merge.py", "-o", out, *paths[side])
        if status != 0:
            sys.exit(f"merge.py failed: {err}")
        merged.append(out)
    return merged


def cmd_gate(args):
    os.makedirs(args.dir, exist_ok=True)
    for attempt in (1, 2):
        base, head = interleaved(args, attempt)
        status, out, err = run_tool("gate.py", base, head)
        print(f"attempt {attempt}: gate.py exited with {status}\n{out}{err}")
        if status == 0:
            break
        if status != 1 or attempt == 2:
            print("FAIL: two runs of the same binary did not pass the gate")
            return 1
    # Copies of the baseline's own repetitions, made slower: the change of
    # the medians is exactly the factor. Whether it is significant depends on
    # how widely the repetitions spread on this machine today; but where the
    # slowest repetition is within the factor of the fastest, the copy does
    # not overlap the original, so the U test must reject and the gate must
    # flag the benchmark. The 3x copy leaves room for a noisy machine.
    spread = {}
    for b in load(base)["benchmarks"]:
        if b.get("run_type") == "iteration":
            spread.setdefault(b["run_name"], []).append(b["real_time"])
    checked = 0
    for factor, label, tag in ((1.25, "25%", "25pct"), (3.0, "3x", "3x")):
        slower = os.path.join(args.dir, f"base-{tag}-slower.json")
        save(scaled(load(base), factor), slower)
        status, out, err = run_tool("gate.py", base, slower)
        print(f"contender {label} slower: gate.py exited with {status}\n{out}{err}")
        rows = ([c.strip() for c in line.strip("|").split("|")]
                for line in out.splitlines() if line.startswith("| "))
        verdicts = {cells[0]: cells[6] for cells in rows if len(cells) == 7}
        tight = [n for n, v in spread.items() if max(v) < factor * min(v)]
        wrong = [n for n in tight if verdicts.get(n) != "**regression**"]
        print(f"{len(tight)} of {len(spread)} benchmarks spread less than {label} "
              f"and must be flagged: {', '.join(tight) or 'none'}")
        if wrong or (tight and status != 1) or status not in (0, 1):
            print(f"FAIL: a contender {label} slower was not flagged: {wrong or status}")
            return 1
        checked += len(tight)
    if not checked:
        print("SKIP: every benchmark spread 3x or more between its repetitions "
              "on this machine now, so no slowed copy is sure to be flagged")
        return SKIP
    return 0


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


def cmd_plot(args):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("SKIP: matplotlib is not installed (Debian: python3-matplotlib)")
        return SKIP
    run = os.path.join(args.dir, "run.json")
    png, svg = os.path.join(args.dir, "run.png"), os.path.join(args.dir, "run.svg")
    for path in (png, svg):
        if os.path.exists(path):
            os.remove(path)
    status, out, err = run_tool("plot.py", run, "-o", png, "-o", svg)
    if status != 0:
        print(f"FAIL: plot.py exited with {status}: {out}{err}")
        return 1
    size = png_size(png)
    if not size or size[0] < 400 or size[1] < 300:
        print(f"FAIL: {png} is not a PNG of a plausible size: {size}")
        return 1
    text = " ".join(t for t in ET.parse(svg).getroot().itertext())
    ctx = load(run)["context"]
    missing = [w for w in ("PingPong: round trip", "round-trip latency (µs)",
                           "Stream: one-way throughput", "throughput (GB/s)",
                           "Pipe", "SysVShm", "4 KiB", "64 KiB",
                           ctx.get("cpu_model", ""), ctx.get("os", ""))
               if w not in text]
    if missing:
        print(f"FAIL: {svg} lacks {missing}")
        return 1
    # The CPU panel is there exactly when this platform counts both sides.
    costs = any("cpu_client_ns" in b and "cpu_peer_ns" in b for b in load(run)["benchmarks"]
                if b["run_name"].startswith("PingPong/"))
    if costs != ("CPU per round trip" in text):
        print(f"FAIL: {svg}: the PingPong results {'have' if costs else 'lack'} the CPU "
              f"counters, and the CPU panel is {'missing' if costs else 'drawn'}")
        return 1
    print(f"{png}: {size[0]}x{size[1]}, {os.path.getsize(png)} bytes; "
          f"{svg}: {os.path.getsize(svg)} bytes")
    # Two files: each line labelled with its file, and the second file's
    # lines dashed where the first's (like every line of one file here) are
    # solid.
    both = os.path.join(args.dir, "runs.svg")
    status, out, err = run_tool("plot.py", run, os.path.join(args.dir, "run2.json"),
                                "-o", both)
    if status != 0:
        print(f"FAIL: plot.py on two files exited with {status}: {out}{err}")
        return 1
    with open(svg, encoding="utf-8") as f:
        one_dashed = "stroke-dasharray" in f.read()
    with open(both, encoding="utf-8") as f:
        two = f.read()
    text = " ".join(t for t in ET.fromstring(two).itertext())
    missing = [w for w in ("Pipe (run.json)", "SysVShm (run2.json)") if w not in text]
    if missing or one_dashed or "stroke-dasharray" not in two:
        print(f"FAIL: {both} lacks {missing}, or the line styles do not tell "
              f"the files apart (dashes with one file: {one_dashed})")
        return 1
    return 0


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=("run", "gate", "plot"))
    p.add_argument("--bench", help="the ipc_bench executable")
    p.add_argument("--dir", required=True, help="where runs and pictures go")
    args = p.parse_args(argv)
    if args.what != "plot" and not args.bench:
        p.error("--bench is required")
    return {"run": cmd_run, "gate": cmd_gate, "plot": cmd_plot}[args.what](args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
