#!/usr/bin/env python3
"""Plot ipc_bench results: latency, throughput and CPU against payload size.

    plot.py RESULT.json [MORE.json ...] -o out.png [-o out.svg]

One panel per kind of result found in the runs, each on log-log axes with
one line per transport; --family draws only the panels it names:
  PingPong   round-trip latency (median real_time), with the floors of the
             same run where it has them: 2 x Baseline/Memcpy of the size
             (one copy each way) and Baseline/CacheLine (one shared cache
             line there and back, a horizontal line)
  Tail       the 99th percentile of PingPong's round trips (median p99)
  Stream     throughput (median bytes_per_second)
  ColdStart  spawn, one exchange and teardown (median real_time)
  CPU        CPU time per PingPong round trip of the client and of the peer
             (median cpu_client_ns and cpu_peer_ns), for the results that
             carry both cost counters
The CPU panel stacks two plots, the client's above the peer's, sharing both
axes. Line style already tells the files apart, so a peer line
dashed beside a solid client line would read as a second file; stacked on
one y scale, the two sides of a transport still compare at a glance.
With repetitions, the line is the median and the shaded band spans the
fastest to the slowest repetition. A transport is a colour and a marker
together, distinct for up to 70 transports; with several files, each line is
labelled with its file too, and each file has its own line style. The
legend sits below the panels, in as many columns as the figure's width
holds, and the figure grows taller to hold it. The
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
    "Tail": ("PingPong", "PingPong: 99th percentile",
             [("p99", "p99 round-trip latency (µs)")], 1e-3),
    "Stream": ("Stream", "Stream: one-way throughput",
               [("bytes_per_second", "throughput (GB/s)")], 1e-9),
    "ColdStart": ("ColdStart", "ColdStart: spawn, exchange, teardown",
                  [("real_time", "time (ms)")], 1e-6),
    "CPU": ("PingPong", "CPU per round trip",
            [("cpu_client_ns", "client CPU (µs)"), ("cpu_peer_ns", "peer CPU (µs)")],
            1e-3),
}

# The floors drawn on the PingPong panel, from the baselines of the same run:
# (benchmark, label, factor). A round trip moves n bytes each way, so no
# transport can beat one copy each way, 2 x Memcpy of n bytes; and none can
# beat the cache line that two processes hand to each other and back (a
# round trip too), whatever the size. They are series ("Floor", name) of
# load, CacheLine's at size 0.
FLOORS = {
    "Memcpy": ("Baseline/Memcpy", "floor: 2 × Memcpy (a copy each way)", 2.0),
    "CacheLine": ("Baseline/CacheLine", "floor: CacheLine round trip", 1.0),
}
FLOOR_LOOKS = {"Memcpy": dict(color="0.25", linewidth=3.0, alpha=0.35),
               "CacheLine": dict(color="black", linewidth=1.0, alpha=0.8)}
# A transport is a colour and a marker. 10 colours and 7 markers, coprime, so
# the (colour, marker) pairs repeat only after 70 transports, and two
# transports of one colour (the 1st and the 11th) differ in marker too.
# tab20's pale twins of each colour are too alike to tell apart.
MARKERS = "os^DvPX"
# A file is a line style.
LINESTYLES = ("-", "--", ":", "-.", (0, (8, 2, 1, 2, 1, 2)), (0, (12, 3)))


def fail(msg):
    print(f"plot.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


def value(entry, field):
    v = float(entry[field])
    if field == "real_time":
        v *= TIME_UNITS.get(entry.get("time_unit", "ns"), 1.0)
    return v


def keys_of(b):
    """(key, size, values) for each series an entry belongs to."""
    parts = b.get("run_name", b.get("name", "")).split("/")
    if len(parts) < 2 or b.get("error_occurred"):
        return []
    for name, (bench, _, _) in FLOORS.items():
        if "/".join(parts[:2]) == bench and "real_time" in b:
            size = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
            return [(("Floor", name), size, [value(b, "real_time")])]
    if len(parts) < 3:
        return []
    try:
        size = int(parts[2])
    except ValueError:
        return []
    return [((panel, parts[1]), size, [value(b, f) for f, _ in fields])
            for panel, (family, _, fields, _) in PANELS.items()
            if family == parts[0] and all(f in b for f, _ in fields)]


def load(path):
    """{(panel, transport): {size: [(median, min, max) of each field]}} and
    the context. The floors are there too, as ("Floor", name) of FLOORS:
    {size: [(median, min, max) of real_time in ns]}, CacheLine's at size 0."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"{path}: {e}")
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        fail(f"{path}: not Google Benchmark JSON (no \"benchmarks\" list)")
    iterations, medians = {}, {}
    for b in doc["benchmarks"]:
        for key, size, values in keys_of(b):
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


def wrapped(fig, title, fontsize):
    """The title with each line longer than the figure is wide broken at its
    commas: a context line of a long CPU name overflows a one-panel figure."""
    renderer = fig.canvas.get_renderer()
    room = fig.get_figwidth() * fig.dpi * 0.96

    def width(text):
        t = fig.text(0, 0, text, fontsize=fontsize)
        w = t.get_window_extent(renderer).width
        t.remove()
        return w

    out = []
    for line in title.split("\n"):
        words, line = line.split(", "), ""
        for w in words:
            if line and width(f"{line}, {w}") > room:
                out.append(line + ",")
                line = w
            else:
                line = f"{line}, {w}" if line else w
        out.append(line)
    return "\n".join(out)


