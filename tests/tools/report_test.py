#!/usr/bin/env python3
"""bench/tools/report.py: its tables on checked-in runs, and the page in a browser.

fixtures/report-small.json is made for the tables: a fastest transport that
holds only a median aggregate in microseconds, a faster one that failed, a
faster baseline, and Stream transports that swap places between sizes.
The browser check loads the page of fixtures/costs.json in headless Chromium
(Debian: chromium), reads the DOM it built and looks at its screenshot;
without Chromium the tables are still checked, and if they pass the test
exits with 77, which ctest reports as skipped, and says why.
"""

import html
import html.parser
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import unittest
import zlib

from toolstest import SKIP, fixture, load, run_tool, save

WINDOW = (1280, 2000)
BROWSER = next((b for b in (shutil.which(n) for n in ("chromium", "chromium-browser")) if b),
               None)


class Tables(html.parser.HTMLParser):
    """{heading: [table rows as lists of cell texts]}, each table under the
    nearest h2/h3 above it; a heading with several tables gets them joined."""

    def __init__(self):
        super().__init__()
        self.tables, self.title, self._heading, self._text = {}, None, None, None
        self._row = None

    def handle_starttag(self, tag, attrs):
        if tag in ("h2", "h3", "title", "td", "th"):
            self._text = []
        elif tag == "tr":
            self._row = []

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.tables.setdefault(self._heading, []).append(self._row)
            self._row = None
        if tag not in ("h2", "h3", "title", "td", "th") or self._text is None:
            return
        text = "".join(self._text).strip()
        self._text = None
        if tag in ("h2", "h3"):
            self._heading = text
        elif tag == "title":
            self.title = text
        elif self._row is not None:
            self._row.append(text)

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)


def parse(text):
    p = Tables()
    p.feed(text)
    return p


PING = "PingPong: median round trip, lower is better"
STREAM = "Stream: median one-way throughput, higher is better"
HEAD = ["payload", "fastest", "round trip", "runner-up", "round trip", "fastest by"]


