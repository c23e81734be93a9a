#!/usr/bin/env python3
"""Build two revisions of ipc_bench, run them in turns and gate the change.

    compare_builds.py BASE HEAD [--rounds 10] [--filter RE] [--sizes 12,64KiB]
                      [--min-time 0.1] [--work DIR] [--threshold T] [--alpha A]
                      [--metric M] [--allow-context-diff] [--dry-run]

BASE and HEAD are each a git revision of the repository (built with the
release preset in a worktree of its own under the work folder) or a build
folder that holds bench/ipc_bench (used as it is). The two binaries then take
turns, one repetition each, base first in odd rounds and head first in even
ones (ABBA), so that drift in load or clock speed and any cost of going
second fall on both alike; on Linux both processes share one CPU
(--ipc_cpus=same), which keeps the scheduler's placement out of the numbers.
The turns are merged with merge.py and judged by gate.py, whose table is
printed and kept as report.md, and whose exit status is this script's: 0
pass, 1 regression, 2 the gate cannot decide or the comparison could not be
made. The JSON stays in the work folder; the worktrees are removed.

Standard library only.
"""

import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(TOOLS))
EXIT_ERROR = 2
SIDES = ("base", "head")
# Copying, shared-memory and socket transports at a small and a large size:
# about a minute at ten rounds. ShmSpin is left out: on one CPU its two
# busy-waiting sides take turns by the scheduler's time slice, which
# measures the slice, not the transport.
DEFAULT_FILTER = r"^(PingPong/(Pipe|PosixShm|UnixStream)|Stream/(Pipe|PosixShm))/"
DEFAULT_SIZES = "12,64KiB"
BINARY = os.path.join("bench", "ipc_bench")
RELEASE_DIR = os.path.join("build", "release")  # CMakePresets.json, "release"
LOG_TAIL = 30


class Failure(Exception):
    """The comparison cannot be made; the message says why."""


def git(repo, *args):
    try:
        return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True)
    except FileNotFoundError:
        raise Failure("git is not installed; it is needed to check out revisions")


def revision(spec, repo):
    p = git(repo, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}")
    return p.stdout.strip() if p.returncode == 0 else None


def resolve(spec, repo):
    """A side: {"spec", "binary"} for a build folder, {"spec", "commit"} else."""
    binary = os.path.join(os.path.abspath(spec), BINARY)
    if os.path.isdir(spec) and os.access(binary, os.X_OK):
        return {"spec": spec, "binary": binary}
    # A folder without the binary may still be a revision's name: "main" run
    # from the folder that holds a checkout called main.
    commit = revision(spec, repo)
    if commit:
        return {"spec": spec, "commit": commit}
    if os.path.isdir(spec):
        raise Failure(f"{spec}: no {BINARY} in this folder and no git revision of "
                      f"{repo} (give a build folder such as build/release, or a "
                      f"git revision)")
    raise Failure(f"{spec}: neither a git revision of {repo} nor a folder "
                  f"(give a commit, branch or tag, or a build folder that "
                  f"holds {BINARY})")


def warn_uncommitted(sides, repo):
    """A revision that is the checkout's HEAD is built as committed."""
    head = revision("HEAD", repo)
    at_head = [info["spec"] for info in sides.values() if head and info.get("commit") == head]
    if not at_head:
        return
    p = git(repo, "status", "--porcelain", "-uno")
    if p.returncode == 0 and p.stdout.strip():
        print(f"compare_builds.py: warning: {', '.join(dict.fromkeys(at_head))}: "
              f"the commit checked out in {repo}, which has uncommitted changes; "
              f"they are not measured, only what is committed is built. To measure "
              f"work in progress, give its build folder (such as build/release) "
              f"instead of a revision.", file=sys.stderr, flush=True)