def place_legend(fig, legend, height, title):
    """One legend below the panels, in as many columns as the figure's width
    holds, and the figure grown by its height and the title's, so no entry is
    cut at an edge whatever the number of transports and files."""
    renderer = fig.canvas.get_renderer()
    above = title.get_window_extent(renderer).height / fig.dpi + 0.1
    kw = dict(loc="lower center", fontsize="small", frameon=False)
    probe = fig.legend(legend.values(), legend.keys(), ncol=1, **kw)
    em = probe.prop.get_size_in_points() * fig.dpi / 72
    widths = [t.get_window_extent(renderer).width for t in probe.get_texts()]
    handle = (probe.handlelength + probe.handletextpad) * em
    room = fig.get_figwidth() * fig.dpi - 2 * (probe.borderpad + probe.borderaxespad) * em
    space = probe.columnspacing * em
    probe.remove()

    def width(ncol):
        # matplotlib fills the columns in order, the first len % ncol of
        # them one entry longer, and sizes each column to its widest text.
        rows, longer = divmod(len(widths), ncol)
        start, total = 0, -space
        for c in range(ncol):
            n = rows + (c < longer)
            total += handle + max(widths[start:start + n], default=0) + space
            start += n
        return total

    ncol = next((n for n in range(len(widths), 1, -1) if width(n) <= room), 1)
    leg = fig.legend(legend.values(), legend.keys(), ncol=ncol,
                     bbox_to_anchor=(0.5, 0.0), **kw)
    below = leg.get_window_extent(renderer).height / fig.dpi + 0.15
    total = above + height + below
    fig.set_size_inches(fig.get_figwidth(), total)
    # tight_layout makes room for the title as if it were at the top, and a
    # title at its usual 98% of a tall figure's height would be lower.
    title.set_y(1 - 0.05 / total)
    fig.tight_layout(rect=(0, below / total, 1, 1))
    return leg


def floors(ax, runs, having, labelled, sizes, scale, legend):
    """The Memcpy and CacheLine floors of each file on the PingPong panel,
    in the file's line style."""
    for i in having:
        series, _, label = runs[i]
        suffix = f" ({label})" if labelled else ""
        linestyle = LINESTYLES[i % len(LINESTYLES)]
        for name, (_, text, factor) in FLOORS.items():
            points = series.get(("Floor", name))
            if not points:
                continue
            kw = dict(FLOOR_LOOKS[name], linestyle=linestyle, label=text + suffix)
            if name == "CacheLine":
                legend[text + suffix] = ax.axhline(points[0][0][0] * factor * scale, **kw)
                continue
            xs = [x for x in sorted(points) if x in sizes]
            if len(xs) == 1:  # a line of one point would not show
                kw.update(marker="_", markersize=12, markeredgewidth=kw["linewidth"])
            if xs:
                legend[text + suffix], = ax.plot(
                    xs, [points[x][0][0] * factor * scale for x in xs], **kw)


def figure(runs, title, only=None):
    """The figure that draw saves: runs are (series, context, label) each,
    series as load returns it; only, the panels to draw (all by default)."""
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
    transports = sorted({k[1] for s, _, _ in runs for k in s if k[0] in PANELS})
    cmap = plt.get_cmap("tab10")
    looks = {t: (cmap(i % 10), MARKERS[i % len(MARKERS)]) for i, t in enumerate(transports)}
    drawn = [r for r in runs if any(k[0] in panels for k in r[0])]
    legend = {}
    height = 5.0  # the panels', without the title and the legend
    fig = plt.figure(figsize=(6.4 * len(panels), height))
    grid = fig.add_gridspec(max(len(PANELS[p][2]) for p in panels), len(panels))
    for col, panel in enumerate(panels):
        family, panel_title, fields, scale = PANELS[panel]
        axes = [fig.add_subplot(grid[:, col] if len(fields) == 1 else grid[0, col])]
        axes += [fig.add_subplot(grid[j, col], sharex=axes[0], sharey=axes[0])
                 for j in range(1, len(fields))]
        sizes = set()
        # A file keeps its index in runs, so its look is the same in every
        # panel, and its label too: where only one of several files has a
        # panel, an unlabelled line in its style would read as another file's.
        having = [i for i, r in enumerate(runs) if any(k[0] == panel for k in r[0])]
        for i in having:
            series, _, label = runs[i]
            for (key, transport), points in sorted(series.items()):
                if key != panel:
                    continue
                xs = sorted(points)
                sizes.update(xs)
                name = transport if len(drawn) == 1 else f"{transport} ({label})"
                colour, marker = looks[transport]
                for j, ax in enumerate(axes):
                    med, lo, hi = ([points[x][j][k] * scale for x in xs] for k in range(3))
                    legend[name], = ax.plot(xs, med, linestyle=LINESTYLES[i % len(LINESTYLES)],
                                            marker=marker, markersize=4, color=colour,
                                            label=name)
                    ax.fill_between(xs, lo, hi, color=colour, alpha=0.15, linewidth=0)
        if panel == "PingPong":
            floors(axes[0], runs, having, len(drawn) > 1, sizes, scale, legend)
        for j, (ax, (_, ylabel)) in enumerate(zip(axes, fields)):
            style(ax, sorted(sizes), ylabel, j == len(axes) - 1, len(axes) > 1)
        axes[0].set_title(panel_title)
    sup = fig.suptitle(wrapped(fig, title, "medium"), fontsize="medium", va="top")
    # One legend for all panels, below them: a transport has the same look
    # everywhere, and a legend inside a panel hides its lines.
    place_legend(fig, legend, height, sup)
    return fig


def draw(runs, outputs, title, dpi=100, only=None):
    fig = figure(runs, title, only)  # first: it chooses the Agg backend
    import matplotlib.pyplot as plt
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
                   help="draw only this panel: a family, Tail for the p99 of "
                        "PingPong, or CPU for the CPU time per round trip of "
                        "PingPong; may be repeated")
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
