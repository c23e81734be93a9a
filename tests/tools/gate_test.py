#!/usr/bin/env python3
"""bench/tools/gate.py, merge.py and medians.py on checked-in runs.

fixtures/base.json and fixtures/head.json are the same ipc_bench binary
measured as "base" and "head" the way the pull-request workflow does it: nine
rounds of --benchmark_repetitions=1, base first in odd rounds and head first
in even ones, each side's rounds joined by merge.py (PingPong, Pipe and
SysVShm, 12 B, 4 KiB, 64 KiB, --benchmark_min_time=0.1, both processes on one
CPU with --ipc_cpus=same), so nine repetitions a side. fixtures/aggregates.json
is one run of the same set with --benchmark_repetitions=5, as the main-branch
workflow records it, aggregates included. The gate's whole output is compared
with fixtures/gate_*.md. IPCB_UPDATE_EXPECTED=1 rewrites those files instead,
for a reviewer to diff.

fixtures/costs.json carries ipc_bench's cost counters per iteration (CPU time
of each side, context switches, page faults) in PingPong and Stream, five
repetitions each, beside a ColdStart and two baselines that have none. Its
times and percentiles are the first five repetitions of base.json; its
counters are made up in proportion to them, as a run with both processes on
one CPU reports them.

The contexts of base.json and head.json are alike but for the date and the
merged files; the context tests change a copy of head.json's.
"""

import copy
import json
import os
import tempfile
import unittest

from toolstest import first_repetitions, fixture, load, run_tool, save, scaled

UPDATE = os.environ.get("IPCB_UPDATE_EXPECTED") == "1"


class Case(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, doc, name):
        path = os.path.join(self.tmp.name, name)
        save(doc, path)
        return path

    def expect(self, name, text):
        path = fixture(name)
        if UPDATE:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        with open(path, encoding="utf-8") as f:
            self.assertEqual(text, f.read())


