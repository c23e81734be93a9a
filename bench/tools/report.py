#!/usr/bin/env python3
"""One self-contained HTML page of ipc_bench results.

    report.py RUN.json [MORE.json ...] -o report.html

The page holds, for each run (with several files, side by side):
  - the plots of plot.py, inlined as SVG;
  - the fastest transport at each payload size: PingPong by median round
    trip, Stream by median throughput, with the runner-up and how many times
    faster the winner is (the one-process baselines take no part);
  - one table per family: the median time, the percentiles (PingPong's p50
    to p999) and the cost counters where the results have them;
  - how to run it again. The JSON does not keep the command line: the page
    rebuilds what the context and the results tell (revision, build type,
    families, transports, sizes, repetitions, --ipc_cpus, --ipc_window,
    --ipc_timeout, --ipc_verify, --ipc_qos) and says what it cannot;
  - the runs' contexts side by side, each value that differs marked.
Medians are those of the repetitions, or the median aggregates of a run made
with --benchmark_report_aggregates_only. The page loads nothing from
elsewhere and runs no script. Plots need matplotlib (Debian:
python3-matplotlib); without it the page says so and keeps the tables.
report_html.py holds the page's style, tables and escaping.
"""

import argparse
import json
import os
import re
import statistics
import sys
import tempfile

# python3 -P, -I and PYTHONSAFEPATH leave the script's own folder off
# sys.path, and report_html.py and plot.py live there.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from report_html import CSS, context_html, esc, fmt, inline_svg, size_text, table  # noqa: E402

TIME_UNITS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
PERCENTILES = ("p50", "p90", "p99", "p999")
COSTS = ("cpu_client_ns", "cpu_peer_ns", "ctx_switches", "page_faults")
# column: (heading, how its values are written)
COLUMNS = {
    "real_time": ("median time", "time"),
    "bytes_per_second": ("throughput", "rate"),
    **{p: (p, "time") for p in PERCENTILES},
    "cpu_client_ns": ("client CPU", "time"),
    "cpu_peer_ns": ("peer CPU", "time"),
    "ctx_switches": ("context switches", "count"),
    "page_faults": ("page faults", "count"),
}
PANEL_ORDER = ("PingPong", "Tail", "Stream", "CPU", "ColdStart")


