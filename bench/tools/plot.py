#!/usr/bin/env python3
"""Plot ipc_bench results: latency, throughput and CPU against payload size.

    plot.py RESULT.json [MORE.json ...] -o out.png [-o out.svg]

One panel per kind of result found in the runs, each on log-log axes with
one line per transport; --family draws only the panels it names:
  PingPong   round-trip latency (median real_time)
  Stream     throughput (median bytes_per_second)
  ColdStart  spawn, one exchange and teardown (median real_time)
  CPU        CPU time per PingPong round trip of the client and of the peer
             (median cpu_client_ns and cpu_peer_ns), for the results that
             carry both cost counters
The CPU panel stacks two plots, the client's above the peer's, sharing both
axes. Line style and marker already tell the files apart, so a peer line
dashed beside a solid client line would read as a second file; stacked on
one y scale, the two sides of a transport still compare at a glance.
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

# panel: (family it reads, title, [(field of an entry, y label)], scale to
# the y unit). A panel with two fields is two plots, one above the other; it
# takes the entries that have every field.
PANELS = {
    "PingPong": ("PingPong", "PingPong: round trip",
                 [("real_time", "round-trip latency (µs)")], 1e-3),
    "Stream": ("Stream", "Stream: one-way throughput",
               [("bytes_per_second", "throughput (GB/s)")], 1e-9),
    "ColdStart": ("ColdStart", "ColdStart: spawn, exchange, teardown",
                  [("real_time", "time (ms)")], 1e-6),
    "CPU": ("PingPong", "CPU per round trip",
            [("cpu_client_ns", "client CPU (µs)"), ("cpu_peer_ns", "peer CPU (µs)")],
            1e-3),
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
    """{(panel, transport): {size: [(median, min, max) of each field]}} and
    the context."""
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
        if len(parts) < 3 or b.get("error_occurred"):
            continue
        try:
            size = int(parts[2])
        except ValueError:
            continue
        for panel, (family, _, fields, _) in PANELS.items():
            if family != parts[0] or any(f not in b for f, _ in fields):
                continue
            key, values = (panel, parts[1]), [value(b, f) for f, _ in fields]
            if b.get("run_type", "iteration") == "iteration":
                iterations.setdefault(key, {}).setdefault(size, []).append(values)
            elif b.get("aggregate_name") == "median":
                medians.setdefault(key, {})[size] = values
    series = {}
    for key, by_size in iterations.items():
        series[key] = {}
        for s, reps in by_size.items():
            med = medians.get(key, {}).get(s) or [statistics.median(v) for v in zip(*reps)]
            series[key][s] = [(m, min(v), max(v)) for m, v in zip(med, zip(*reps))]
    for key, by_size in medians.items():  # --benchmark_report_aggregates_only
        if key not in series:
            series[key] = {s: [(m, m, m) for m in ms] for s, ms in by_size.items()}
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


def what(panel):
    family, _, fields, _ = PANELS[panel]
    if panel == family:
        return panel
    return f"{panel} ({family} with {' and '.join(f for f, _ in fields)})"


def style(ax, sizes, ylabel, xlabels, stacked):
    from matplotlib import ticker
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    # A decade or less of range would leave one labelled tick; 1-2-5
    # steps in plain numbers read better than powers of ten. A stacked plot
    # has half the height, and past two decades its 1-2-5 labels would touch.
    lo, hi = ax.get_ylim()
    subs = (1.0,) if stacked and hi > 100 * lo else (1.0, 2.0, 5.0)
    ax.yaxis.set_major_locator(ticker.LogLocator(subs=subs))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda y, _: f"{y:g}"))
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xticks(sizes)
    ax.set_xticklabels([size_label(t) for t in sizes], rotation=45, ha="right")
    ax.xaxis.set_minor_locator(ticker.NullLocator())
    if xlabels:
        ax.set_xlabel("payload size")
    else:  # the plot below, on the same x axis, labels it
        ax.tick_params(labelbottom=False)
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)


def draw(runs, outputs, title, dpi=100, only=None):
    import matplotlib
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "ipc_bench"  # reproducible SVG ids
    # Text stays text in SVG: smaller, searchable, and selectable in a browser.
    matplotlib.rcParams["svg.fonttype"] = "none"
    import matplotlib.pyplot as plt

    panels = [p for p in PANELS if any(p == k[0] for s, _, _ in runs for k in s)
              and (not only or p in only)]
    if not panels:
        fail(f"no {' or '.join(what(p) for p in only or PANELS)} results in " +
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
    fig = plt.figure(figsize=(6.4 * len(panels), 5.6))
    grid = fig.add_gridspec(max(len(PANELS[p][2]) for p in panels), len(panels))
    for col, panel in enumerate(panels):
        family, panel_title, fields, scale = PANELS[panel]
        axes = [fig.add_subplot(grid[:, col] if len(fields) == 1 else grid[0, col])]
        axes += [fig.add_subplot(grid[j, col], sharex=axes[0], sharey=axes[0])
                 for j in range(1, len(fields))]
        sizes = set()
        # Files are labelled only where more than one has this panel; a
        # file keeps its index in runs, so its look is the same in every panel.
        having = [i for i, r in enumerate(runs) if any(k[0] == panel for k in r[0])]
        for i in having:
            series, _, label = runs[i]
            for (key, transport), points in sorted(series.items()):
                if key != panel:
                    continue
                xs = sorted(points)
                sizes.update(xs)
                name = transport if len(having) == 1 else f"{transport} ({label})"
                colour, shift = looks[transport]
                for j, ax in enumerate(axes):
                    med, lo, hi = ([points[x][j][k] * scale for x in xs] for k in range(3))
                    legend[name], = ax.plot(xs, med, styles[(i + shift) % len(styles)],
                                            marker=markers[i % len(markers)],
                                            markersize=3, color=colour, label=name)
                    ax.fill_between(xs, lo, hi, color=colour, alpha=0.15, linewidth=0)
        for j, (ax, (_, ylabel)) in enumerate(zip(axes, fields)):
            style(ax, sorted(sizes), ylabel, j == len(axes) - 1, len(axes) > 1)
        axes[0].set_title(panel_title)
    fig.suptitle(title, fontsize="medium")
    # One legend for all panels, below them: a transport has the same look
    # everywhere, and a legend inside a panel hides its lines.
    ncol = min(len(legend), 4 * len(panels))
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
                   help="draw only this panel: a family, or CPU for the CPU "
                        "time per round trip of PingPong; may be repeated")
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
