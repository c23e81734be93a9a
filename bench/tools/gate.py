#!/usr/bin/env python3
"""Regression gate for Google Benchmark JSON with repetitions.

    gate.py BASELINE.json CONTENDER.json [--alpha 0.05] [--threshold 0.10]
            [--metric real_time]

Benchmarks are paired by run name. For each pair the per-repetition values
(run_type "iteration") of the metric are compared: the change of the
medians, and a two-sided Mann-Whitney U test (stats.py). A benchmark fails
the gate only when its change is both significant (p < alpha) and worse
than the threshold; hosted CI runners swing by 10-20% from run to run, so
one number against one number proves nothing. The result is a Markdown
table on stdout, fit for $GITHUB_STEP_SUMMARY.

The metric is a time, a latency percentile or a cost counter (CPU time of
either side, context switches, page faults per iteration). Benchmarks that
lack it in either run are left out, and the report counts them: ColdStart
and the baselines have no cost counters, and a platform leaves out those it
cannot read.

The two runs must have been made alike: the gate reads both contexts and
lists the keys that differ (gate_context.py). A different machine, OS,
kernel, CPU, placement, thread class, build type, library version,
--ipc_verify or --ipc_window makes the comparison meaningless, and the gate
stops there unless --allow-context-diff is given; a different host name or
git revision (CI runners of one image, base and head) is only shown.

Exit status: 0 pass, 1 regression, 2 the gate cannot decide (bad input, runs
made under different conditions, too few repetitions for the test to ever
reject, a benchmark that failed in the contender only, a metric no benchmark
in both runs has).

Standard library only, so that CI needs nothing beyond python3.
"""

import argparse
import json
import math
import os
import statistics
import sys

# python3 -P, -I and PYTHONSAFEPATH leave the script's own folder off
# sys.path, and stats.py and gate_context.py live there.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gate_context  # noqa: E402
import stats  # noqa: E402

EXIT_PASS, EXIT_REGRESSION, EXIT_ERROR = 0, 1, 2

# Google Benchmark's time units, as nanoseconds.
TIME_UNITS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
TIME_METRICS = ("real_time", "cpu_time")
# ipc_bench's latency percentiles and the CPU time of each side per
# iteration are nanosecond counters.
NS_COUNTERS = ("p50", "p90", "p99", "p999", "max", "cpu_client_ns", "cpu_peer_ns")
# Below this, a median that was 0 has not changed (one event in 100
# iterations).
ZERO_FLOOR = 0.01
# Numeric fields of an entry that describe the run, not what it measured.
BOOKKEEPING = ("family_index", "per_family_instance_index", "repetitions",
               "repetition_index", "threads", "iterations")


class GateError(Exception):
    """The gate cannot give a verdict; the message says why."""


# --- Reading Google Benchmark JSON.


