#!/usr/bin/env python3
"""Keep only the median aggregates of a Google Benchmark JSON run.

    medians.py RUN.json -o MEDIANS.json
    medians.py RUN.json --series

github-action-benchmark's 'googlecpp' parser records the real_time of every
entry it is given, so a run with repetitions would chart each repetition, the
mean, the median, the stddev and the cv as separate series, and its alerts
would fire on stddev. This writes a copy with only the entries whose
aggregate_name is "median", named by their run name, so each benchmark is one
series of medians. --series prints a series name for the run instead:
"<os> <machine>, <cpu model>" from the JSON context, so that results from
different runner images and CPUs are never charted as one line.
Standard library only.
"""

import argparse
import json
import sys


def medians(doc):
    kept = []
    for b in doc.get("benchmarks", []):
        if b.get("aggregate_name") != "median" or b.get("error_occurred"):
            continue
        kept.append(dict(b, name=b.get("run_name", b["name"])))
    return {"context": doc.get("context", {}), "benchmarks": kept}


def series(context):
    os_name = context.get("os", "unknown OS")
    machine = context.get("machine", "")
    cpu = context.get("cpu_model", "") or f"{context.get('num_cpus', '?')} CPUs"
    return f"{os_name} {machine}, {cpu}".replace("  ", " ")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="Google Benchmark JSON with --benchmark_repetitions")
    p.add_argument("-o", "--output", help="where to write the medians")
    p.add_argument("--series", action="store_true",
                   help="print a series name from the run's context")
    args = p.parse_args(argv)
    try:
        with open(args.run, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print(f"medians.py: error: {args.run}: {e}", file=sys.stderr)
        return 2
    if args.series:
        print(series(doc.get("context", {})))
        return 0
    if not args.output:
        p.error("-o is required unless --series is given")
    out = medians(doc)
    if not out["benchmarks"]:
        print(f"medians.py: error: {args.run} has no median aggregates; run with "
              f"--benchmark_repetitions=3 or more", file=sys.stderr)
        return 2
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