def fail(msg):
    print(f"report.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def read(path):
    """The run's document, or exit 2 naming what is wrong with it."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}; accepted: the JSON of ipc_bench --benchmark_out=FILE "
             f"--benchmark_out_format=json")
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        fail(f"{path}: not Google Benchmark JSON (no \"benchmarks\" list); accepted: the "
             f"JSON of ipc_bench --benchmark_out=FILE --benchmark_out_format=json")
    if not isinstance(doc.get("context", {}), dict):
        fail(f"{path}: not Google Benchmark JSON (\"context\" is not an object)")
    return doc


def field(b, name):
    v = float(b[name])
    return v * TIME_UNITS.get(b.get("time_unit", "ns"), 1.0) if name == "real_time" else v


def results(doc):
    """{(family, transport, size or None): {column: median}}, each with
    "repetitions", from the entries that did not fail."""
    reps, medians = {}, {}
    for b in doc["benchmarks"]:
        if not isinstance(b, dict) or b.get("error_occurred") or "real_time" not in b:
            continue
        parts = str(b.get("run_name", b.get("name", ""))).split("/")
        if len(parts) < 2:
            continue
        size = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
        key = (parts[0], parts[1], size)
        try:
            values = {c: field(b, c) for c in COLUMNS if c in b}
        except (TypeError, ValueError):
            continue
        if b.get("run_type", "iteration") == "iteration":
            reps.setdefault(key, []).append(values)
        elif b.get("aggregate_name") == "median":
            medians[key] = dict(values, repetitions=b.get("repetitions"))
    out = {}
    for key, runs in reps.items():
        cols = [c for c in COLUMNS if all(c in r for r in runs)]
        out[key] = medians.get(key) or {c: statistics.median(r[c] for r in runs)
                                         for c in cols}
        out[key]["repetitions"] = len(runs)
    for key, m in medians.items():
        out.setdefault(key, m)
    return out


def fastest(res, family, column, higher):
    """[(size, (winner, value), (runner-up, value) or None, ratio)] by size."""
    by_size = {}
    for (fam, transport, size), m in res.items():
        if fam == family and size is not None and column in m:
            by_size.setdefault(size, []).append((transport, m[column]))
    rows = []
    for size in sorted(by_size):
        ranked = sorted(by_size[size], key=lambda t: (-t[1] if higher else t[1], t[0]))
        first, second = ranked[0], ranked[1] if len(ranked) > 1 else None
        ratio = None
        if second and first[1] and second[1]:
            ratio = first[1] / second[1] if higher else second[1] / first[1]
        rows.append((size, first, second, ratio))
    return rows


def fastest_html(runs, family, column, higher, what):
    parts = []
    for label, _, res in runs:
        rows = fastest(res, family, column, higher)
        if not rows:
            continue
        kind = COLUMNS[column][1]
        body = [[esc(size_text(s)), f"<b>{esc(w[0])}</b>", esc(fmt(w[1], kind)),
                 esc(r[0]) if r else "—", esc(fmt(r[1], kind)) if r else "—",
                 f"{ratio:.2f}×" if ratio else "—"] for s, w, r, ratio in rows]
        if len(runs) > 1:
            parts.append(f"<h3>{esc(label)}</h3>")
        parts.append(table(["payload", "fastest", what, "runner-up", what,
                            "fastest by"], body, numeric={2, 4, 5}))
    return "\n".join(parts)


def family_html(runs, family):
    keys = sorted({(k[1], k[2] or 0) for _, _, res in runs for k in res if k[0] == family})
    present = {c for _, _, res in runs for k, m in res.items() if k[0] == family for c in m}
    cols = [c for c in COLUMNS if c in present
            and (c != "bytes_per_second" or family == "Stream")]
    head = ["transport", "payload"] + (["run"] if len(runs) > 1 else []) + \
        [COLUMNS[c][0] for c in cols] + ["repetitions"]
    body = []
    for transport, size in keys:
        for label, _, res in runs:
            m = res.get((family, transport, size or None))
            if m is None:
                continue
            row = [esc(transport), esc(size_text(size)) if size else "—"]
            row += [esc(label)] if len(runs) > 1 else []
            row += [esc(fmt(m.get(c), COLUMNS[c][1])) for c in cols]
            body.append(row + [esc(m.get("repetitions") or "—")])
    first = 3 if len(runs) > 1 else 2
    return table(head, body, numeric=range(first, len(head)))


def entry_names(doc):
    """{family: {transport}} and the sizes of every entry, failed ones too:
    they were asked for."""
    names, sizes = {}, set()
    for b in doc["benchmarks"]:
        parts = str(b.get("run_name", b.get("name", ""))).split("/") if isinstance(b, dict) \
            else []
        if len(parts) >= 2:
            names.setdefault(parts[0], set()).add(parts[1])
            if len(parts) > 2 and parts[2].isdigit():
                sizes.add(int(parts[2]))
    return names, sizes


def pattern(ctx, names):
    """A --benchmark_filter for these families and transports. A family run
    with every transport the context lists (limit_*), the baselines' own
    aside, is named alone; families with the same transports share one
    alternative."""
    listed = {k[len("limit_"):] for k in ctx if k.startswith("limit_")}
    listed -= names.get("Baseline", set())
    groups = {}
    for fam in sorted(names):
        whole = fam != "Baseline" and listed and names[fam] >= listed
        groups.setdefault(None if whole else frozenset(names[fam]), []).append(fam)
    alts = []
    for transports, fams in groups.items():
        alt = f"^({'|'.join(fams)})/" if len(fams) > 1 else f"^{fams[0]}/"
        alts.append(alt + (f"({'|'.join(sorted(transports))})/" if transports else ""))
    return "|".join(alts)


def duration_text(ns):
    for unit, scale in (("m", 60e9), ("s", 1e9), ("ms", 1e6)):
        if ns >= scale and ns % scale == 0:
            return f"{int(ns // scale)}{unit}"
    return f"{max(1, round(ns / 1e6))}ms"


def command(doc, out_name):
    """(shell lines, notes) that would run this file's benchmarks again."""
    import shlex
    ctx, lines, notes = doc.get("context", {}), [], []
    rev = str(ctx.get("ipcb_git_revision", ""))
    if rev and rev != "unknown":
        clean = rev[:-len("-dirty")] if rev.endswith("-dirty") else rev
        lines.append(f"git checkout {shlex.quote(clean)}")
        if rev.endswith("-dirty"):
            notes.append(f"revision {rev}: the tree had uncommitted changes, which the "
                         "checkout does not bring back")
    else:
        notes.append("no ipcb_git_revision in the context: the revision is unknown")
    build = ctx.get("ipcb_build_type", "Release")
    preset = {"Release": "release", "Debug": "debug", "RelWithDebInfo": "asan"}.get(build)
    if build == "RelWithDebInfo":
        notes.append("build type RelWithDebInfo is that of the asan and tsan presets; the "
                     "context does not say which sanitizer")
    elif preset is None:
        # A build type no preset has (MinSizeRel, or none) came from a
        # configure by hand; a sanitizer would only add its own cost.
        preset = "release"
        exactly = (f"; configuring by hand with -DCMAKE_BUILD_TYPE={build} rebuilds it "
                   "exactly" if build else "")
        notes.append(f"build type {build or '(empty)'} is that of no preset: the commands "
                     f"use the release preset, the nearest{exactly}")
    lines.append(f"cmake --preset {preset} && cmake --build --preset {preset}")
    names, sizes = entry_names(doc)
    args = [f"./build/{preset}/bench/ipc_bench", f"--benchmark_filter={pattern(ctx, names)}"]
    if sizes:
        args.append("--ipc_sizes=" + ",".join(size_text(s, "") for s in sorted(sizes)))
    placement = re.fullmatch(r"client=(\d+) peer=(\d+)", str(ctx.get("ipc_placement", "")))
    if placement:
        args.append(f"--ipc_cpus={placement[1]},{placement[2]}")
    qos = re.match(r"QoS ([a-z-]+) ", str(ctx.get("ipc_thread_class", "")))
    if qos and qos[1] != "unspecified":
        args.append(f"--ipc_qos={qos[1]}")
    if str(ctx.get("ipc_window", "")).isdigit():
        args.append(f"--ipc_window={ctx['ipc_window']}")
    if str(ctx.get("ipc_timeout_ns", "")).isdigit():
        args.append(f"--ipc_timeout={duration_text(int(ctx['ipc_timeout_ns']))}")
    if ctx.get("ipc_verify") == "full":
        args.append("--ipc_verify")
    entries = [b for b in doc["benchmarks"] if isinstance(b, dict)]
    reps = max((int(b.get("repetitions") or 1) for b in entries), default=1)
    if reps > 1:
        args.append(f"--benchmark_repetitions={reps}")
    if entries and all(b.get("run_type") == "aggregate" for b in entries):
        args.append("--benchmark_report_aggregates_only=true")
    args += [f"--benchmark_out={out_name}", "--benchmark_out_format=json"]
    quoted = [re.sub(r"^(--[a-z_]+=)(.*)", lambda m: m[1] + shlex.quote(m[2]), a) for a in args]
    lines.append(" \\\n    ".join(quoted))
    if ctx.get("merged_from"):
        notes.append(f"merged by merge.py from {len(ctx['merged_from'])} files "
                     f"({', '.join(map(str, ctx['merged_from']))}): its repetitions were run "
                     "in turns, one file each, which this one command does not do")
    return lines, notes


def plots_html(paths, labels, title):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return ('<p class="note">No plots: matplotlib is not installed '
                "(Debian: python3-matplotlib).</p>")
    import plot
    runs = []
    for path, label in zip(paths, labels):
        series, ctx = plot.load(path)
        runs.append((series, ctx, label))
    # One figure a panel, so that each is drawn at a width the page can show;
    # load() also returns series that are no panel of their own (floors).
    found = {k[0] for series, _, _ in runs for k in series}
    known = list(getattr(plot, "PANELS", ()))
    panels = [p for p in PANEL_ORDER + tuple(known) if p in found and p in known]
    panels = list(dict.fromkeys(panels)) or ([None] if not known and found else [])
    if not panels:
        return '<p class="note">No plots: no PingPong, Stream or ColdStart results.</p>'
    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, panel in enumerate(panels):
            out = os.path.join(tmp, f"{i}.svg")
            plot.draw(runs, [out], title, only=[panel] if panel else None)
            with open(out, encoding="utf-8") as f:
                figures.append(f"<figure>{inline_svg(f.read(), f'fig{i}-')}</figure>")
    return '<div class="plots">' + "\n".join(figures) + "</div>"


def describe(ctx):
    bits = [" ".join(str(ctx[k]) for k in ("os", "os_release") if ctx.get(k)),
            ctx.get("machine"), ctx.get("cpu_model"),
            f"{ctx['logical_cpus']} CPUs" if ctx.get("logical_cpus") else None,
            f"host {ctx['host_name']}" if ctx.get("host_name") else None, ctx.get("date"),
            f"revision {ctx['ipcb_git_revision']}" if ctx.get("ipcb_git_revision") else None]
    return ", ".join(str(b) for b in bits if b)


def fastest_section(runs):
    out = ["<h2>Fastest transport at each payload size</h2>"]
    ping = fastest_html(runs, "PingPong", "real_time", False, "round trip")
    stream = fastest_html(runs, "Stream", "bytes_per_second", True, "throughput")
    out.append('<div class="side">')
    if ping:
        out += ["<div><h3>PingPong: median round trip, lower is better</h3>", ping, "</div>"]
    if stream:
        out += ["<div><h3>Stream: median one-way throughput, higher is better</h3>", stream,
                "</div>"]
    out.append("</div>")
    if not ping and not stream:
        out.append('<p class="note">No PingPong or Stream results.</p>')
    out.append('<p class="note">The one-process baselines (Baseline/*) take no part. '
               "“Fastest by” is the runner-up's median over the fastest's (for Stream, "
               "the fastest's throughput over the runner-up's).</p>")
    return out


def reproduce_section(labels, docs):
    out = ["<h2>How to reproduce</h2>"]
    out.append('<p class="note">The JSON does not record the command line. These commands '
               "are rebuilt from the context (ipcb_git_revision, ipcb_build_type, "
               "ipc_placement, ipc_thread_class, ipc_window, ipc_timeout_ns, ipc_verify) and "
               "from the benchmarks in the file (families, transports, sizes, repetitions). "
               "--benchmark_min_time, IPC_* environment variables and any other flag are not "
               "recorded. The filter names the transports that ran, or only the family where "
               "every transport of the context's limit_* list ran.</p>")
    for label, doc in zip(labels, docs):
        lines, notes = command(doc, label)
        if len(docs) > 1:
            out.append(f"<h3>{esc(label)}</h3>")
        out.append(f"<pre>{esc(chr(10).join(lines))}</pre>")
        out += [f'<p class="note">{esc(n)}</p>' for n in notes]
    return out


def page(paths, title):
    docs = [read(p) for p in paths]
    res = [results(d) for d in docs]
    for path, r in zip(paths, res):
        if not r:
            fail(f"{path}: no results: no benchmark entry without error_occurred; "
                 "accepted: an ipc_bench run with at least one benchmark that ran")
    names = [os.path.basename(p) for p in paths]
    labels = names if len(set(names)) == len(names) else list(paths)
    runs = [(label, d.get("context", {}), r) for label, d, r in zip(labels, docs, res)]
    title = title or "ipc_bench report: " + ", ".join(labels)
    out = [f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
           f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
           f"<h1>{esc(title)}</h1>"]
    out += [f'<p class="note"><b>{esc(label)}</b>: {esc(describe(ctx))}</p>'
            for label, ctx, _ in runs]
    out += ["<h2>Plots</h2>", plots_html(paths, labels, ", ".join(labels))]
    out += fastest_section(runs)
    out.append("<h2>Results by family</h2>")
    out.append('<p class="note">Medians over the repetitions. Percentiles are those of '
               "single round trips; the cost counters are per iteration (a round trip for "
               "PingPong, a message for Stream), client and peer together for switches and "
               "faults.</p>")
    families = {k[0] for _, _, r in runs for k in r}
    for fam in [f for f in PANEL_ORDER if f in families] + sorted(families - set(PANEL_ORDER)):
        out += [f"<h3>{esc(fam)}</h3>", family_html(runs, fam)]
    out += reproduce_section(labels, docs)
    out.append("<h2>Contexts</h2>")
    if len(runs) > 1:
        out.append('<p class="note">Rows marked ≠ and shaded differ between the runs.</p>')
    out.append(context_html(runs))
    out.append("</body></html>\n")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="ipc_bench JSON (--benchmark_out)")
    p.add_argument("-o", "--output", required=True, help="HTML file to write")
    p.add_argument("--title", help="page title instead of \"ipc_bench report: FILES\"")
    args = p.parse_args(argv)
    text = page(args.runs, args.title)
    try:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        fail(f"-o {args.output}: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
