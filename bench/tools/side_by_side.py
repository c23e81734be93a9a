#!/usr/bin/env python3
"""ipc_bench's PingPong beside the hand-written reference ping-pongs.

    side_by_side.py --ipc-bench build/release/bench/ipc_bench \\
        --reference build/release/bench/pingpong_reference \\
        --cpus 0,1 --runs 5 [--bytes 12]

For each mechanism, runs the reference and ipc_bench alternately (so drift
hits both alike), with the same pinning, and prints a Markdown table of the
median round trip of each and their ratio. ipc_bench's figure includes its
stamps and percentile clock (Baseline/Null, tens of ns); anything past that
is the transport's own overhead. Standard library only.
"""

import argparse
import json
import re
import statistics
import subprocess
import sys

# reference mechanism -> ipc_bench transport
PAIRS = [
    ("pipe", "Pipe"),
    ("unix", "UnixStream"),
    ("tcp", "TCP"),
    ("futex", "ShmFutex"),
    ("mq", "PosixMQ"),
    ("sysvshm", "SysVShm"),
]


def run_reference(exe, mechanism, size, trips, cpus):
    """ns per round trip, or None if the mechanism refuses the size."""
    cmd = [exe, mechanism, str(size), str(trips)] + cpus.split(",")
    done = subprocess.run(cmd, capture_output=True, text=True)
    match = re.search(r"([0-9.]+) ns per round trip", done.stdout)
    return float(match.group(1)) if match else None


def run_ipc_bench(exe, transport, size, min_time, cpus):
    cmd = [exe, f"--benchmark_filter=^PingPong/{transport}/{size}$",
           f"--ipc_sizes={size}", f"--benchmark_min_time={min_time}",
           f"--ipc_cpus={cpus}", "--benchmark_format=json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"]
            if not b.get("error_occurred")]
    if len(runs) != 1:
        sys.exit(f"side_by_side: expected one result from {cmd}")
    return float(runs[0]["real_time"])  # ns: UseRealTime, default unit


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ipc-bench", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--cpus", default="0,1",
                    help="client,peer CPUs for both (default 0,1)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--bytes", type=int, default=12,
                    help="payload each way (default 12)")
    ap.add_argument("--trips", type=int, default=50000,
                    help="round trips per reference run")
    ap.add_argument("--min-time", default="0.5",
                    help="--benchmark_min_time per ipc_bench run")
    args = ap.parse_args()
    if not re.fullmatch(r"\d+,\d+", args.cpus) or args.runs < 1 \
            or args.bytes < 1:
        ap.error("--cpus takes two CPU numbers (0,1), --runs and --bytes "
                 "at least 1")
    print(f"| mechanism | reference | ipc_bench | ratio |  ({args.bytes} B, "
          f"median of {args.runs}, CPUs {args.cpus})")
    print("|---|---|---|---|")
    for mechanism, transport in PAIRS:
        ref, ours = [], []
        for _ in range(args.runs):
            ref.append(run_reference(args.reference, mechanism, args.bytes,
                                     args.trips, args.cpus))
            ours.append(run_ipc_bench(args.ipc_bench, transport, args.bytes,
                                      args.min_time, args.cpus))
        o = statistics.median(ours)
        if None in ref:  # e.g. a POSIX queue over msgsize_max
            print(f"| {transport} | refused | {o / 1000:.2f} us | |")
            continue
        r = statistics.median(ref)
        print(f"| {transport} | {r / 1000:.2f} us | {o / 1000:.2f} us | "
              f"{o / r:.2f} |")


if __name__ == "__main__":
    main()