def fmt(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    return f"{seconds // 60} min {seconds % 60} s"


def tail(path, n=LOG_TAIL):
    with open(path, encoding="utf-8", errors="replace") as f:
        return "".join(f.readlines()[-n:])


# --- Building a revision in a worktree.


def remove_worktree(repo, path):
    if os.path.exists(path):
        git(repo, "worktree", "remove", "--force", path)
        shutil.rmtree(path, ignore_errors=True)
    git(repo, "worktree", "prune")


def build_steps(args):
    if args.build_command:
        return [["sh", "-c", args.build_command]]
    build = ["cmake", "--build", RELEASE_DIR, "--target", "ipc_bench"]
    if args.jobs:
        build += ["--parallel", str(args.jobs)]
    # Without the tests, configuring needs no googletest (and no download).
    return [["cmake", "--preset", "release", "-DIPCB_BUILD_TESTS=OFF"], build]


def build(side, info, args, worktrees):
    """Checks out info["commit"] under the work folder and builds it there."""
    path = os.path.join(args.work, f"src-{side}")
    log = os.path.join(args.work, f"build-{side}.log")
    remove_worktree(args.repo, path)
    p = git(args.repo, "worktree", "add", "--detach", path, info["commit"])
    if p.returncode != 0:
        raise Failure(f"{side}: git worktree add failed: {p.stderr.strip()}")
    worktrees.append(path)
    start = time.monotonic()
    print(f"building {side} ({info['spec']}, {info['commit'][:12]}) in {path}; "
          f"log: {log}", file=sys.stderr, flush=True)
    with open(log, "w", encoding="utf-8") as out:
        for step in build_steps(args):
            out.write(f"$ {shlex.join(step)}\n")
            out.flush()
            try:
                failed = subprocess.run(step, cwd=path, stdout=out,
                                        stderr=subprocess.STDOUT).returncode
            except FileNotFoundError:
                raise Failure(f"{side}: {step[0]} is not installed; it is needed to build")
            if failed:
                raise Failure(f"{side}: the build of {info['spec']} failed "
                              f"({shlex.join(step)}); the end of {log}:\n{tail(log)}")
    binary = os.path.join(path, RELEASE_DIR, BINARY)
    if not os.access(binary, os.X_OK):
        raise Failure(f"{side}: the build of {info['spec']} left no "
                      f"{os.path.join(RELEASE_DIR, BINARY)}; the end of {log}:\n{tail(log)}")
    print(f"built {side} in {fmt(time.monotonic() - start)}", file=sys.stderr, flush=True)
    info["binary"] = binary


# --- Running the turns.


def turns(rounds):
    """(round, side) in the order they run: base first in odd rounds."""
    for i in range(1, rounds + 1):
        for side in SIDES if i % 2 else reversed(SIDES):
            yield i, side


def bench_flags(args, out):
    flags = [f"--benchmark_filter={args.filter}", f"--ipc_sizes={args.sizes}",
             f"--benchmark_min_time={args.min_time}", "--benchmark_repetitions=1",
             f"--benchmark_out={out}", "--benchmark_out_format=json"]
    if platform.system() == "Linux":
        flags.append("--ipc_cpus=same")
    return flags


def run_turn(binary, args, out):
    cmd = [binary, *bench_flags(args, out)]
    with open(out[:-len(".json")] + ".txt", "w", encoding="utf-8") as text:
        p = subprocess.run(cmd, stdout=text, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise Failure(f"{shlex.join(cmd)} exited with {p.returncode}; the end of "
                      f"its output:\n{tail(text.name)}")


def run_all(sides, args):
    runs = os.path.join(args.work, "runs")
    shutil.rmtree(runs, ignore_errors=True)
    os.makedirs(runs)
    paths, start = {side: [] for side in SIDES}, time.monotonic()
    total = 2 * args.rounds
    for done, (i, side) in enumerate(turns(args.rounds), 1):
        out = os.path.join(runs, f"{side}-{i}.json")
        run_turn(sides[side]["binary"], args, out)
        paths[side].append(out)
        spent = time.monotonic() - start
        left = f", about {fmt(spent / done * (total - done))} left" if done < total else ""
        print(f"round {i}/{args.rounds}, {side}: {fmt(spent)} so far{left}",
              file=sys.stderr, flush=True)
    return paths


def tool(name, *argv):
    return subprocess.run([sys.executable, os.path.join(TOOLS, name), *argv],
                          capture_output=True, text=True)


def merge_and_gate(paths, args):
    merged = {}
    for side in SIDES:
        merged[side] = os.path.join(args.work, f"{side}.json")
        p = tool("merge.py", "-o", merged[side], *paths[side])
        if p.returncode != 0:
            raise Failure(f"merge.py failed: {p.stderr.strip()}")
    gate = [merged["base"], merged["head"]]
    for flag in ("threshold", "alpha", "metric"):
        if getattr(args, flag) is not None:
            gate.append(f"--{flag}={getattr(args, flag)}")
    if args.allow_context_diff:
        gate.append("--allow-context-diff")
    p = tool("gate.py", *gate)
    report = p.stdout
    if p.returncode == EXIT_ERROR:
        # The job summary shows report.md alone: without the reason an
        # undecided gate would leave it blank.
        report += (f"**NO VERDICT**: gate.py could not decide (exit status "
                   f"{EXIT_ERROR}):\n\n```\n{p.stderr.strip()}\n```\n")
    with open(os.path.join(args.work, "report.md"), "w", encoding="utf-8") as f:
        f.write(report)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    return p.returncode


# --- The whole comparison.


def plan(sides, args):
    binaries = {}
    for side, info in sides.items():
        tree = os.path.join(args.work, f"src-{side}")
        binaries[side] = info.get("binary") or os.path.join(tree, RELEASE_DIR, BINARY)
        what = f"build {info['commit'][:12]} in {tree}" if "commit" in info else "built"
        print(f"{side}: {info['spec']}: {what}")
    for i, side in turns(args.rounds):
        out = os.path.join(args.work, "runs", f"{side}-{i}.json")
        print(f"round {i}/{args.rounds}, {side}: "
              f"{shlex.join([binaries[side], *bench_flags(args, out)])}")
    return 0


def compare(args):
    sides = {side: resolve(spec, args.repo) for side, spec in zip(SIDES, (args.base, args.head))}
    warn_uncommitted(sides, args.repo)
    args.work = os.path.abspath(args.work or os.path.join(args.repo, ".compare"))
    if args.dry_run:
        return plan(sides, args)
    os.makedirs(args.work, exist_ok=True)
    for name in ("base.json", "head.json", "report.md"):  # an earlier run's
        if os.path.exists(os.path.join(args.work, name)):
            os.remove(os.path.join(args.work, name))
    worktrees = []
    try:
        for side in SIDES:
            if "commit" in sides[side]:
                build(side, sides[side], args, worktrees)
        return merge_and_gate(run_all(sides, args), args)
    finally:
        for path in worktrees:
            remove_worktree(args.repo, path)


def positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}")
        return value
    return parse


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("base", help="git revision or build folder holding bench/ipc_bench")
    p.add_argument("head", help="git revision or build folder holding bench/ipc_bench")
    p.add_argument("--rounds", type=positive(int), default=10,
                   help="turns of each side, one repetition each (default 10, "
                        "even so that each side goes first equally often)")
    p.add_argument("--filter", default=DEFAULT_FILTER,
                   help=f"--benchmark_filter (default {DEFAULT_FILTER})")
    p.add_argument("--sizes", default=DEFAULT_SIZES,
                   help=f"--ipc_sizes (default {DEFAULT_SIZES})")
    p.add_argument("--min-time", type=positive(float), default=0.1,
                   help="--benchmark_min_time in seconds (default 0.1)")
    p.add_argument("--work", help="folder for worktrees, logs and JSON "
                                  "(default .compare in the repository)")
    p.add_argument("--repo", default=REPO,
                   help="git repository the revisions belong to (default: this one)")
    p.add_argument("--jobs", type=positive(int), help="parallel build jobs")
    p.add_argument("--build-command",
                   help="shell command run in each worktree instead of the release "
                        f"preset build; it must leave {os.path.join(RELEASE_DIR, BINARY)}")
    p.add_argument("--threshold", help="passed to gate.py")
    p.add_argument("--alpha", help="passed to gate.py")
    p.add_argument("--metric", help="passed to gate.py")
    p.add_argument("--allow-context-diff", action="store_true", help="passed to gate.py")
    p.add_argument("--dry-run", action="store_true",
                   help="print the builds and turns, run nothing")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        return compare(args)
    except Failure as e:
        print(f"compare_builds.py: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("compare_builds.py: interrupted; worktrees removed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
