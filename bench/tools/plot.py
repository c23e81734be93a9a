#!/usr/bin/env python3
"""Plot ipc_bench results: latency and throughput against payload size.

    plot.py RESULT.json [MORE.json ...] -o out.png [-o out.svg]

One panel per family found in the runs, each on log-log axes with one line
per transport:
  PingPong   round-trip latency (median real_time)
  Stream     throughput (median bytes_per_second)
  ColdStart  spawn, one exchange and teardown (median real_time)
With repetitions, the line is the median and the shaded band spans the
fastest to the slowest repetition. With several files, each line is labelled
with its file too, and each file has its own line style and marker. The
title carries the context of each run (OS, kernel, machine, CPU model and
count, host) so a picture can be told apart from one made elsewhere. Formats
follow the extension: .png or .svg.

Needs matplotlib (Debian: python3-matplotlib); it draws with the Agg backend,
so no display is needed.
"""

import argparse
import json
import os
import statistics
import sys

TIME_UNITS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

# family: (panel title, y label, value of an entry, scale to the y unit)
PANELS = {
    "PingPong": ("PingPong: round trip", "round-trip latency (µs)", "real_time", 1e-3),
    "Stream": ("Stream: one-way throughput", "throughput (GB/s)",
               "bytes_per_second", 1e-9),
    "ColdStart": ("ColdStart: spawn, exchange, teardown", "time (ms)",
                  "real_time", 1e-6),
}


