#!/usr/bin/env python3
"""bench/tools/compare_builds.py: build folders, revisions, turns and errors.

    compare_builds_test.py --bench IPC_BENCH [unittest arguments]

The build-folder runs use IPC_BENCH on both sides. The revision runs use a
small git repository made by the test and a --build-command that copies
IPC_BENCH where the release preset would have built it, so that no test
compiles ipc_bench; the worktrees, the order of the builds and their removal
are the real ones. With one binary on both sides the change is noise, so the
end-to-end runs ask for a threshold no noise reaches (a median 100 times
slower) and the verdict is a pass.
"""

import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from toolstest import TOOLS, load

BENCH = None  # set by main() from --bench
SCRIPT = os.path.join(TOOLS, "compare_builds.py")
TINY = ["--filter=^PingPong/Pipe/", "--sizes=12", "--min-time=0.01", "--rounds=4",
        "--threshold=100"]
# IPC_BENCH, with its times multiplied by factor and its context updated.
ALTERED = """#!{python}
import json, subprocess, sys
status = subprocess.call([{bench!r}, *sys.argv[1:]])
out = [a.split("=", 1)[1] for a in sys.argv if a.startswith("--benchmark_out=")][0]
with open(out) as f:
    doc = json.load(f)
for b in doc["benchmarks"]:
    b["real_time"] *= {factor}
doc["context"].update({context})
with open(out, "w") as f:
    json.dump(doc, f)
sys.exit(status)
"""
ROUND = re.compile(r"^round (\d+)/(\d+), (base|head):", re.M)


def abba(rounds):
    order = []
    for i in range(1, rounds + 1):
        order += [(i, "base"), (i, "head")] if i % 2 else [(i, "head"), (i, "base")]
    return order


def git(repo, *args):
    subprocess.run(["git", "-C", repo, "-c", "user.name=t", "-c", "user.email=t@t",
                    *args], check=True, capture_output=True)


class Case(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="compare_builds_test.")
        self.work = os.path.join(self.tmp, "work")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def compare(self, *args, cwd=None):
        p = subprocess.run([sys.executable, SCRIPT, *args, f"--work={self.work}"],
                           capture_output=True, text=True, timeout=240, cwd=cwd)
        return p.returncode, p.stdout, p.stderr

    def folder(self, name, target=None):
        """A build folder whose bench/ipc_bench is IPC_BENCH (or target)."""
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.join(path, "bench"))
        os.symlink(target or BENCH, os.path.join(path, "bench", "ipc_bench"))
        return path

    def altered(self, name, factor, context=None):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(ALTERED.format(python=sys.executable, bench=BENCH, factor=factor,
                                   context=context or {}))
        os.chmod(path, 0o755)
        return path

    def report(self):
        with open(os.path.join(self.work, "report.md"), encoding="utf-8") as f:
            return f.read()

    def assert_no_verdict(self, reason):
        # The job summary shows report.md alone, so the reason must be in it.
        report = self.report()
        self.assertIn("**NO VERDICT**", report)
        self.assertIn(reason, report)

    def order(self, text):
        return [(int(i), side) for i, _, side in ROUND.findall(text)]

    def assert_passed(self, status, out, err, rounds=4):
        self.assertEqual(status, 0, out + err)
        self.assertEqual(self.order(err), abba(rounds), err)
        with open(os.path.join(self.work, "report.md"), encoding="utf-8") as f:
            report = f.read()
        self.assertEqual(report, out)
        # By chance a change may still be significant, but never by 100 times.
        self.assertRegex(report, r"\| PingPong/Pipe/12/real_time \|.*\| 4 vs 4 \| "
                                 r"(no significant change|within threshold|improvement) \|")
        self.assertIn("**PASS**", report)
        for side in ("base", "head"):
            reps = [b for b in load(os.path.join(self.work, f"{side}.json"))["benchmarks"]
                    if b["run_name"] == "PingPong/Pipe/12/real_time"]
            self.assertEqual(len(reps), rounds, side)


