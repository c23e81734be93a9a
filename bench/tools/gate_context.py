"""gate.py's check that the two runs were made alike, by their contexts.

Which context keys must be equal for two runs to compare (FATAL_CONTEXT) and
which are only shown when they differ (INFO_CONTEXT), the differences found,
the error that stops the gate on them and the Markdown table that shows
them. Standard library only, like gate.py.
"""

import json

# Context keys (Google Benchmark's and ipc_bench's) that must be equal for
# the two runs to measure the same thing:
FATAL_CONTEXT = (
    # Another OS, kernel release, architecture or CPU is another measurement:
    # the kernel decides the cost of every system call and wake-up, the CPU
    # model its caches and clock, and the count whether two processes can run
    # at once (a spinning transport on one CPU waits for the scheduler).
    "os", "os_release", "machine", "cpu_model", "logical_cpus", "num_cpus",
    # Both processes on one CPU or on two: on one a wake-up is a context
    # switch, on two an interrupt to the other CPU, tens of microseconds on a
    # virtual machine; a round trip differs by up to 10x between the two.
    "ipc_placement",
    # The scheduling class or QoS decides how soon a woken side runs and, on
    # macOS, whether it runs on a performance or an efficiency core.
    "ipc_thread_class",
    # A Debug build of ipc_bench, or another build or version of Google
    # Benchmark, changes the code around and inside the timed loop.
    "ipcb_build_type", "library_build_type", "benchmark_library_version",
    # --ipc_verify=full reads every byte a round trip moves, and --ipc_window
    # is how many messages Stream keeps in flight: each is another workload.
    "ipc_verify", "ipc_window",
)
# Keys that are shown when they differ but never stop the gate: the same
# machine image has a new host name on each CI runner, base and head differ
# in revision (and maybe version) by design, the timeout is a watchdog that a
# passing run never reaches, and the OS's build string, distribution, libc
# and the percentile clock follow from the keys above or time nothing the
# gate compares.
INFO_CONTEXT = ("host_name", "ipcb_git_revision", "ipcb_version", "os_version",
                "os_distribution", "libc", "ipc_timeout_ns", "ipcb_percentile_clock")


def context_diff(base_ctx, cont_ctx):
    """[(key, baseline value, contender value, fatal)] for the keys of
    FATAL_CONTEXT and INFO_CONTEXT that differ; None for a key a run lacks.
    A key one run lacks is never fatal: a run recorded before ipc_bench
    wrote that key cannot say."""
    out = []
    for key in FATAL_CONTEXT + INFO_CONTEXT:
        a, b = base_ctx.get(key), cont_ctx.get(key)
        if a is None and b is None or str(a) == str(b):
            continue
        fatal = key in FATAL_CONTEXT and a is not None and b is not None
        out.append((key, a, b, fatal))
    return out


def fmt_context(v):
    return "(absent)" if v is None else json.dumps(str(v), ensure_ascii=False)


def refusal(diffs, baseline, contender):
    """Why the runs do not compare, naming each fatal difference; None when
    no key of FATAL_CONTEXT differs."""
    fatal = [d for d in diffs if d[3]]
    if not fatal:
        return None
    lines = [f"  {key}: baseline {fmt_context(a)}, contender {fmt_context(b)}"
             for key, a, b, _ in fatal]
    info = [key + (" (one run only)" if a is None or b is None else "")
            for key, a, b, f in diffs if not f]
    if info:
        lines.append("  (also different, which alone would not stop the gate: " +
                     ", ".join(info) + ")")
    return (f"{baseline} and {contender} were not run alike, so their "
            f"benchmarks do not compare:\n" + "\n".join(lines) +
            "\nRun both on the same machine with the same flags and build type, or "
            "pass --allow-context-diff to compare them anyway.")


def report(diffs):
    """Markdown lines that show the differences above the gate's table."""
    if not diffs:
        return []
    out = ["Context that differs between the runs:", "",
           "| context | baseline | contender | |", "|---|---|---|---|"]
    for key, a, b, fatal in diffs:
        if fatal:
            note = "**differs**: compared anyway (--allow-context-diff)"
        elif a is None or b is None:
            note = "not recorded in one run"
        else:
            note = "for information"
        out.append(f"| {key} | {'' if a is None else a} | {'' if b is None else b} "
                   f"| {note} |")
    return out + [""]
