"""Self-contained HTML report of one or several runs (``cosim report``).

The page has inline CSS, figures embedded as base64 PNG (the same PNGs are
written beside it) and no reference to any network resource, so it can be
mailed, archived as a CI artefact or opened offline.
"""

from __future__ import annotations

import base64
import html
import logging
import math
from datetime import datetime, timezone
from pathlib import Path

from analysis.figures import FIGURES, render
from analysis.io import Result
from analysis.kpis import REGISTRY, KpiValue, household_kpis_by_class, kpis

logger = logging.getLogger(__name__)

CSS = """
body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:1100px;color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.group td{background:#e8eef6;font-weight:bold}td.na{color:#999;text-align:right;font-style:italic}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.9em;color:#555}
.skipped{color:#8a6d3b;background:#fcf8e3;padding:.4em .8em;border-left:3px solid #f0ad4e}
.status-complete{color:#2ca02c}.status-interrupted,.status-failed{color:#d62728;font-weight:bold}
.muted{color:#777;font-size:.85em}
"""

GROUP_TITLES = {
    "grid": "Grid",
    "market": "Market and households",
    "ict": "ICT",
    "coordination": "TSO-DSO coordination",
    "computation": "Computation",
}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(kv: KpiValue) -> str:
    if not kv.applicable:
        return '<td class="na">n/a</td>'
    if not math.isfinite(kv.value):
        return '<td class="na">undefined</td>'
    return f'<td class="num">{kv.value:.6g}</td>'


def kpi_table(runs: list[Result], values: list[dict[str, KpiValue]]) -> str:
    """HTML table: one row per KPI, one value column per run, grouped."""
    head = "".join(f"<th>{_e(r.label)}</th>" for r in runs)
    rows = [f"<table><tr><th>KPI</th><th>definition</th><th>unit</th>{head}</tr>"]
    group = None
    for name, spec in REGISTRY.items():
        if spec.group != group:
            group = spec.group
            rows.append(f'<tr class="group"><td colspan="{3 + len(runs)}">{_e(GROUP_TITLES.get(group, group))}</td></tr>')
        cells = "".join(_fmt(v[name]) for v in values)
        rows.append(f"<tr><td><code>{_e(name)}</code></td><td>{_e(spec.description)}</td><td>{_e(spec.unit)}</td>{cells}</tr>")
    rows.append("</table>")
    return "\n".join(rows)


def _seconds(value: object) -> str:
    """A wall time for people: 0.1 s resolution (``30.0``, not ``30.028922910000006``)."""
    try:
        return f"{float(value):.1f}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


#: Columns of the per-class household table: key of household_kpis_by_class -> (header, unit).
CLASS_COLUMNS = {"n_homes": ("homes", ""), "imported_mwh": ("imported", "MWh"), "exported_mwh": ("exported", "MWh"),
                 "self_consumption": ("self-consumption", "1"), "self_sufficiency": ("self-sufficiency", "1"),
                 "bill_mean_eur": ("mean bill", "EUR")}


def class_table(runs: list[Result]) -> str:
    """HTML table of household KPIs per load class (homes, farms, shops apart); '' without households."""
    rows = []
    for r in runs:
        for cls, vals in household_kpis_by_class(r).items():
            cells = "".join(f'<td class="num">{vals[k]:.6g}</td>' if math.isfinite(vals[k]) else '<td class="na">n/a</td>'
                            for k in CLASS_COLUMNS)
            rows.append(f"<tr><td>{_e(r.label)}</td><td>{_e(cls)}</td>{cells}</tr>")
    if not rows:
        return ""
    head = "".join(f"<th>{_e(h)}{f' [{_e(u)}]' if u else ''}</th>" for h, u in CLASS_COLUMNS.values())
    return "\n".join(["<h3 id='kpis-by-class'>Households by load class</h3>",
                      f"<table><tr><th>run</th><th>class</th>{head}</tr>", *rows, "</table>"])


def runs_table(runs: list[Result]) -> str:
    """HTML table of run metadata (root attributes)."""
    rows = ["<table><tr><th>run</th><th>status</th><th>start</th><th>step [s]</th><th>steps</th>"
            "<th>simulators</th><th>seed</th><th>wall time [s]</th><th>scenario sha256</th></tr>"]
    for r in runs:
        a = r.attrs
        status = str(a.get("status", "unknown"))
        err = f"<br><span class='muted'>{_e(a['error'])}</span>" if a.get("error") else ""
        rows.append(
            f"<tr><td>{_e(r.path.name)}</td><td class='status-{_e(status)}'>{_e(status)}{err}</td>"
            f"<td>{_e(a.get('start', ''))}</td><td class='num'>{r.step_s:g}</td><td class='num'>{r.n_steps}</td>"
            f"<td>{_e(', '.join(r.simulators))}</td><td class='num'>{_e(a.get('seed', ''))}</td>"
            f"<td class='num'>{_e(_seconds(a.get('wall_time_s')))}</td><td><code>{_e(str(a.get('scenario_sha256', ''))[:12])}</code></td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def build_report(runs: list[Result], out_dir: str | Path, tariff: Result | None = None) -> Path:
    """Write ``out_dir/index.html`` and one PNG per figure.

    Parameters
    ----------
    runs : list of Result
        One run, or several to overlay (KPI columns side by side).
    out_dir : str or pathlib.Path
        Output directory (created).
    tariff : Result, optional
        Tariff-baseline run for the bill comparison KPIs.

    Returns
    -------
    pathlib.Path
        The HTML page.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    values = [kpis(r, tariff) for r in runs]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>cosim report: {_e(', '.join(r.label for r in runs))}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>cosim report: {_e(', '.join(r.label for r in runs))}</h1>",
        f"<p class='muted'>generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from "
        f"{len(runs)} result file(s); KPIs marked n/a need a simulator that was not in the run.</p>",
        "<h2>Runs</h2>",
        runs_table(runs),
        "<h2 id='kpis'>Key performance indicators</h2>",
        kpi_table(runs, values),
        class_table(runs),
        "<p class='muted'>Hosting capacity needs a sweep over PV penetration (cosim sweep), "
        "not a single run; bill comparison KPIs need a tariff-baseline run (--tariff-baseline).</p>",
        "<h2 id='figures'>Figures</h2>",
    ]
    for spec in FIGURES:
        path = render(spec, runs, out)
        if path is None:
            needs = " or ".join(spec.any_of)
            parts.append(f"<p class='skipped' id='fig-{spec.name}'>Figure skipped: {_e(spec.caption)} "
                         f"&mdash; no run recorded {_e(needs)} (simulator not in the run).</p>")
            continue
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(
            f"<figure id='fig-{spec.name}'><img alt='{_e(spec.caption)}' data-file='{_e(path.name)}' "
            f"src='data:image/png;base64,{data}'><figcaption>{_e(spec.caption)} ({_e(path.name)})</figcaption></figure>"
        )
    parts.append("</body></html>")
    page = out / "index.html"
    page.write_text("\n".join(parts), encoding="utf-8")
    logger.info("report written to %s", page)
    return page