class Folders(Case):
    def test_same_binary_both_sides_passes_in_abba_turns(self):
        status, out, err = self.compare(self.folder("a"), self.folder("b"), *TINY)
        self.assert_passed(status, out, err)
        self.assertRegex(err, r"round 4/4, base: \d+ s so far\n")
        self.assertRegex(err, r"round 1/4, base: \d+ s so far, about \d+ s left\n")
        for i in range(1, 5):
            for side in ("base", "head"):
                run = os.path.join(self.work, "runs", f"{side}-{i}.json")
                self.assertTrue(os.path.exists(run), run)

    def test_gate_verdicts_are_the_exit_status(self):
        # A head whose times are 100 times the real ones: a regression
        # whatever the noise, so the gate exits 1, and so must the comparison.
        slow = self.altered("slow.py", 100)
        tiny = [a for a in TINY if not a.startswith("--threshold")]
        status, out, err = self.compare(self.folder("a"), self.folder("b", slow), *tiny)
        self.assertEqual(status, 1, out + err)
        self.assertIn("**FAIL**: 1 of 1 benchmarks", out)
        # --threshold and --alpha reach the gate: 100 times is within a
        # threshold of 200 (20000%), and four repetitions a side can never
        # reach p < 0.01.
        status, out, err = self.compare(self.folder("e"), self.folder("f", slow), *tiny,
                                        "--threshold=200")
        self.assertEqual(status, 0, out + err)
        status, out, err = self.compare(self.folder("g"), self.folder("h", slow), *tiny,
                                        "--alpha=0.01")
        self.assertEqual(status, 2, out + err)
        self.assertIn("alpha", err)
        self.assert_no_verdict("alpha")
        # A metric no benchmark has: the gate cannot decide.
        status, out, err = self.compare(self.folder("c"), self.folder("d"), *TINY,
                                        "--metric=no_such_counter")
        self.assertEqual(status, 2, out + err)
        self.assertIn("no_such_counter", err)
        self.assert_no_verdict("gate.py: error:")
        self.assert_no_verdict("no_such_counter")

    def test_allow_context_diff_reaches_the_gate(self):
        other = self.altered("window.py", 1, {"ipc_window": "7"})
        status, out, err = self.compare(self.folder("a"), self.folder("b", other), *TINY)
        self.assertEqual(status, 2, out + err)
        self.assertIn("not run alike", err)
        self.assert_no_verdict("not run alike")
        status, out, err = self.compare(self.folder("c"), self.folder("d", other), *TINY,
                                        "--allow-context-diff")
        self.assertEqual(status, 0, out + err)
        self.assertIn("compared anyway", out)
        self.assertNotIn("NO VERDICT", self.report())

    def test_dry_run_prints_the_plan_in_abba_order(self):
        status, out, err = self.compare(self.folder("a"), self.folder("b"), "--dry-run",
                                        "--rounds=5", "--min-time=0.2")
        self.assertEqual(status, 0, err)
        self.assertEqual(self.order(out), abba(5))
        turn = [line for line in out.splitlines() if line.startswith("round 2/5, head:")]
        self.assertIn("--benchmark_min_time=0.2 --benchmark_repetitions=1", turn[0])
        self.assertIn(f"--benchmark_out={self.work}/runs/head-2.json", turn[0])
        self.assertEqual("--ipc_cpus=same" in turn[0], platform.system() == "Linux")
        self.assertFalse(os.path.exists(self.work), "a dry run made the work folder")

    def test_missing_folder_and_folder_without_binary(self):
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        status, _, err = self.compare(empty, self.folder("b"))
        self.assertEqual(status, 2)
        self.assertIn(f"{empty}: no bench/ipc_bench in this folder", err)
        missing = os.path.join(self.tmp, "no", "such", "build")
        status, _, err = self.compare(self.folder("a"), missing)
        self.assertEqual(status, 2)
        self.assertIn(f"{missing}: neither a git revision", err)

    def test_failing_binary_stops_with_its_output(self):
        broken = os.path.join(self.tmp, "broken.sh")
        with open(broken, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\necho 'cannot map the ring' >&2\nexit 3\n")
        os.chmod(broken, 0o755)
        os.makedirs(self.work)
        stale = os.path.join(self.work, "report.md")
        with open(stale, "w", encoding="utf-8") as f:
            f.write("**PASS**: an earlier run's\n")
        status, _, err = self.compare(self.folder("a"), self.folder("b", broken), *TINY)
        self.assertEqual(status, 2)
        self.assertIn("exited with 3", err)
        self.assertIn("cannot map the ring", err)
        self.assertFalse(os.path.exists(stale), "an earlier run's report was left")


@unittest.skipUnless(shutil.which("git"), "git is not installed")
class Revisions(Case):
    def setUp(self):
        super().setUp()
        self.repo = os.path.join(self.tmp, "repo")
        os.makedirs(self.repo)
        git(self.repo, "init", "-q")
        for text in ("one", "two"):
            with open(os.path.join(self.repo, "rev.txt"), "w", encoding="utf-8") as f:
                f.write(text + "\n")
            git(self.repo, "add", "rev.txt")
            git(self.repo, "commit", "-q", "-m", text)
        self.built = os.path.join(self.tmp, "built.txt")

    def copy_command(self, extra=""):
        dest = "build/release/bench"
        return (f"mkdir -p {dest} && cp {shlex.quote(BENCH)} {dest}/ipc_bench && "
                f"cat rev.txt >> {shlex.quote(self.built)}{extra}")

    def worktrees(self):
        p = subprocess.run(["git", "-C", self.repo, "worktree", "list", "--porcelain"],
                           capture_output=True, text=True, check=True)
        return [line for line in p.stdout.splitlines() if line.startswith("worktree ")]

    def assert_cleaned(self):
        self.assertEqual(len(self.worktrees()), 1, self.worktrees())
        for side in ("base", "head"):
            self.assertFalse(os.path.exists(os.path.join(self.work, f"src-{side}")))

    def test_each_revision_built_in_its_worktree_then_removed(self):
        status, out, err = self.compare("HEAD~1", "HEAD", f"--repo={self.repo}",
                                        f"--build-command={self.copy_command()}", *TINY)
        self.assert_passed(status, out, err)
        with open(self.built, encoding="utf-8") as f:
            self.assertEqual(f.read(), "one\ntwo\n")
        self.assert_cleaned()
        with open(os.path.join(self.work, "build-base.log"), encoding="utf-8") as f:
            self.assertIn("$ sh -c 'mkdir -p build/release/bench", f.read())

    def test_folder_without_binary_named_like_a_revision_is_the_revision(self):
        # Run from a folder that holds one called like the branch (a checkout
        # named main, say): the folder has no binary, so the name is the branch.
        git(self.repo, "branch", "feature", "HEAD~1")
        os.makedirs(os.path.join(self.tmp, "feature"))
        status, out, err = self.compare("feature", "HEAD", f"--repo={self.repo}",
                                        "--dry-run", cwd=self.tmp)
        self.assertEqual(status, 0, err)
        self.assertRegex(out, r"^base: feature: build [0-9a-f]{12} in ", out)
        # A folder without the binary that is no revision stays an error.
        os.makedirs(os.path.join(self.tmp, "nothing"))
        status, _, err = self.compare("nothing", "HEAD", f"--repo={self.repo}",
                                      "--dry-run", cwd=self.tmp)
        self.assertEqual(status, 2)
        self.assertIn("nothing: no bench/ipc_bench in this folder", err)

    def test_uncommitted_changes_at_head_are_warned_of(self):
        def warned(*sides):
            status, _, err = self.compare(*sides, f"--repo={self.repo}", "--dry-run")
            self.assertEqual(status, 0, err)
            return "uncommitted changes" in err and "build folder" in err
        # Clean, and an untracked file (which no build sees) is no change.
        with open(os.path.join(self.repo, "untracked.txt"), "w", encoding="utf-8") as f:
            f.write("x\n")
        self.assertFalse(warned("HEAD~1", "HEAD"))
        with open(os.path.join(self.repo, "rev.txt"), "a", encoding="utf-8") as f:
            f.write("work in progress\n")
        self.assertTrue(warned("HEAD~1", "HEAD"))
        # Any name of HEAD's commit, on either side; other commits are as
        # committed, so no warning.
        git(self.repo, "branch", "tip")
        self.assertTrue(warned("tip", "HEAD~1"))
        self.assertFalse(warned("HEAD~1", "HEAD~1"))

    def test_bad_revision(self):
        status, _, err = self.compare("HEAD", "no-such-branch", f"--repo={self.repo}")
        self.assertEqual(status, 2)
        self.assertIn(f"no-such-branch: neither a git revision of {self.repo}", err)

    def test_failed_build_shows_the_end_of_its_log(self):
        status, _, err = self.compare("HEAD~1", "HEAD", f"--repo={self.repo}",
                                      "--build-command=echo 'ld: symbol not found'; exit 1")
        self.assertEqual(status, 2)
        self.assertIn("base: the build of HEAD~1 failed", err)
        self.assertIn("ld: symbol not found", err)
        self.assert_cleaned()

    def test_build_that_leaves_no_binary(self):
        status, _, err = self.compare("HEAD~1", "HEAD", f"--repo={self.repo}",
                                      "--build-command=true")
        self.assertEqual(status, 2)
        self.assertIn("left no build/release/bench/ipc_bench", err)
        self.assert_cleaned()

    def test_interrupt_removes_the_worktrees(self):
        started = os.path.join(self.tmp, "started")
        command = f"touch {shlex.quote(started)} && exec sleep 60"
        p = subprocess.Popen([sys.executable, SCRIPT, "HEAD~1", "HEAD", f"--repo={self.repo}",
                              f"--work={self.work}", f"--build-command={command}"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not os.path.exists(started) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(self.worktrees()), 2)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 130, err)
        self.assertIn("interrupted", err)
        self.assert_cleaned()


def main():
    global BENCH
    argv = sys.argv[1:]
    if "--bench" not in argv[:-1]:
        sys.exit("usage: compare_builds_test.py --bench IPC_BENCH [unittest arguments]")
    i = argv.index("--bench")
    BENCH = os.path.abspath(argv[i + 1])
    unittest.main(argv=[sys.argv[0], *argv[:i], *argv[i + 2:]], verbosity=2)


if __name__ == "__main__":
    main()