def fail(msg):
    print(f"plot.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def value(entry, field):
    v = float(entry[field])
    if field == "real_time":
        v *= TIME_UNITS.get(entry.get("time_unit", "ns"), 1.0)
    return v


def load(path):
    """{(family, transport): {size: [values of each repetition]}} and context."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}")
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        fail(f"{path}: not Google Benchmark JSON (no \"benchmarks\" list)")
    iterations, medians = {}, {}
    for b in doc["benchmarks"]:
        parts = b.get("run_name", b.get("name", "")).split("/")
        if len(parts) < 3 or parts[0] not in PANELS or b.get("error_occurred"):
            continue
        try:
            size = int(parts[2])
        except ValueError:
            continue
        field = PANELS[parts[0]][2]
        if field not in b:
            continue
        key = (parts[0], parts[1])
        if b.get("run_type", "iteration") == "iteration":
            iterations.setdefault(key, {}).setdefault(size, []).append(value(b, field))
        elif b.get("aggregate_name") == "median":
            medians.setdefault(key, {})[size] = value(b, field)
    series = {}
    for key, by_size in iterations.items():
        series[key] = {s: (medians.get(key, {}).get(s, statistics.median(v)),
                           min(v), max(v)) for s, v in by_size.items()}
    for key, by_size in medians.items():  # --benchmark_report_aggregates_only
        if key not in series:
            series[key] = {s: (m, m, m) for s, m in by_size.items()}
    return series, doc.get("context", {})


def describe(ctx):
    os_part = " ".join(x for x in (ctx.get("os"), ctx.get("os_release")) if x)
    cpu = ctx.get("cpu_model") or "unknown CPU"
    cpus = ctx.get("logical_cpus") or ctx.get("num_cpus")
    bits = [os_part, ctx.get("machine"), f"{cpu} ({cpus} CPUs)" if cpus else cpu]
    if ctx.get("host_name"):
        bits.append(f"host {ctx['host_name']}")
    if ctx.get("date"):
        bits.append(ctx["date"][:10])
    return ", ".join(b for b in bits if b)


def size_label(n):
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def draw(runs, outputs, title, dpi=100, only=None):
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "ipc_bench"  # reproducible SVG ids
    # Text stays text in SVG: smaller, searchable, and selectable in a browser.
    matplotlib.rcParams["svg.fonttype"] = "none"
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    families = [f for f in PANELS if any(f == k[0] for s, _, _ in runs for k in s)
                and (not only or f in only)]
    if not families:
        fail(f"no {' or '.join(only or PANELS)} results in " +
             ", ".join(label for _, _, label in runs))
    transports = sorted({k[1] for s, _, _ in runs for k in s})
    # A transport is a colour, a file a line style and a marker. Past ten
    # transports the colours come round again (tab20's pale twins of each
    # colour are too alike to tell apart), so the next ten start one step
    # further along the styles: with one file the eleventh is dashed where
    # the first is solid.
    cmap = plt.get_cmap("tab10")
    looks = {t: (cmap(i % 10), i // 10) for i, t in enumerate(transports)}
    styles, markers = ("-", "--", ":", "-."), "os^Dv"
    legend = {}
    fig, axes = plt.subplots(1, len(families), figsize=(6.4 * len(families), 5.6),
                             squeeze=False)
    for ax, family in zip(axes[0], families):
        panel_title, ylabel, _, scale = PANELS[family]
        sizes = set()
        # Files are labelled only where more than one has this family; a
        # file keeps its index in runs, so its look is the same in every panel.
        having = [i for i, r in enumerate(runs) if any(k[0] == family for k in r[0])]
        for i in having:
            series, _, label = runs[i]
            for (fam, transport), points in sorted(series.items()):
                if fam != family:
                    continue
                xs = sorted(points)
                sizes.update(xs)
                med = [points[x][0] * scale for x in xs]
                lo = [points[x][1] * scale for x in xs]
                hi = [points[x][2] * scale for x in xs]
                name = transport if len(having) == 1 else f"{transport} ({label})"
                colour, shift = looks[transport]
                legend[name], = ax.plot(xs, med, styles[(i + shift) % len(styles)],
                                        marker=markers[i % len(markers)],
                                        markersize=3, color=colour, label=name)
                ax.fill_between(xs, lo, hi, color=colour, alpha=0.15,
                                linewidth=0)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        # A decade or less of range would leave one labelled tick; 1-2-5
        # steps in plain numbers read better than powers of ten.
        ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda y, _: f"{y:g}"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ticks = sorted(sizes)
        ax.set_xticks(ticks)
        ax.set_xticklabels([size_label(t) for t in ticks], rotation=45, ha="right")
        ax.xaxis.set_minor_locator(ticker.NullLocator())
        ax.set_xlabel("payload size")
        ax.set_ylabel(ylabel)
        ax.set_title(panel_title)
        ax.grid(True, which="major", alpha=0.3)
    fig.suptitle(title, fontsize="medium")
    # One legend for all panels, below them: a transport has the same look
    # everywhere, and a legend inside a panel hides its lines.
    ncol = min(len(legend), 4 * len(families))
    rows = -(-len(legend) // ncol)
    fig.legend(legend.values(), legend.keys(), loc="lower center", ncol=ncol,
               fontsize="small", frameon=False)
    fig.tight_layout(rect=(0, 0.045 * rows, 1, 1))
    for out in outputs:
        fig.savefig(out, dpi=dpi, metadata={"Date": None} if out.endswith(".svg") else None)
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs", nargs="+", help="ipc_bench JSON (--benchmark_out)")
    p.add_argument("-o", "--output", action="append", required=True,
                   help="image to write, .png or .svg; may be repeated")
    p.add_argument("--title", help="title line instead of \"ipc_bench\"")
    p.add_argument("--family", action="append", choices=sorted(PANELS),
                   help="draw only this family's panel; may be repeated")
    p.add_argument("--dpi", type=int, default=100,
                   help="PNG resolution; 100 makes a 6.4 inch panel 640 pixels wide")
    args = p.parse_args(argv)
    for out in args.output:
        if os.path.splitext(out)[1].lower() not in (".png", ".svg"):
            p.error(f"-o {out}: the extension must be .png or .svg")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        fail("matplotlib is not installed (Debian: apt-get install python3-matplotlib)")
    runs, contexts = [], []
    for path in args.runs:
        series, ctx = load(path)
        runs.append((series, ctx, os.path.basename(path)))
        if describe(ctx) not in contexts:
            contexts.append(describe(ctx))
    title = "\n".join([args.title or "ipc_bench"] + contexts)
    draw(runs, args.output, title, args.dpi, args.family)
    return 0


if __name__ == "__main__":
    sys.exit(main())