def read(path):
    """The JSON document of a Google Benchmark run."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise GateError(f"{path}: cannot read: {e.strerror}")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise GateError(f"{path}: not JSON: {e}")
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise GateError(f"{path}: not Google Benchmark JSON (no \"benchmarks\" list)")
    return doc


def context_of(doc):
    ctx = doc.get("context")
    return ctx if isinstance(ctx, dict) else {}


def load(path, doc=None):
    """Returns (runs, errors, order): values per run name, error texts."""
    if doc is None:
        doc = read(path)
    runs, errors, order, aggregates = {}, {}, [], 0
    for b in doc["benchmarks"]:
        if not isinstance(b, dict) or "name" not in b:
            raise GateError(f"{path}: a benchmark entry has no name")
        if b.get("run_type", "iteration") != "iteration":
            aggregates += 1
            continue
        name = b.get("run_name", b["name"])
        if name not in runs:
            runs[name] = []
            order.append(name)
        if b.get("error_occurred"):
            errors[name] = b.get("error_message", "error")
        else:
            runs[name].append(b)
    if not order and aggregates:
        raise GateError(
            f"{path}: only aggregates, no per-repetition entries: the U test "
            f"needs each repetition (drop --benchmark_report_aggregates_only)")
    return runs, errors, order


def metric_value(entry, metric, path):
    if metric not in entry:
        raise GateError(f"{path}: {entry['name']} has no \"{metric}\"")
    value = float(entry[metric])
    if metric in TIME_METRICS:
        unit = entry.get("time_unit", "ns")
        if unit not in TIME_UNITS:
            raise GateError(f"{path}: {entry['name']}: unknown time_unit {unit!r}")
        value *= TIME_UNITS[unit]
    return value


# --- Like with like.


def check_context(diffs, args):
    if not args.allow_context_diff:
        why = gate_context.refusal(diffs, args.baseline, args.contender)
        if why:
            raise GateError(why)


# --- The comparison.


def fmt_value(v, metric):
    if metric in TIME_METRICS or metric in NS_COUNTERS:
        for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
            if v >= scale:
                return f"{v / scale:.3g} {unit}"
        return f"{v:.3g} ns"
    return f"{v:.4g}"


def family(name):
    # Baseline/<what> are unrelated measurements; elsewhere the second
    # component is a transport.
    parts = name.split("/")
    return "/".join(parts[:2] if parts[0] == "Baseline" else parts[:1])


def metrics_of(entries):
    """Numeric fields of the entries, in order of first appearance."""
    seen = {}
    for e in entries:
        for k, v in e.items():
            if k not in BOOKKEEPING and isinstance(v, (int, float)) \
                    and not isinstance(v, bool):
                seen[k] = True
    return list(seen)


def fmt_p(p):
    return f"{p:.4f}" if p >= 1e-4 else f"{p:.1e}"


def compare(base, cont, args):
    """(rows, names without the metric), one row per benchmark both sides ran
    and reported the metric in; raises GateError if it can't."""
    base_runs, base_err, base_order = base
    cont_runs, cont_err, _ = cont
    common = [n for n in base_order if n in cont_runs]
    if not common:
        raise GateError(
            f"{args.baseline} and {args.contender} have no benchmark in common")
    rows, failed_in_contender, too_few, lacking, having = [], [], [], [], 0
    worse_sign = -1.0 if args.metric.endswith("_per_second") else 1.0
    for name in common:
        if name in cont_err and name not in base_err:
            failed_in_contender.append(f"{name}: {cont_err[name]}")
            continue
        if name in base_err:
            where = "both" if name in cont_err else "the baseline"
            rows.append((name, None, f"failed in {where}"))
            continue
        if any(args.metric not in b for b in base_runs[name] + cont_runs[name]):
            lacking.append(name)
            continue
        having += 1
        x = [metric_value(b, args.metric, args.baseline) for b in base_runs[name]]
        y = [metric_value(b, args.metric, args.contender) for b in cont_runs[name]]
        if stats.smallest_p(len(x), len(y)) > args.alpha:
            too_few.append(f"{name} ({len(x)} vs {len(y)})")
            continue
        mx, my = statistics.median(x), statistics.median(y)
        if mx:
            change = (my - mx) / mx
        else:  # a counter at 0 (a spinning transport's context switches):
            # a rise to ZERO_FLOOR or more is unbounded; a stray switch in
            # 100000 round trips is no change.
            change = math.copysign(math.inf, my) if abs(my) >= ZERO_FLOOR else 0.0
        p = stats.mann_whitney_p(x, y)
        significant = p < args.alpha
        worse = worse_sign * change > args.threshold
        better = -worse_sign * change > args.threshold
        if significant and worse:
            verdict = "**regression**"
        elif significant and better:
            verdict = "improvement"
        elif significant:
            verdict = "within threshold"
        else:
            verdict = "no significant change"
        rows.append((name, (mx, my, change, p, len(x), len(y)), verdict))
    if lacking and not having:
        theirs = set(metrics_of(e for n in common for e in cont_runs[n]))
        both = [m for m in metrics_of(e for n in common for e in base_runs[n])
                if m in theirs]
        raise GateError(
            f"--metric {args.metric}: no benchmark in both runs has \"{args.metric}\"; "
            f"both have: {', '.join(both) or 'nothing numeric'}")
    if too_few:
        need = stats.repetitions_needed(args.alpha)
        raise GateError(
            f"too few repetitions for a two-sided Mann-Whitney U test at alpha "
            f"{args.alpha:g}: it cannot reject with fewer than {need} per side "
            f"(baseline vs contender): " + ", ".join(too_few) +
            f". Run with --benchmark_repetitions={need} or more (9 recommended),"
            f" and keep the per-repetition entries in the JSON (no "
            f"--benchmark_report_aggregates_only).")
    if failed_in_contender:
        raise GateError("failed in the contender but not in the baseline: " +
                        "; ".join(failed_in_contender))
    return rows, lacking


