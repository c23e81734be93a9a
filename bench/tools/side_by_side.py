#!/usr/bin/env python3
"""ipc_bench's PingPong beside the hand-written reference ping-pongs.

    side_by_side.py --ipc-bench build/release/bench/ipc_bench \\
        --reference build/release/bench/pingpong_reference \\
        --cpus 0,1 --runs 5 [--bytes 12]

For each mechanism, runs the reference and ipc_bench alternately (so drift
hits both alike), with the same pinning, and prints a Markdown table of the
median round trip of each and their ratio, then the percentiles of each
(p50, p99, p999, max: the median over the runs of each), both timed with one
counter read per round trip, so the tails compare like for like (ipc_bench
reports its histogram's bucket bounds, up to 1/128 above the exact rank the
reference sorts out). The p50
ratio is the steadier of the two on a shared machine: one preemption of a
few ms moves a mean by percents and a median not at all.
ipc_bench's figure includes its stamps and percentile clock (Baseline/Null,
tens of ns); anything past that is the transport's own overhead. `spin`
against ShmSpin only means something with --cpus on two CPUs.
Standard library only.
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
    ("spin", "ShmSpin"),
]
PERCENTILES = ["p50", "p99", "p999", "max"]


def run_reference(exe, mechanism, size, trips, cpus):
    """(ns per round trip, {percentile: ns}), or None if the mechanism
    refuses the size."""
    cmd = [exe, mechanism, str(size), str(trips)] + cpus.split(",")
    done = subprocess.run(cmd, capture_output=True, text=True)
    match = re.search(r"([0-9.]+) ns per round trip", done.stdout)
    if not match:
        return None
    tail = {p: float(v) for p, v in
            re.findall(r"\b(p50|p99|p999|max) ([0-9.]+)", done.stdout)}
    return float(match.group(1)), tail


def run_ipc_bench(exe, transport, size, min_time, cpus):
    cmd = [exe, f"--benchmark_filter=^PingPong/{transport}/{size}$",
           f"--ipc_sizes={size}", f"--benchmark_min_time={min_time}",
           f"--ipc_cpus={cpus}", "--benchmark_format=json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"]
            if not b.get("error_occurred")]
    if len(runs) != 1:
        sys.exit(f"side_by_side: expected one result from {cmd}")
    tail = {p: float(runs[0][p]) for p in PERCENTILES if p in runs[0]}
    return float(runs[0]["real_time"]), tail  # ns: UseRealTime, default unit


def median_tail(samples):
    return {p: statistics.median(t[p] for t in samples)
            for p in PERCENTILES if all(p in t for t in samples)}


def us(tail):
    return " / ".join(f"{tail[p] / 1000:.2f}" if p in tail else "-"
                      for p in PERCENTILES)


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
    ap.add_argument("--only", default="",
                    help="comma-separated reference mechanisms (default "
                    "all: " + ",".join(m for m, _ in PAIRS) + ")")
    args = ap.parse_args()
    if not re.fullmatch(r"\d+,\d+", args.cpus) or args.runs < 1 \
            or args.bytes < 1:
        ap.error("--cpus takes two CPU numbers (0,1), --runs and --bytes "
                 "at least 1")
    known = [m for m, _ in PAIRS]
    only = [m for m in args.only.split(",") if m]
    if any(m not in known for m in only):
        ap.error(f"--only takes mechanisms among {','.join(known)}")
    pairs = [(m, t) for m, t in PAIRS if not only or m in only]
    print(f"| mechanism | reference | ipc_bench | ratio | p50 ratio | "
          f"reference p50 / p99 / p999 / max | ipc_bench p50 / p99 / p999 / "
          f"max |  ({args.bytes} B, us, median of {args.runs}, CPUs "
          f"{args.cpus})")
    print("|---|---|---|---|---|---|---|")
    for mechanism, transport in pairs:
        ref, ours = [], []
        for _ in range(args.runs):
            ref.append(run_reference(args.reference, mechanism, args.bytes,
                                     args.trips, args.cpus))
            ours.append(run_ipc_bench(args.ipc_bench, transport, args.bytes,
                                      args.min_time, args.cpus))
        o = statistics.median(t for t, _ in ours)
        o_tail = median_tail([tail for _, tail in ours])
        if None in ref:  # e.g. a POSIX queue over msgsize_max
            print(f"| {transport} | refused | {o / 1000:.2f} | | | | "
                  f"{us(o_tail)} |")
            continue
        r = statistics.median(t for t, _ in ref)
        r_tail = median_tail([tail for _, tail in ref])
        p50 = (f"{o_tail['p50'] / r_tail['p50']:.2f}"
               if "p50" in o_tail and r_tail.get("p50") else "")
        print(f"| {transport} | {r / 1000:.2f} | {o / 1000:.2f} | "
              f"{o / r:.2f} | {p50} | {us(r_tail)} | {us(o_tail)} |",
              flush=True)


if __name__ == "__main__":
    main()