class Gate(Case):
    def setUp(self):
        super().setUp()
        self.base = fixture("base.json")
        self.head = fixture("head.json")

    def test_two_runs_of_the_same_binary_pass(self):
        status, out, err = run_tool("gate.py", self.base, self.head)
        self.expect("gate_same.md", out)
        self.assertEqual((status, err), (0, ""))

    def test_the_same_binary_passes_in_the_other_order_too(self):
        # Either side may be the baseline: a pass that holds one way only
        # would be a regression seen in noise.
        status, out, err = run_tool("gate.py", self.head, self.base)
        self.assertEqual((status, err), (0, ""), out)
        self.assertIn("**PASS**: no benchmark of 6", out)

    def test_a_contender_25_percent_slower_fails(self):
        slower = self.write(scaled(load(self.head), 1.25), "head-25pct-slower.json")
        status, out, err = run_tool("gate.py", self.base, slower)
        self.expect("gate_slower.md", out)
        self.assertEqual((status, err), (1, ""))

    def test_a_wider_threshold_lets_25_percent_pass(self):
        slower = self.write(scaled(load(self.head), 1.25), "slower.json")
        status, out, _ = run_tool("gate.py", self.base, slower, "--threshold", "0.5")
        self.assertEqual(status, 0)
        self.assertIn("within threshold", out)
        self.assertNotIn("**regression**", out)

    def test_a_contender_twice_as_fast_passes_as_an_improvement(self):
        faster = self.write(scaled(load(self.base), 0.5), "faster.json")
        status, out, _ = run_tool("gate.py", self.base, faster)
        self.assertEqual(status, 0)
        self.assertEqual(out.count("| improvement |"), 6)

    def test_too_few_repetitions_is_an_error_not_a_pass(self):
        base3 = self.write(first_repetitions(load(self.base), 3), "base3.json")
        head3 = self.write(first_repetitions(load(self.head), 3), "head3.json")
        status, out, err = run_tool("gate.py", base3, head3)
        self.expect("gate_too_few.txt", err)
        self.assertEqual((status, out), (2, ""))
        # With a looser alpha, three repetitions can reject (p >= 0.1).
        status, _, _ = run_tool("gate.py", base3, head3, "--alpha", "0.11")
        self.assertEqual(status, 0)

    def test_one_repetition_is_an_error(self):
        base1 = self.write(first_repetitions(load(self.base), 1), "base1.json")
        status, _, err = run_tool("gate.py", base1, self.head)
        self.assertEqual(status, 2)
        self.assertIn("too few repetitions", err)

    def test_aggregates_only_is_an_error(self):
        doc = load(fixture("aggregates.json"))
        doc["benchmarks"] = [b for b in doc["benchmarks"] if b["run_type"] == "aggregate"]
        status, _, err = run_tool("gate.py", self.write(doc, "agg.json"), self.head)
        self.assertEqual(status, 2)
        self.assertIn("agg.json: only aggregates, no per-repetition entries", err)

    def test_bad_input(self):
        missing = os.path.join(self.tmp.name, "missing.json")
        not_json = os.path.join(self.tmp.name, "not.json")
        with open(not_json, "w") as f:
            f.write("PingPong/Pipe/12  5 us\n")
        no_list = self.write({"context": {}}, "nolist.json")
        other = self.write({"benchmarks": [{"name": "Other/1", "run_type": "iteration",
                                            "real_time": 1.0, "time_unit": "ns"}]},
                           "other.json")
        cases = [
            ((missing, self.head), f"{missing}: cannot read: No such file or directory"),
            ((not_json, self.head), f"{not_json}: not JSON:"),
            ((self.base, no_list), f"{no_list}: not Google Benchmark JSON"),
            ((self.base, other), "have no benchmark in common"),
            ((self.base, self.head, "--metric", "nope"),
             "--metric nope: no benchmark in both runs has \"nope\"; both have: "
             "real_time, cpu_time, bytes_per_second, max, p50, p90, p99, p999"),
        ]
        for args, message in cases:
            with self.subTest(args=args):
                status, out, err = run_tool("gate.py", *args)
                self.assertEqual((status, out), (2, ""))
                self.assertTrue(err.startswith("gate.py: error: "), err)
                self.assertIn(message, err)

    def test_a_benchmark_failing_in_the_contender_only_is_an_error(self):
        doc = load(self.head)
        for b in doc["benchmarks"]:
            if b["run_name"] == "PingPong/Pipe/12/real_time":
                b["error_occurred"] = True
                b["error_message"] = "the peer died (signal 9)"
        status, _, err = run_tool("gate.py", self.base, self.write(doc, "h.json"))
        self.assertEqual(status, 2)
        self.assertIn("PingPong/Pipe/12/real_time: the peer died (signal 9)", err)
        # The other way round, the benchmark is listed and not compared.
        status, out, _ = run_tool("gate.py", self.write(doc, "b.json"), self.head)
        self.assertEqual(status, 0)
        self.assertIn("| PingPong/Pipe/12/real_time | | | | | | failed in the baseline |", out)

    def test_a_benchmark_failing_on_both_sides_is_listed_as_such(self):
        paths = []
        for path, name in ((self.base, "b.json"), (self.head, "h.json")):
            doc = load(path)
            for b in doc["benchmarks"]:
                if b["run_name"] == "PingPong/SysVShm/65536/real_time":
                    b["error_occurred"] = True
                    b["error_message"] = "shmget: Invalid argument"
            paths.append(self.write(doc, name))
        status, out, err = run_tool("gate.py", *paths)
        self.assertEqual((status, err), (0, ""))
        self.assertIn("| PingPong/SysVShm/65536/real_time | | | | | | failed in both |", out)
        self.assertNotIn("failed in the baseline", out)

    def test_benchmarks_in_one_run_only_are_listed(self):
        doc = load(self.head)
        doc["benchmarks"] = [b for b in doc["benchmarks"]
                             if not b["run_name"].startswith("PingPong/SysVShm/")]
        status, out, _ = run_tool("gate.py", self.base, self.write(doc, "h.json"))
        self.assertEqual(status, 0)
        self.assertIn("Only in the baseline, not compared: PingPong/SysVShm/12/real_time, "
                      "PingPong/SysVShm/4096/real_time, PingPong/SysVShm/65536/real_time.", out)

    def test_cpu_time_and_rates(self):
        slower = self.write(scaled(load(self.head), 1.25), "slower.json")
        status, _, _ = run_tool("gate.py", self.base, slower, "--metric", "cpu_time")
        self.assertEqual(status, 1)
        # bytes_per_second is higher-is-better: the same files, read as rates,
        # are unchanged (the scaling touched times only), so they pass.
        status, _, _ = run_tool("gate.py", self.base, slower, "--metric", "bytes_per_second")
        self.assertEqual(status, 0)


