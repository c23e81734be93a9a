#!/usr/bin/env python3
"""bench/tools/plot.py on checked-in runs: which panels it draws, and how.

fixtures/costs.json has PingPong with the cost counters (the CPU panel),
fixtures/base.json has PingPong without them. The panels are told apart by
their titles in the SVG, whose text stays text. Runs of 24 transports are
made from costs.json by renaming copies of its Pipe results; the layout
(legend, title) and the looks of the lines are read from the figure that
plot.py saves. Without matplotlib this exits with 77, which ctest reports as
skipped.
"""

import copy
import os
import statistics
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

from toolstest import SKIP, fixture, load, run_tool, save

# Today's transports and macOS-like names, 24 in all.
NAMES = ["CMA", "MemfdSeal", "Pipe", "PosixMQ", "PosixShm", "ShmEventfd", "ShmFcntl",
         "ShmFutex", "ShmSpin", "SysVMsg", "SysVShm", "TCP", "UnixDgram", "UnixStream",
         "Vmsplice", "MachPort", "MachMsgOOL", "MachSemaphore", "CFMessagePort", "XPC",
         "Ulock", "KQueueUser", "PosixSem", "DispatchSem"]
MEMCPY_LABEL = "floor: 2 × Memcpy (a copy each way)"
CACHELINE_LABEL = "floor: CacheLine round trip"
TAIL_TITLE = "PingPong: 99th percentile"


def many_transports(n, factor=1.0):
    """costs.json with its PingPong and Stream Pipe results copied to n
    transports, each a little slower than the one before."""
    doc = load(fixture("costs.json"))
    pipe = [b for b in doc["benchmarks"]
            if b["run_name"].startswith(("PingPong/Pipe/", "Stream/Pipe/"))]
    rest = [b for b in doc["benchmarks"]
            if b["run_name"].split("/")[0] not in ("PingPong", "Stream")]
    out = []
    for i, name in enumerate(NAMES[:n]):
        for b in pipe:
            c = copy.deepcopy(b)
            for k in ("name", "run_name"):
                c[k] = c[k].replace("/Pipe/", f"/{name}/")
            for k in ("real_time", "cpu_time", "p50", "p99", "cpu_client_ns", "cpu_peer_ns"):
                if k in c:
                    c[k] *= factor * (1 + 0.1 * i)
            out.append(c)
    doc["benchmarks"] = out + rest
    return doc


def with_cacheline(doc, times=(310.0, 290.0, 300.0)):
    """A copy with Baseline/CacheLine repetitions of these round trips (ns)."""
    doc = copy.deepcopy(doc)
    for i, t in enumerate(times):
        doc["benchmarks"].append({
            "name": "Baseline/CacheLine/real_time", "run_name": "Baseline/CacheLine/real_time",
            "run_type": "iteration", "repetitions": len(times), "repetition_index": i,
            "iterations": 1000, "real_time": t, "cpu_time": t, "time_unit": "ns"})
    return doc

CPU_TITLE = "CPU per round trip"
PINGPONG_TITLE = "PingPong: round trip"


