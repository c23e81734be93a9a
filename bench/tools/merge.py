#!/usr/bin/env python3
"""Merge the repetitions of several Google Benchmark JSON runs into one.

    merge.py -o OUT.json RUN1.json RUN2.json ...

Comparing two builds fairly on a noisy machine means alternating them, one
short run each (base, head, base, head...), so that drift in clock speed or
load lands on both sides alike. Each run then holds one or a few repetitions;
this joins the per-repetition entries (run_type "iteration") of all runs in
the order given, renumbers repetition_index and repetitions, and drops the
aggregates (mean, median...), which were computed per run and would be wrong
for the union. The context is the first run's, with the merged files listed
under "merged_from". Standard library only.
"""

import argparse
import json
import os
import sys


def merge(paths):
    merged, order, context = {}, [], None
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            raise SystemExit(f"merge.py: error: {path}: {e}")
        if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
            raise SystemExit(f"merge.py: error: {path}: no \"benchmarks\" list")
        if context is None:
            context = dict(doc.get("context", {}))
        for b in doc["benchmarks"]:
            if b.get("run_type", "iteration") != "iteration":
                continue
            name = b.get("run_name", b["name"])
            if name not in merged:
                merged[name] = []
                order.append(name)
            merged[name].append(b)
    benchmarks = []
    for name in order:
        for i, b in enumerate(merged[name]):
            b = dict(b, repetition_index=i, repetitions=len(merged[name]))
            benchmarks.append(b)
    context["merged_from"] = [os.path.basename(p) for p in paths]
    return {"context": context, "benchmarks": benchmarks}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-o", "--output", required=True, help="merged JSON to write")
    p.add_argument("runs", nargs="+", help="Google Benchmark JSON files")
    args = p.parse_args(argv)
    doc = merge(args.runs)
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