class Context(Case):
    """The gate compares like with like: it reads both runs' contexts."""

    def setUp(self):
        super().setUp()
        self.base = fixture("base.json")
        self.head = load(fixture("head.json"))

    def head_with(self, name="h.json", drop=(), **context):
        doc = copy.deepcopy(self.head)
        doc["context"].update(context)
        for key in drop:
            del doc["context"][key]
        return self.write(doc, name)

    def test_a_difference_that_changes_the_measurement_is_an_error(self):
        cases = {"os": "Darwin", "os_release": "6.1.0-18-amd64", "machine": "arm64",
                 "cpu_model": "Apple M2", "logical_cpus": "8", "num_cpus": 8,
                 "ipc_placement": "not pinned", "ipc_thread_class": "SCHED_FIFO 10",
                 "ipcb_build_type": "Debug", "library_build_type": "release",
                 "benchmark_library_version": "v1.9.1", "ipc_verify": "full",
                 "ipc_window": "16"}
        for key, value in cases.items():
            with self.subTest(key=key):
                base = self.base
                if key not in load(base)["context"]:  # a key older runs lack
                    doc = load(base)
                    doc["context"][key] = "v1.8.3"
                    base = self.write(doc, "b.json")
                old = json.dumps(str(load(base)["context"][key]))
                status, out, err = run_tool("gate.py", base, self.head_with(**{key: value}))
                self.assertEqual((status, out), (2, ""), err)
                self.assertIn("were not run alike", err)
                self.assertIn(f"\n  {key}: baseline {old}, contender "
                              f"{json.dumps(str(value))}\n", err)
                self.assertIn("pass --allow-context-diff to compare them anyway", err)

    def test_allow_context_diff_compares_and_lists_the_difference(self):
        head = self.head_with(cpu_model="Apple M2", ipc_verify="full")
        status, out, err = run_tool("gate.py", self.base, head, "--allow-context-diff")
        self.assertEqual((status, err), (0, ""))
        self.assertIn("| cpu_model | AMD EPYC | Apple M2 | **differs**: compared anyway "
                      "(--allow-context-diff) |\n", out)
        self.assertIn("| ipc_verify | stamps | full | **differs**:", out)
        self.assertIn("**PASS**: no benchmark of 6", out)

    def test_host_revision_and_the_like_are_shown_never_fatal(self):
        head = self.head_with(host_name="runner-7", ipcb_git_revision="7e8cd0a",
                              ipcb_version="0.2.0", ipc_timeout_ns="5000000000",
                              os_version="#2 SMP", ipcb_percentile_clock="clock_gettime")
        status, out, err = run_tool("gate.py", self.base, head)
        self.assertEqual((status, err), (0, ""))
        self.assertIn("| host_name | vm | runner-7 | for information |\n", out)
        self.assertIn("| ipcb_git_revision | a8c9c57-dirty | 7e8cd0a | for information |",
                      out)
        for key in ("ipcb_version", "ipc_timeout_ns", "os_version", "ipcb_percentile_clock"):
            self.assertIn(f"| {key} |", out)
        self.assertIn("**PASS**: no benchmark of 6", out)
        # A regression still fails beside them, with exit status 1.
        slower = scaled(load(head), 1.25)
        status, out, _ = run_tool("gate.py", self.base, self.write(slower, "s.json"))
        self.assertEqual(status, 1)
        self.assertIn("| host_name | vm | runner-7 | for information |", out)

    def test_a_key_one_run_lacks_is_shown_not_fatal(self):
        # A run recorded before ipc_bench wrote the key cannot say.
        status, out, err = run_tool("gate.py", self.base,
                                    self.head_with(drop=("ipc_window", "ipc_placement")))
        self.assertEqual((status, err), (0, ""))
        self.assertIn("| ipc_window | 64 |  | not recorded in one run |", out)
        self.assertIn("| ipc_placement | client=0 peer=0 |  | not recorded in one run |", out)
        # Beside a fatal one, the error names it apart.
        status, _, err = run_tool("gate.py", self.base,
                                  self.head_with(drop=("ipc_window",), host_name="x",
                                                 machine="arm64"))
        self.assertEqual(status, 2)
        self.assertIn("  machine: baseline \"x86_64\", contender \"arm64\"\n", err)
        self.assertNotIn("  ipc_window:", err)
        self.assertIn("(also different, which alone would not stop the gate: "
                      "ipc_window (one run only), host_name)", err)

    def test_runs_alike_have_no_context_section(self):
        status, out, _ = run_tool("gate.py", self.base, fixture("head.json"))
        self.assertEqual(status, 0)
        self.assertNotIn("Context that differs", out)