class Report(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = os.path.join(self.tmp.name, "report.html")

    def tearDown(self):
        self.tmp.cleanup()

    pages = {}  # drawing the plots takes seconds: one page per set of runs

    def page(self, *runs):
        if runs not in self.pages:
            status, stdout, err = run_tool("report.py", *runs, "-o", self.out)
            self.assertEqual((status, stdout, err), (0, "", ""))
            with open(self.out, encoding="utf-8") as f:
                self.pages[runs] = f.read()
        return self.pages[runs]

    def test_fastest_at_each_size(self):
        t = parse(self.page(fixture("report-small.json"))).tables
        # B's median 3.1 µs beats C's 4.5 µs median aggregate and A's 5.1 µs;
        # D failed (10 ns) and Baseline/Memcpy (7 ns) is no transport.
        self.assertEqual(t[PING], [HEAD,
                                   ["12 B", "B", "3.1 µs", "C", "4.5 µs", "1.45×"],
                                   ["4 KiB", "A", "6 µs", "—", "—", "—"]])
        self.assertEqual(t[STREAM][1:], [["12 B", "B", "30 MB/s", "A", "10 MB/s", "3.00×"],
                                         ["4 KiB", "A", "2 GB/s", "B", "1 GB/s", "2.00×"]])

    def test_fastest_matches_the_medians_of_the_repetitions(self):
        entries = [b for b in load(fixture("costs.json"))["benchmarks"]
                   if b["run_name"].startswith("PingPong/") and b["run_name"].count("/12/")]
        med = {t: statistics.median(b["real_time"] for b in entries if f"/{t}/" in b["name"])
               for t in ("Pipe", "SysVShm")}
        first = parse(self.page(fixture("costs.json"))).tables[PING][1]
        self.assertEqual(first[1], min(med, key=med.get))
        self.assertEqual(first[5], f"{max(med.values()) / min(med.values()):.2f}×")
        # 4 KiB: Baseline/Memcpy's 40 ns would win if the baselines took part.
        self.assertEqual(parse(self.page(fixture("costs.json"))).tables[PING][2][1], "SysVShm")

    def test_family_tables_carry_percentiles_and_costs_where_present(self):
        t = parse(self.page(fixture("costs.json"))).tables
        head, rows = t["PingPong"][0], t["PingPong"][1:]
        self.assertEqual(head, ["transport", "payload", "median time", "p50", "p90", "p99",
                                "p999", "client CPU", "peer CPU", "context switches",
                                "page faults", "repetitions"])
        b = [x for x in load(fixture("costs.json"))["benchmarks"]
             if x["run_name"] == "PingPong/Pipe/12/real_time"]
        want = statistics.median(x["p99"] for x in b)
        self.assertEqual(rows[0][:2] + [rows[0][5], rows[0][-1]],
                         ["Pipe", "12 B", f"{want / 1e3:.3g} µs", "5"])
        self.assertEqual(t["Stream"][0][:4], ["transport", "payload", "median time",
                                              "throughput"])
        head = parse(self.page(fixture("base.json"))).tables["PingPong"][0]
        self.assertNotIn("client CPU", head)
        self.assertIn("p999", head)

    def test_contexts_side_by_side_with_differences_marked(self):
        text = self.page(fixture("base.json"), fixture("head.json"))
        rows = {r[0]: r[1:] for r in parse(text).tables["Contexts"]}
        self.assertEqual(rows["key"], ["base.json", "head.json"])
        self.assertEqual(rows["date ≠"], ["2026-11-26T15:31:21+00:00",
                                          "2026-11-26T15:31:22+00:00"])
        self.assertIn("os", rows)  # the same in both: not marked
        self.assertIn('<tr class="diff"><td><b>date</b> ≠', text)
        self.assertNotIn('<tr class="diff"><td><b>os</b>', text)

    def commands(self, run):
        text = self.page(run)
        self.assertIn("The JSON does not record the command line", text)
        return html.unescape("\n".join(re.findall(r"<pre>(.*?)</pre>", text, re.S) +
                                       re.findall(r'<p class="note">(.*?)</p>', text)))

    def test_how_to_reproduce(self):
        text = self.commands(fixture("report-small.json"))
        self.assertIn("git checkout abc1234\ncmake --preset debug && cmake --build --preset "
                      "debug\n./build/debug/bench/ipc_bench \\\n    --benchmark_filter="
                      "'^Baseline/(Memcpy)/|^PingPong/|^Stream/(A|B)/' \\\n    "
                      "--ipc_sizes=12,4KiB \\\n    --ipc_qos=utility \\\n    --ipc_window=16 "
                      "\\\n    --ipc_timeout=500ms \\\n    --ipc_verify \\\n    "
                      "--benchmark_repetitions=3 \\\n", text)
        text = self.commands(fixture("base.json"))
        for words in ("git checkout a8c9c57\n", "--ipc_cpus=0,0", "--ipc_timeout=10s",
                      "--benchmark_repetitions=9", "uncommitted changes", "merged by merge.py"):
            self.assertIn(words, text)

    def test_how_to_reproduce_a_build_type_no_preset_has(self):
        doc = load(fixture("report-small.json"))
        for build, note in (("MinSizeRel", "-DCMAKE_BUILD_TYPE=MinSizeRel"), ("", "(empty)")):
            doc["context"]["ipcb_build_type"] = build
            run = os.path.join(self.tmp.name, f"build-{build or 'empty'}.json")
            save(doc, run)
            text = self.commands(run)
            self.assertIn("cmake --preset release && cmake --build --preset release\n"
                          "./build/release/bench/ipc_bench", text)
            self.assertNotIn("asan", text)
            self.assertIn(f"build type {build or '(empty)'} is that of no preset", text)
            self.assertIn(note, text)

    def test_the_page_is_self_contained(self):
        text = self.page(fixture("costs.json"), fixture("head.json"))
        for needle in ("<script", "<link", "<img", "@import", "url(http", "<iframe"):
            self.assertNotIn(needle, text.lower())
        self.assertEqual([a for a in re.findall(r'\b(?:src|href)="([^"]*)"', text)
                          if not a.startswith("#")], [])
        ids = re.findall(r'\bid="([^"]+)"', text)
        self.assertEqual(len(ids), len(set(ids)), "an id twice: one figure's use of it "
                                                  "would draw another's")
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            return
        self.assertGreaterEqual(text.count("<svg"), 3)  # PingPong, Stream, CPU
        self.assertIn("PingPong: round trip", text)

    def test_bad_input_is_exit_status_2(self):
        bad = os.path.join(self.tmp.name, "bad.json")
        cases = [("missing.json", None, "missing.json: [Errno 2]"),
                 ("bad.json", "not json", "bad.json: Expecting value"),
                 ("bad.json", [1, 2], 'not Google Benchmark JSON (no "benchmarks" list)'),
                 ("bad.json", {"context": {}, "benchmarks": []}, "no results"),
                 ("bad.json", {"benchmarks": [{"name": "PingPong/Pipe/12", "real_time": 1,
                                               "error_occurred": True}]}, "no results")]
        for name, content, words in cases:
            if content is not None:
                if isinstance(content, str):
                    with open(bad, "w", encoding="utf-8") as f:
                        f.write(content)
                else:
                    save(content, bad)
            status, stdout, err = run_tool("report.py", fixture("base.json"),
                                           os.path.join(self.tmp.name, name), "-o", self.out)
            self.assertEqual((status, stdout), (2, ""), err)
            self.assertTrue(err.startswith("report.py: error: "), err)
            self.assertIn(words, err)
            self.assertFalse(os.path.exists(self.out))


def png_pixels(path):
    """(width, height, rows of RGB(A) bytes): enough of a PNG decoder for
    Chromium's 8-bit screenshots."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind in (1, 3, 4):
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                up, ul = prev[i], prev[i - bpp] if i >= bpp else 0
                if kind == 1:
                    add = left
                elif kind == 3:
                    add = (left + up) // 2
                else:
                    pa, pb, pc = abs(up - ul), abs(left - ul), abs(left + up - 2 * ul)
                    add = left if pa <= pb and pa <= pc else up if pb <= pc else ul
                line[i] = (line[i] + add) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


class Browser(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.html = os.path.join(cls.tmp.name, "report.html")
        status, _, err = run_tool("report.py", fixture("costs.json"), "-o", cls.html)
        assert status == 0, err

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def chromium(self, *args):
        profile = tempfile.mkdtemp(dir=self.tmp.name)
        p = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
                            f"--user-data-dir={profile}", *args, "file://" + self.html],
                           capture_output=True, text=True, timeout=60, cwd=self.tmp.name)
        self.assertEqual(p.returncode, 0, p.stderr)  # dbus and gpu warnings are harmless
        return p.stdout

    def test_the_browser_builds_the_tables(self):
        dom = parse(self.chromium("--dump-dom"))
        self.assertEqual(dom.title, "ipc_bench report: costs.json")
        self.assertEqual(dom.tables[PING][:2], [HEAD, ["12 B", "SysVShm", "5.17 µs", "Pipe",
                                                       "5.61 µs", "1.09×"]])

    def test_the_screenshot_is_the_page_drawn(self):
        png = os.path.join(self.tmp.name, "out.png")
        self.chromium(f"--screenshot={png}", f"--window-size={WINDOW[0]},{WINDOW[1]}")
        self.assertTrue(os.path.exists(png))
        w, h, bpp, rows = png_pixels(png)
        self.assertEqual((w, h), WINDOW)
        colours = {rows[y][x:x + 3] for y in range(0, h, 7) for x in range(0, w * bpp, bpp * 5)}
        # Text, table rules, shading and the plots' lines: a page that drew
        # nothing, or only its background, is one colour.
        self.assertGreater(len(colours), 20)
        top = {rows[y][x:x + 3] for y in range(0, 100) for x in range(0, w * bpp, bpp)}
        self.assertGreater(len(top), 2, "no title at the top")


if __name__ == "__main__":
    # Without Chromium the tables are still checked; a pass is then a skip,
    # with the reason, since the page was never seen drawn.
    if not BROWSER:
        Browser = unittest.skip("no Chromium")(Browser)
    ok = unittest.main(exit=False).result.wasSuccessful()
    if ok and not BROWSER:
        print("report_test.py: skipped: the tables pass, but there is no Chromium "
              "(Debian: apt-get install chromium) for the browser check", file=sys.stderr)
        sys.exit(SKIP)
    sys.exit(0 if ok else 1)
