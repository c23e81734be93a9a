"""The HTML building blocks of report.py's page.

The style sheet, escaping, how sizes and values are written, a generic table,
the table of the runs' contexts side by side (each value that differs
marked), and plot.py's SVG made fit to inline. None of it knows what a
benchmark measures: report.py decides what goes in the tables.
"""

import html
import json
import re

CONTEXT_FIRST = ("date", "host_name", "executable", "ipcb_version", "ipcb_git_revision",
                 "ipcb_build_type", "os", "os_release", "machine", "cpu_model",
                 "logical_cpus", "ipc_placement", "ipc_thread_class", "ipc_window",
                 "ipc_verify", "ipc_timeout_ns", "load_avg")

CSS = """
body{font:14px/1.45 system-ui,sans-serif;color:#222;margin:0 auto;padding:0 24px 40px;
max-width:1240px}
h1{font-size:22px;margin:20px 0 4px}h2{font-size:18px;margin:28px 0 8px;
border-bottom:1px solid #ccc;padding-bottom:3px}h3{font-size:15px;margin:18px 0 6px}
p.note{color:#555;margin:4px 0 10px}
table{border-collapse:collapse;margin:4px 0 14px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d6d6d6;padding:3px 8px;vertical-align:top}
th{background:#f0f0f0;text-align:left}td.n{text-align:right;white-space:nowrap}
tbody tr:nth-child(even){background:#fafafa}
tr.diff td{background:#fff3c4}tr.diff th{background:#f7dd7a}
td.ctx{max-width:420px;overflow-wrap:anywhere;font-size:12px}
.side{display:flex;flex-wrap:wrap;gap:0 40px}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:12px}
.plots figure{margin:0;border:1px solid #e2e2e2;padding:4px}
.plots svg{width:100%;height:auto;display:block}
pre{background:#f5f5f5;border:1px solid #ddd;padding:8px 10px;overflow-x:auto;
white-space:pre-wrap;overflow-wrap:anywhere;font-size:12.5px}
"""


def size_text(n, sep=" "):
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{sep}{unit}"
    return f"{n}{sep}B" if sep else str(n)


def fmt(value, kind):
    if value is None:
        return "—"
    if kind == "time":
        for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
            if abs(value) >= scale:
                return f"{value / scale:.3g} {unit}"
        return f"{value:.3g} ns"
    if kind == "rate":
        for unit, scale in (("GB/s", 1e9), ("MB/s", 1e6), ("kB/s", 1e3)):
            if abs(value) >= scale:
                return f"{value / scale:.3g} {unit}"
        return f"{value:.3g} B/s"
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def esc(x):
    return html.escape(str(x), quote=True)


def table(head, rows, numeric=(), row_class=None):
    """HTML table; rows are lists of already escaped cells, those of the
    columns in numeric right-aligned."""
    out = ["<table><thead><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead>"
           "<tbody>"]
    for i, row in enumerate(rows):
        cls = f' class="{row_class[i]}"' if row_class and row_class[i] else ""
        cells = [f'<td class="n">{c}</td>' if j in numeric else f"<td>{c}</td>"
                 for j, c in enumerate(row)]
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    return "\n".join(out) + "</tbody></table>"


def context_text(v):
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(", ", ": "))
    return v if isinstance(v, str) else json.dumps(v)


def context_html(runs):
    keys = {k for _, ctx, _ in runs for k in ctx}
    order = [k for k in CONTEXT_FIRST if k in keys] + sorted(keys - set(CONTEXT_FIRST))
    body, classes = [], []
    for k in order:
        values = [context_text(ctx[k]) if k in ctx else None for _, ctx, _ in runs]
        differs = len(runs) > 1 and len(set(values)) > 1
        mark = " ≠" if differs else ""
        body.append([f"<b>{esc(k)}</b>{mark}"] +
                    ['<span class="ctxv">' + esc(v) + "</span>" if v is not None
                     else "<i>absent</i>" for v in values])
        classes.append("diff" if differs else "")
    html_table = table(["key"] + [esc(label) for label, _, _ in runs], body,
                       row_class=classes)
    return html_table.replace("<td><span", '<td class="ctx"><span')


def inline_svg(text, prefix):
    """The <svg> element alone, its ids made unique within the page."""
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)
    for name in set(re.findall(r'\bid="([^"]+)"', text)):
        new = prefix + name
        text = text.replace(f'id="{name}"', f'id="{new}"')
        text = text.replace(f'#{name}"', f'#{new}"').replace(f"#{name})", f"#{new})")
    return text