def changed(doc, field, fn, prefix=""):
    """A copy where fn(value) replaces field in the entries named prefix...;
    fn returning None removes the field."""
    out = copy.deepcopy(doc)
    for b in out["benchmarks"]:
        if field in b and b["run_name"].startswith(prefix):
            v = fn(b[field])
            if v is None:
                del b[field]
            else:
                b[field] = v
    return out


class CostCounters(Case):
    def setUp(self):
        super().setUp()
        self.costs = fixture("costs.json")

    def test_peer_cpu_half_again_as_much_fails_and_the_rest_is_left_out(self):
        more = self.write(changed(load(self.costs), "cpu_peer_ns", lambda v: v * 1.5),
                          "costs-peer-50pct.json")
        status, out, err = run_tool("gate.py", self.costs, more, "--metric", "cpu_peer_ns")
        self.expect("gate_cpu_peer.md", out)
        self.assertEqual((status, err), (1, ""))
        # The repetitions of SysVShm/65536 overlap by more than a third.
        self.assertEqual(out.count("| **regression** |"), 6)
        self.assertIn("\n3 benchmarks have no cpu_peer_ns (ColdStart, Baseline/Memcpy, "
                      "Baseline/PercentileClock): not compared.\n", out)
        # The other counters are unchanged.
        for metric in ("cpu_client_ns", "ctx_switches", "ctx_voluntary", "page_faults"):
            with self.subTest(metric=metric):
                status, out, _ = run_tool("gate.py", self.costs, more, "--metric", metric)
                self.assertEqual(status, 0, out)
                self.assertIn(f"\n3 benchmarks have no {metric} (ColdStart,", out)
                self.assertIn("**PASS**: no benchmark of 7 ", out)

    def test_a_counter_one_side_lacks_leaves_that_benchmark_out(self):
        doc = changed(load(self.costs), "cpu_peer_ns", lambda v: None, "PingPong/SysVShm/")
        status, out, err = run_tool("gate.py", self.costs, self.write(doc, "c.json"),
                                    "--metric", "cpu_peer_ns")
        self.assertEqual((status, err), (0, ""))
        self.assertIn("\n6 benchmarks have no cpu_peer_ns (PingPong, ColdStart, "
                      "Baseline/Memcpy, Baseline/PercentileClock): not compared.\n", out)
        self.assertNotIn("| PingPong/SysVShm/", out)
        self.assertIn("| PingPong/Pipe/12/real_time | 2.53 µs | 2.53 µs |", out)
        self.assertIn("**PASS**: no benchmark of 4 ", out)

    def test_a_counter_no_benchmark_in_common_has_is_an_error(self):
        status, out, err = run_tool("gate.py", fixture("base.json"), fixture("head.json"),
                                    "--metric", "cpu_peer_ns")
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, "gate.py: error: --metric cpu_peer_ns: no benchmark in both "
                              "runs has \"cpu_peer_ns\"; both have: real_time, cpu_time, "
                              "bytes_per_second, max, p50, p90, p99, p999\n")
        # Only the contender has it: what both have leaves the counters out.
        status, out, err = run_tool("gate.py", fixture("base.json"), self.costs,
                                    "--metric", "ctx_switches")
        self.assertEqual((status, out), (2, ""))
        self.assertIn("no benchmark in both runs has \"ctx_switches\"; both have: "
                      "real_time, cpu_time, bytes_per_second, max, p50, p90, p99, p999\n", err)

    def test_a_counter_rising_from_zero_is_a_regression(self):
        # A spinning transport switches context in no iteration: any switch
        # in the contender is a change without bound, not none.
        doc = load(self.costs)
        zero = self.write(changed(doc, "ctx_switches", lambda v: 0.0, "PingPong/Pipe/12/"),
                          "zero.json")
        status, out, _ = run_tool("gate.py", zero, self.costs, "--metric", "ctx_switches")
        self.assertEqual(status, 1, out)
        self.assertIn("| PingPong/Pipe/12/real_time | 0 | 2.037 | +inf% |", out)
        self.assertIn("**FAIL**: 1 of 7 ", out)
        status, out, _ = run_tool("gate.py", zero, zero, "--metric", "ctx_switches")
        self.assertEqual(status, 0, out)
        self.assertIn("| PingPong/Pipe/12/real_time | 0 | 0 | +0.0% |", out)
        # A stray switch in 100000 round trips is no change.
        stray = self.write(changed(doc, "ctx_switches", lambda v: 1e-5,
                                   "PingPong/Pipe/12/"), "stray.json")
        status, out, _ = run_tool("gate.py", zero, stray, "--metric", "ctx_switches")
        self.assertEqual(status, 0, out)
        self.assertIn("| PingPong/Pipe/12/real_time | 0 | 1e-05 | +0.0% |", out)


