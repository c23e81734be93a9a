#!/usr/bin/env python3
"""The gate's p-values equal those of Google Benchmark's compare.py.

    compare_py_test.py [BASELINE.json CONTENDER.json ...]

compare.py (Debian: libbenchmark-tools, in /usr/share/benchmark) runs scipy's
mannwhitneyu (Debian: python3-scipy). Without either, this exits with 77,
which ctest reports as skipped. The pairs compared: the checked-in fixtures
and a contender 25% slower (nine against nine repetitions, as the pull-request
workflow gates: scipy's normal approximation), rounded values (ties: the
approximation), eight against eight and eight against nine (the exact
distribution, which scipy keeps while a side has 8 values or fewer: these and
the nines pin that switch), eighteen against eighteen, five against eighteen,
and any pairs of files given on the command line.
Each pair is checked twice: against gbench.report's numbers to 1e-12, and
against the text compare.py prints, to its four decimals.
IPCB_GBENCH_DIR overrides where compare.py and gbench/ are looked for.
"""

import os
import re
import subprocess
import sys
import tempfile

from toolstest import SKIP, first_repetitions, fixture, load, save, scaled

import gate
import stats

GBENCH_DIR = os.environ.get("IPCB_GBENCH_DIR", "/usr/share/benchmark")


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


try:
    import scipy  # noqa: F401
except ImportError:
    skip("scipy is not installed (Debian: python3-scipy)")
sys.path.insert(0, GBENCH_DIR)
try:
    from gbench import report, util
except ImportError:
    skip(f"compare.py's gbench package is not in {GBENCH_DIR} "
         f"(Debian: libbenchmark-tools)")


def ours(base_path, cont_path, metric):
    """{run name: p} from the gate's own reading of the files."""
    base_runs, _, order = gate.load(base_path)
    cont_runs, _, _ = gate.load(cont_path)
    out = {}
    for name in order:
        if name in cont_runs and base_runs[name] and cont_runs[name]:
            x = [gate.metric_value(b, metric, base_path) for b in base_runs[name]]
            y = [gate.metric_value(b, metric, cont_path) for b in cont_runs[name]]
            out[name] = stats.mann_whitney_p(x, y)
    return out


def theirs_module(base_path, cont_path):
    """{name: (time p, cpu p)} from gbench.report, as compare.py calls it."""
    json1 = util.sort_benchmark_results(load(base_path))
    json2 = util.sort_benchmark_results(load(cont_path))
    return {r["name"]: (r["utest"]["time_pvalue"], r["utest"]["cpu_pvalue"])
            for r in report.get_difference_report(json1, json2, utest=True)
            if r["utest"]}


def theirs_cli(base_path, cont_path):
    """{name: (time p, cpu p)} parsed from what compare.py prints."""
    p = subprocess.run([sys.executable, os.path.join(GBENCH_DIR, "compare.py"),
                        "--no-color", "benchmarks", base_path, cont_path],
                       capture_output=True, text=True, check=True)
    found = re.findall(r"^(\S+)_pvalue\s+([0-9.]+)\s+([0-9.]+)\s+U Test", p.stdout, re.M)
    return {name: (float(t), float(c)) for name, t, c in found}


def tied(base_path, cont_path):
    """(run name, metric) whose values, both files together, repeat one."""
    base_runs, _, order = gate.load(base_path)
    cont_runs, _, _ = gate.load(cont_path)
    out = []
    for name in order:
        for m in ("real_time", "cpu_time"):
            values = [b[m] for b in base_runs[name] + cont_runs.get(name, [])]
            if len(set(values)) != len(values):
                out.append(f"{name} {m}")
    return out


def check(label, base_path, cont_path, ties_allowed=True):
    module = theirs_module(base_path, cont_path)
    cli = theirs_cli(base_path, cont_path)
    mine = {m: ours(base_path, cont_path, m) for m in ("real_time", "cpu_time")}
    failures = []
    if not ties_allowed:
        # Ties would send scipy to the approximation whatever the sizes, and
        # the pair would no longer pin the exact/approximation switch.
        failures += [f"{label}: ties in {what}" for what in tied(base_path, cont_path)]
    if not module or set(module) != set(cli):
        failures.append(f"{label}: compare.py reported U tests for {sorted(module)} "
                        f"and printed {sorted(cli)}")
    for name, (t, c) in module.items():
        for metric, theirs, printed in (("real_time", t, cli.get(name, (None,))[0]),
                                        ("cpu_time", c, cli.get(name, (None, None))[1])):
            p = mine[metric].get(name)
            if p is None or abs(p - theirs) > 1e-12 * max(theirs, 1e-300):
                failures.append(f"{label}: {name} {metric}: gate {p!r}, compare.py {theirs!r}")
            elif printed is None or abs(p - printed) > 0.00005 + 1e-12:
                failures.append(f"{label}: {name} {metric}: gate {p:.6f}, printed {printed}")
    print(f"{label}: {len(module)} benchmarks, real and CPU time: "
          f"{'agree' if not failures else 'DIFFER'}")
    return failures


def generated_pairs(tmp):
    base, head = load(fixture("base.json")), load(fixture("head.json"))

    def write(doc, name):
        path = os.path.join(tmp, name)
        save(doc, path)
        return path

    def rounded(doc, step):
        out = scaled(doc, 1.0)
        for b in out["benchmarks"]:
            for field in ("real_time", "cpu_time"):
                b[field] = round(b[field] / step) * step
        return out

    def joined(*docs):
        out = {"context": docs[0]["context"], "benchmarks": []}
        for d in docs:
            out["benchmarks"] += [b for b in d["benchmarks"] if b["run_type"] == "iteration"]
        return out

    slower = scaled(head, 1.25)
    base8 = write(first_repetitions(base, 8), "base8.json")
    # (label, baseline, contender, whether ties are allowed)
    return [
        ("fixtures, 9 vs 9", fixture("base.json"), fixture("head.json"), False),
        ("25% slower, 9 vs 9", fixture("base.json"), write(slower, "slower.json"), False),
        ("ties", write(rounded(base, 500), "base-r.json"),
         write(rounded(head, 500), "head-r.json"), True),
        ("8 vs 8", base8, write(first_repetitions(slower, 8), "slower8.json"), False),
        ("8 vs 9", base8, fixture("head.json"), False),
        ("18 vs 18", write(joined(base, head), "b18.json"),
         write(joined(slower, scaled(base, 1.25)), "c18.json"), False),
        ("5 vs 18", write(first_repetitions(base, 5), "base5.json"),
         write(joined(head, slower), "c18b.json"), False),
    ]


def main(argv):
    if len(argv) % 2:
        print("usage: compare_py_test.py [BASELINE.json CONTENDER.json ...]", file=sys.stderr)
        return 2
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        pairs = generated_pairs(tmp)
        pairs += [(f"{os.path.basename(a)} vs {os.path.basename(b)}", a, b, True)
                  for a, b in zip(argv[0::2], argv[1::2])]
        for label, a, b, ties_allowed in pairs:
            failures += check(label, a, b, ties_allowed)
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
