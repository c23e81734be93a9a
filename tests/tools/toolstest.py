"""Shared helpers of the bench/tools tests: paths, running a tool, rescaling."""

import copy
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
TOOLS = os.path.normpath(os.path.join(HERE, "..", "..", "bench", "tools"))
SKIP = 77  # ctest SKIP_RETURN_CODE

sys.path.insert(0, TOOLS)


def fixture(name):
    return os.path.join(FIXTURES, name)


def run_tool(tool, *args):
    """Runs bench/tools/<tool> with this interpreter: (status, stdout, stderr)."""
    p = subprocess.run([sys.executable, os.path.join(TOOLS, tool), *args],
                       capture_output=True, text=True, encoding="utf-8")
    return p.returncode, p.stdout, p.stderr


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def save(doc, path):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2)


def scaled(doc, factor):
    """A copy whose times are factor times longer: a contender made slower.

    Percentages (the cv aggregate) are ratios and stay as they are.
    """
    out = copy.deepcopy(doc)
    for b in out["benchmarks"]:
        if b.get("aggregate_unit") == "percentage":
            continue
        for field in ("real_time", "cpu_time"):
            if field in b:
                b[field] *= factor
    return out


def first_repetitions(doc, n):
    """A copy that keeps the first n repetitions of each benchmark."""
    out = copy.deepcopy(doc)
    out["benchmarks"] = [b for b in out["benchmarks"]
                         if b.get("run_type") != "iteration"
                         or b.get("repetition_index", 0) < n]
    return out