def report(rows, lacking, base_order, cont_order, args, diffs=()):
    out = [f"### Regression gate: {args.metric}, alpha {args.alpha:g}, "
           f"threshold {args.threshold:.0%}", "",
           f"Baseline `{os.path.basename(args.baseline)}`, contender "
           f"`{os.path.basename(args.contender)}`; change of the medians, "
           f"two-sided Mann-Whitney U p-value.", "",
           *gate_context.report(diffs),
           "| benchmark | baseline | contender | change | p-value | repetitions | verdict |",
           "|---|---:|---:|---:|---:|---:|---|"]
    regressions = 0
    for name, values, verdict in rows:
        if values is None:
            out.append(f"| {name} | | | | | | {verdict} |")
            continue
        mx, my, change, p, n1, n2 = values
        regressions += verdict == "**regression**"
        out.append(f"| {name} | {fmt_value(mx, args.metric)} | "
                   f"{fmt_value(my, args.metric)} | {change:+.1%} | {fmt_p(p)} | "
                   f"{n1} vs {n2} | {verdict} |")
    out.append("")
    for label, names in (("baseline", [n for n in base_order if n not in cont_order]),
                         ("contender", [n for n in cont_order if n not in base_order])):
        if names:
            out.append(f"Only in the {label}, not compared: " + ", ".join(names) + ".")
            out.append("")
    if lacking:
        families = ", ".join(dict.fromkeys(family(n) for n in lacking))
        verb = "has" if len(lacking) == 1 else "have"
        out.append(f"{len(lacking)} benchmark{'s' * (len(lacking) != 1)} {verb} no "
                   f"{args.metric} ({families}): not compared.")
        out.append("")
    if regressions:
        out.append(f"**FAIL**: {regressions} of {len(rows)} benchmarks are worse by "
                   f"more than {args.threshold:.0%} with p < {args.alpha:g}.")
    else:
        out.append(f"**PASS**: no benchmark of {len(rows)} is worse by more than "
                   f"{args.threshold:.0%} with p < {args.alpha:g}.")
    return "\n".join(out), regressions


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Fail when a contender run is significantly and materially "
                    "worse than a baseline run (Google Benchmark JSON with "
                    "--benchmark_repetitions).")
    p.add_argument("baseline", help="baseline JSON (--benchmark_out)")
    p.add_argument("contender", help="contender JSON (--benchmark_out)")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="significance level of the U test (default 0.05)")
    p.add_argument("--threshold", type=float, default=0.10,
                   help="relative change of the medians that counts as a "
                        "regression (default 0.10, 10%%)")
    p.add_argument("--metric", default="real_time",
                   help="field to compare: real_time (default), cpu_time, a "
                        "latency percentile (p50, p90, p99, p999, max), a cost "
                        "counter per iteration (cpu_client_ns, cpu_peer_ns, "
                        "ctx_switches, ctx_voluntary, page_faults, cow_faults) "
                        "or any other counter; *_per_second counters are "
                        "higher-is-better; benchmarks without it are left out")
    p.add_argument("--allow-context-diff", action="store_true",
                   help="compare runs whose contexts differ in the machine, OS, "
                        "kernel, CPU, placement, thread class, build types, "
                        "library version, --ipc_verify or --ipc_window (they "
                        "are listed above the table)")
    args = p.parse_args(argv)
    if not 0.0 < args.alpha < 1.0:
        p.error(f"--alpha must be between 0 and 1, not {args.alpha:g}")
    if args.threshold < 0.0:
        p.error(f"--threshold must not be negative, not {args.threshold:g}")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        base_doc, cont_doc = read(args.baseline), read(args.contender)
        diffs = gate_context.context_diff(context_of(base_doc), context_of(cont_doc))
        base = load(args.baseline, base_doc)
        cont = load(args.contender, cont_doc)
        check_context(diffs, args)
        rows, lacking = compare(base, cont, args)
    except GateError as e:
        print(f"gate.py: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    text, regressions = report(rows, lacking, base[2], cont[2], args, diffs)
    print(text)
    return EXIT_REGRESSION if regressions else EXIT_PASS


if __name__ == "__main__":
    sys.exit(main())
