#!/usr/bin/env python3
"""bench/tools/plot.py on checked-in runs: which panels it draws.

fixtures/costs.json has PingPong with the cost counters (the CPU panel),
fixtures/base.json has PingPong without them. The panels are told apart by
their titles in the SVG, whose text stays text. Without matplotlib this
exits with 77, which ctest reports as skipped.
"""

import os
import statistics
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

from toolstest import SKIP, fixture, load, run_tool, save

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


if __name__ == "__main__":
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("SKIP: matplotlib is not installed (Debian: python3-matplotlib)")
        sys.exit(SKIP)
    unittest.main(verbosity=2)
