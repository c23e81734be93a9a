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
lists the keys that differ. A different machine, OS, kernel, CPU, placement,
thread class, build type, library version, --ipc_verify or --ipc_window
makes the comparison meaningless, and the gate stops there unless
--allow-context-diff is given; a different host name or git revision (CI
runners of one image, base and head) is only shown.

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
# sys.path, and stats.py lives there.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
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


# Context keys (Google Benchmark's and ipc_bench's) that must be equal for
# the two runs to measure the same thing:
FATAL_CONTEXT = (
    # Another OS, kernel release, architecture or CPU is another measurement:
    # the kernel decides the cost of every system call and wake-up, the CPU
    # model its caches and clock, and the count whether two processes can run
    # at once (a spinning transport on one CPU waits for the scheduler).
    "os", "os_release", "machine", "cpu_model", "logical_cpus", "num_cpus",
    # Both processes on one CPU or on two: on one a wake-up is a context
    # switch, on two an interrupt to the other CPU, tens of microseconds on a
    # virtual machine; a round trip differs by up to 10x between the two.
    "ipc_placement",
    # The scheduling class or QoS decides how soon a woken side runs and, on
    # macOS, whether it runs on a performance or an efficiency core.
    "ipc_thread_class",
    # A Debug build of ipc_bench, or another build or version of Google
    # Benchmark, changes the code around and inside the timed loop.
    "ipcb_build_type", "library_build_type", "benchmark_library_version",
    # --ipc_verify=full reads every byte a round trip moves, and --ipc_window
    # is how many messages Stream keeps in flight: each is another workload.
    "ipc_verify", "ipc_window",
)
# Keys that are shown when they differ but never stop the gate: the same
# machine image has a new host name on each CI runner, base and head differ
# in revision (and maybe version) by design, the timeout is a watchdog that a
# passing run never reaches, and the OS's build string, distribution, libc
# and the percentile clock follow from the keys above or time nothing the
# gate compares.
INFO_CONTEXT = ("host_name", "ipcb_git_revision", "ipcb_version", "os_version",
                "os_distribution", "libc", "ipc_timeout_ns", "ipcb_percentile_clock")


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


def context_diff(base_ctx, cont_ctx):
    """[(key, baseline value, contender value, fatal)] for the keys of
    FATAL_CONTEXT and INFO_CONTEXT that differ; None for a key a run lacks.
    A key one run lacks is never fatal: a run recorded before ipc_bench
    wrote that key cannot say."""
    out = []
    for key in FATAL_CONTEXT + INFO_CONTEXT:
        a, b = base_ctx.get(key), cont_ctx.get(key)
        if a is None and b is None or str(a) == str(b):
            continue
        fatal = key in FATAL_CONTEXT and a is not None and b is not None
        out.append((key, a, b, fatal))
    return out


def fmt_context(v):
    return "(absent)" if v is None else json.dumps(str(v), ensure_ascii=False)


def check_context(diffs, args):
    fatal = [d for d in diffs if d[3]]
    if not fatal or args.allow_context_diff:
        return
    lines = [f"  {key}: baseline {fmt_context(a)}, contender {fmt_context(b)}"
             for key, a, b, _ in fatal]
    info = [key + (" (one run only)" if a is None or b is None else "")
            for key, a, b, f in diffs if not f]
    if info:
        lines.append("  (also different, which alone would not stop the gate: " +
                     ", ".join(info) + ")")
    raise GateError(
        f"{args.baseline} and {args.contender} were not run alike, so their "
        f"benchmarks do not compare:\n" + "\n".join(lines) +
        "\nRun both on the same machine with the same flags and build type, or "
        "pass --allow-context-diff to compare them anyway.")


def context_report(diffs, args):
    if not diffs:
        return []
    out = ["Context that differs between the runs:", "",
           "| context | baseline | contender | |", "|---|---|---|---|"]
    for key, a, b, fatal in diffs:
        if fatal:
            note = "**differs**: compared anyway (--allow-context-diff)"
        elif a is None or b is None:
            note = "not recorded in one run"
        else:
            note = "for information"
        out.append(f"| {key} | {'' if a is None else a} | {'' if b is None else b} "
                   f"| {note} |")
    return out + [""]


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
           *context_report(diffs, args),
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
        diffs = context_diff(context_of(base_doc), context_of(cont_doc))
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