class Plot(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def svg_text(self, *args):
        out = os.path.join(self.tmp.name, "out.svg")
        status, stdout, err = run_tool("plot.py", *args, "-o", out)
        self.assertEqual((status, stdout, err), (0, "", ""))
        return " ".join(ET.parse(out).getroot().itertext())

    def test_runs_with_both_cpu_counters_get_the_cpu_panel(self):
        text = self.svg_text(fixture("costs.json"))
        for words in (CPU_TITLE, "client CPU (µs)", "peer CPU (µs)", PINGPONG_TITLE,
                      "Stream: one-way throughput", "Pipe", "SysVShm", "64 KiB"):
            self.assertIn(words, text)
        # Selected alone, or left out by selecting another panel.
        text = self.svg_text(fixture("costs.json"), "--family", "CPU")
        self.assertIn(CPU_TITLE, text)
        self.assertNotIn(PINGPONG_TITLE, text)
        text = self.svg_text(fixture("costs.json"), "--family", "PingPong")
        self.assertIn(PINGPONG_TITLE, text)
        self.assertNotIn(CPU_TITLE, text)

    def test_runs_without_them_get_no_cpu_panel(self):
        text = self.svg_text(fixture("base.json"))
        self.assertIn(PINGPONG_TITLE, text)
        self.assertNotIn(CPU_TITLE, text)
        self.assertNotIn("peer CPU", text)
        # The client's CPU alone does not make the panel: it needs both.
        doc = load(fixture("costs.json"))
        for b in doc["benchmarks"]:
            b.pop("cpu_peer_ns", None)
        path = os.path.join(self.tmp.name, "client-only.json")
        save(doc, path)
        self.assertNotIn(CPU_TITLE, self.svg_text(path))

    def test_asking_for_the_cpu_panel_of_runs_without_it_is_an_error(self):
        out = os.path.join(self.tmp.name, "out.png")
        status, stdout, err = run_tool("plot.py", fixture("base.json"), "--family", "CPU",
                                       "-o", out)
        self.assertEqual((status, stdout), (2, ""))
        self.assertEqual(err, "plot.py: error: no CPU (PingPong with cpu_client_ns and "
                              "cpu_peer_ns) results in base.json\n")
        self.assertFalse(os.path.exists(out))

    def test_the_cpu_panel_plots_each_side_median_and_range(self):
        import plot
        series, _ = plot.load(fixture("costs.json"))
        entries = [b for b in load(fixture("costs.json"))["benchmarks"]
                   if b["run_name"] == "PingPong/SysVShm/4096/real_time"]
        want = [(statistics.median(v), min(v), max(v))
                for v in ([b[f] for b in entries] for f in ("cpu_client_ns", "cpu_peer_ns"))]
        self.assertEqual(series[("CPU", "SysVShm")][4096], want)
        self.assertEqual(sorted(k for k in series if k[0] == "CPU"),
                         [("CPU", "Pipe"), ("CPU", "SysVShm")])


class Looks(unittest.TestCase):
    """What a reader sees: the legend and title inside the picture, lines
    that do not look alike, the floors and the tail."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def runs(self, files, n=24):
        import plot
        out = []
        for f in range(files):
            # Long names, as a CI artifact or a dated run has.
            path = os.path.join(self.tmp.name, f"ipc_bench-2026-12-01-run-{f + 1}.json")
            doc = with_cacheline(many_transports(n, 1.0 + f))
            # A CPU name as long as a hosted runner's makes the title
            # wider than one panel.
            doc["context"]["cpu_model"] = "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"
            save(doc, path)
            series, ctx = plot.load(path)
            out.append((series, ctx, os.path.basename(path)))
        title = "\n".join(["ipc_bench"] + [plot.describe(c) for _, c, _ in out])
        return out, title

    def figure(self, files, only=None, n=24):
        import plot
        import matplotlib.pyplot as plt
        runs, title = self.runs(files, n)
        fig = plot.figure(runs, title, only)
        self.addCleanup(plt.close, fig)
        fig.canvas.draw()  # as savefig does: the legend places its entries
        return fig

    def assertInside(self, box, fig, what):
        w, h = fig.bbox.width, fig.bbox.height
        self.assertTrue(box.x0 >= 0 and box.y0 >= 0 and box.x1 <= w and box.y1 <= h,
                        f"{what} {box} is not inside the figure (0, 0, {w}, {h})")

    def test_legend_and_title_fit_inside_the_figure(self):
        for files in (1, 2, 3):
            for only in (None, ["PingPong"]):
                with self.subTest(files=files, only=only):
                    fig = self.figure(files, only)
                    r = fig.canvas.get_renderer()
                    legend = fig.legends[0].get_tightbbox(r)
                    self.assertInside(legend, fig, "the legend")
                    self.assertEqual(len(fig.legends[0].get_texts()), 24 * files + 2 * files)
                    self.assertInside(fig._suptitle.get_tightbbox(r), fig, "the title")
                    for ax in fig.axes:
                        box = ax.get_tightbbox(r)
                        self.assertInside(box, fig, "a panel")
                        # Below the panels, not over their labels; the
                        # title above their titles.
                        self.assertLess(legend.y1, box.y0)
                        self.assertGreater(fig._suptitle.get_window_extent(r).y0, box.y1)

    def test_the_legend_takes_the_columns_the_width_holds(self):
        # 24 short names and two floors across three panels fit in two rows,
        # where a fixed count of columns would make several.
        fig = self.figure(1)
        texts = fig.legends[0].get_texts()
        r = fig.canvas.get_renderer()
        rows = {round(t.get_window_extent(r).y0) for t in texts}
        self.assertLessEqual(len(rows), 2, sorted(rows))

    def test_24_transports_look_different(self):
        for files in (1, 2, 3):
            with self.subTest(files=files):
                fig = self.figure(files, ["PingPong"])
                lines = [l for l in fig.axes[0].get_lines()
                         if not l.get_label().startswith("floor")]
                self.assertEqual(len(lines), 24 * files)
                looks = {(tuple(l.get_color()), l.get_marker(), str(l.get_linestyle()))
                         for l in lines}
                self.assertEqual(len(looks), 24 * files)
                # A transport is the same colour and marker in every file.
                by_transport = {}
                for l in lines:
                    by_transport.setdefault(l.get_label().split(" (")[0], set()).add(
                        (tuple(l.get_color()), l.get_marker()))
                self.assertEqual(len(by_transport), 24)
                self.assertTrue(all(len(v) == 1 for v in by_transport.values()))
                self.assertEqual(len({v.pop() for v in by_transport.values()}), 24)

    def test_the_floors_are_drawn_on_the_pingpong_panel(self):
        doc = with_cacheline(load(fixture("costs.json")))
        path = os.path.join(self.tmp.name, "floors.json")
        save(doc, path)
        out = os.path.join(self.tmp.name, "floors.svg")
        status, stdout, err = run_tool("plot.py", path, "-o", out)
        self.assertEqual((status, stdout, err), (0, "", ""))
        text = " ".join(ET.parse(out).getroot().itertext())
        for label in (MEMCPY_LABEL, CACHELINE_LABEL):
            self.assertTrue(label in text, f"no {label!r} in the SVG")
        # Their heights: 2 x the median Memcpy of the size, and the median
        # CacheLine round trip, in µs like the panel.
        import plot
        import matplotlib.pyplot as plt
        series, ctx = plot.load(path)
        fig = plot.figure([(series, ctx, "floors.json")], "t", ["PingPong"])
        self.addCleanup(plt.close, fig)
        lines = {l.get_label(): l for l in fig.axes[0].get_lines()}
        memcpy = [b["real_time"] for b in doc["benchmarks"]
                  if b["run_name"] == "Baseline/Memcpy/4096/real_time"]
        self.assertEqual(list(lines[MEMCPY_LABEL].get_xdata()), [4096])
        self.assertAlmostEqual(lines[MEMCPY_LABEL].get_ydata()[0],
                               2 * statistics.median(memcpy) * 1e-3)
        self.assertAlmostEqual(lines[CACHELINE_LABEL].get_ydata()[0], 0.3)
        # Not on the other panels, and not without the baselines.
        text = self.svg_text(path, "--family", "Tail")
        self.assertNotIn("floor:", text)
        self.assertNotIn("floor:", self.svg_text(fixture("base.json")))

    def test_the_tail_panel_plots_p99(self):
        text = self.svg_text(fixture("base.json"))
        self.assertIn(TAIL_TITLE, text)
        self.assertIn("p99 round-trip latency (µs)", text)
        text = self.svg_text(fixture("base.json"), "--family", "Tail")
        self.assertIn(TAIL_TITLE, text)
        self.assertNotIn("PingPong: round trip", text)
        import plot
        series, _ = plot.load(fixture("base.json"))
        p99 = [b["p99"] for b in load(fixture("base.json"))["benchmarks"]
               if b["run_name"] == "PingPong/Pipe/65536/real_time"]
        self.assertEqual(series[("Tail", "Pipe")][65536],
                         [(statistics.median(p99), min(p99), max(p99))])

    def svg_text(self, *args):
        out = os.path.join(self.tmp.name, "out.svg")
        status, stdout, err = run_tool("plot.py", *args, "-o", out)
        self.assertEqual((status, stdout, err), (0, "", ""))
        return " ".join(ET.parse(out).getroot().itertext())


if __name__ == "__main__":
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("SKIP: matplotlib is not installed (Debian: python3-matplotlib)")
        sys.exit(SKIP)
    unittest.main(verbosity=2)