class MergeAndMedians(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def test_merge_joins_repetitions_and_drops_aggregates(self):
        out = os.path.join(self.tmp.name, "merged.json")
        status, _, err = run_tool("merge.py", "-o", out, fixture("aggregates.json"),
                                  fixture("head.json"))
        self.assertEqual((status, err), (0, ""))
        doc = load(out)
        self.assertEqual(doc["context"]["merged_from"], ["aggregates.json", "head.json"])
        pipe12 = [b for b in doc["benchmarks"] if b["run_name"] == "PingPong/Pipe/12/real_time"]
        self.assertEqual([b["repetition_index"] for b in pipe12], list(range(14)))
        self.assertTrue(all(b["repetitions"] == 14 for b in pipe12))
        self.assertTrue(all(b["run_type"] == "iteration" for b in doc["benchmarks"]))
        self.assertEqual(len(doc["benchmarks"]), 6 * 14)

    def test_medians_keeps_one_entry_per_benchmark(self):
        out = os.path.join(self.tmp.name, "medians.json")
        run = fixture("aggregates.json")
        status, _, _ = run_tool("medians.py", run, "-o", out)
        self.assertEqual(status, 0)
        doc = load(out)
        names = [b["name"] for b in doc["benchmarks"]]
        self.assertEqual(names, [b["run_name"] for b in load(run)["benchmarks"]
                                 if b.get("aggregate_name") == "median"])
        self.assertEqual(len(names), 6)
        self.assertTrue(all(b["aggregate_name"] == "median" for b in doc["benchmarks"]))
        status, series, _ = run_tool("medians.py", run, "--series")
        self.assertEqual((status, series), (0, "Linux x86_64, AMD EPYC\n"))
        # A merged run has no aggregates: an error that says what to do.
        status, _, err = run_tool("medians.py", fixture("base.json"), "-o", out)
        self.assertEqual(status, 2)
        self.assertIn("has no median aggregates", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
