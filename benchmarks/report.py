"""The generated part of ``benchmarks/RESULTS.md`` from ``results.json``.

Only the text between the ``generated`` markers is rewritten; everything
before and after them (the hand-written discussion) is kept. Regenerate
without re-running with ``python benchmarks/report.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks import scaling  # noqa: E402

SIMS = scaling.SIMULATORS
DEFAULT_HEAD = "# Benchmark results\n\nSee the discussion below the generated section.\n\n"


def _yes(met: bool) -> str:
    return "**met**" if met else "**not met**"


def _machine(m: dict) -> list[str]:
    v = m["versions"]
    return [
        "## Run", "",
        f"- date (UTC): {m['date']}; commit `{m['commit']}`"
        + (f" (+{m['dirty_files']} modified tracked files)" if m.get("dirty_files") else ""),
        f"- machine: {m['nproc']} CPUs, {m['cpu']}, {m['ram_gb']} GB RAM; {m['os']}",
        f"- load average (1/5/15 min) at start {tuple(round(x, 2) for x in m['loadavg_start'])}, "
        f"at end {tuple(round(x, 2) for x in m.get('loadavg_end', ()))} (the machine may be shared)",
        f"- Python {m['python']}; " + ", ".join(f"{k} {val}" for k, val in v.items()),
        "",
    ]


def _headline(res: dict) -> list[str]:
    out = ["## " + ", ".join(f"({k})" for k in res["workloads"]) + ": full stack vs pandapower `run_timeseries` "
           "(grid only)", "",
           "| workload | steps | cosim wall [s] | set-up [s] | cosim [ms/step] | closing the file [s] "
           "| cosim incl. closing [ms/step] | steps/s | peak RSS [MB] "
           "| reference steps | reference [ms/step] | reference total [s] | ratio per step | ratio total "
           "| speed-up per step | speed-up total |",
           "|" + "---|" * 16]
    for key, w in res["workloads"].items():
        c, r, k = w["cosim"], w["reference"], w["compare"]
        ext = " (extrapolated)" if k["ref_total_extrapolated"] else ""
        out.append(
            f"| {w['title']} (`{w['grid']}`) | {c['steps']:,} | {c['wall_time_s']:.1f} | {c['setup_s']:.1f} "
            f"| {c['ms_per_step']:.2f} | {c.get('close_s', float('nan')):.1f} "
            f"| {c.get('ms_per_step_incl_close', float('nan')):.2f} | {c['steps_per_s']:.0f} | {c['peak_rss_mb']:.0f} | {r['steps']:,} "
            f"| {r['ms_per_step']:.2f} | {k['ref_total_s']:.1f}{ext} | {k['ratio_per_step']:.3f} "
            f"| {k['ratio_total']:.3f} | {k['speedup_per_step']:.2f}x | {k['speedup_total']:.2f}x |")
    out += ["", "Ratios are cosim / pandapower (lower is better); speed-ups are their inverses. "
            "Per step: run time without set-up / steps (reference: `run_timeseries` alone / steps); "
            "*incl. closing* adds closing the result file, which writes the last block of rows "
            "(`RunSummary.wall_time_s` stops before it). "
            "Total: cosim `wall_time_s` (set-up included) / reference net build + numba warm-up + "
            "controller set-up + run. Reference peak RSS: "
            + ", ".join(f"({k}) {w['reference']['peak_rss_mb']:.0f} MB" for k, w in res["workloads"].items())
            + ".", ""]
    out += ["### Targets", "", "| workload | target | value | verdict |", "|---|---|---|---|"]
    for key, w in res["workloads"].items():
        t = w["targets"]
        out.append(f"| ({key}) | wall < {t['wall_s']['target']:.0f} s | {t['wall_s']['value']:.1f} s "
                   f"| {_yes(t['wall_s']['met'])} |")
        out.append(f"| ({key}) | total <= {t['ratio_total']['target']}x reference | "
                   f"{t['ratio_total']['value']:.3f}x | {_yes(t['ratio_total']['met'])} |")
        out.append(f"| ({key}) | per step <= {t['ratio_per_step']['target']}x reference | "
                   f"{t['ratio_per_step']['value']:.3f}x | {_yes(t['ratio_per_step']['met'])} |")
        out.append(f"| ({key}) | peak RSS <= {t['peak_rss_mb']['target']:.0f} MB | "
                   f"{t['peak_rss_mb']['value']:.0f} MB | {_yes(t['peak_rss_mb']['met'])} |")
    return out + [""]


def _breakdown(res: dict) -> list[str]:
    ws = res["workloads"]
    head = "| simulator | " + " | ".join(f"({k}) ms/step | ({k}) share | ({k}) calls/step" for k in ws) + " |"
    out = ["## Per-simulator breakdown (probe)", "",
           "Wall time inside each adapter's `step` + `get_data` (`benchmarks/probe.py`), per 15-min "
           "interval; *mosaik* is the rest of the run time (scheduling, data hand-over between "
           "simulators, progress callback).", "", head, "|---|" + "---|---|---|" * len(ws)]
    rows = [*SIMS, "mosaik", "total"]
    for name in rows:
        cells = []
        for w in ws.values():
            c = w["cosim"]
            if name == "total":
                ms, calls = c["ms_per_step"], c["simulator_steps_per_step"]
            elif name == "mosaik":
                ms, calls = c["mosaik_ms_per_step"], float("nan")
            else:
                s = c["simulators"].get(name)
                ms = s["ms_per_step"] if s else float("nan")
                calls = s["step_calls"] / c["steps"] if s else float("nan")
            share = 100 * ms / c["ms_per_step"]
            cells += [f"{ms:.2f}", f"{share:.0f} %", "" if calls != calls else f"{calls:.2f}"]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out.append("")
    for key, w in ws.items():
        c = w["cosim"]
        top = max(c["simulators"].items(), key=lambda kv: kv[1]["ms_per_step"])
        out.append(f"- ({key}): the largest single cost is **{'mosaik' if c['mosaik_ms_per_step'] > top[1]['ms_per_step'] else top[0]}**"
                   f" ({max(c['mosaik_ms_per_step'], top[1]['ms_per_step']):.2f} of {c['ms_per_step']:.2f} ms/step); "
                   f"largest simulator {top[0]} {top[1]['ms_per_step']:.2f} ms/step; mosaik "
                   f"{c['mosaik_ms_per_step']:.2f} ms/step over {c['simulator_steps_per_step']:.1f} simulator steps "
                   f"per interval = {c['mosaik_ms_per_simulator_step']:.3f} ms per simulator step.")
        tl = c.get("timeline", {}).get("ms_per_step", [])
        if len(tl) > 2:
            out.append(f"- ({key}): ms per step by block of {c['timeline']['block_steps']} steps over the run "
                       f"(a rising series = a cost that grows with the run's length): first {tl[0]:.2f}, "
                       f"middle {tl[len(tl) // 2]:.2f}, last full block {tl[-2]:.2f}; all: "
                       + ", ".join(f"{x:.1f}" for x in tl))
    return out + [""]


def _startup(res: dict) -> list[str]:
    st = res.get("startup")
    if not st:
        return []
    out = ["## (e) Start-up: parsed-grid cache and process start", "",
           "`load_net` in a fresh process (pandapower imported before the clock), fastest of "
           f"the repeats; cold = empty cache directory (CSV parse, read-back check, write), warm = "
           "the same directory again, off = `COSIM_CACHE_DIR=off` (parse only). Load average "
           f"{st['load_avg_1min_before']:.1f} before, {st['load_avg_1min_after']:.1f} after.", "",
           "| grid | cold [s] | warm [s] | off [s] | cold / warm | off / warm | CPU cold / warm / off [s] |",
           "|---|---|---|---|---|---|---|"]
    for code, g in st["grid_load"].items():
        cpu = "/".join(f"{g[k]:.2f}" for k in ("cold_cpu_s", "warm_cpu_s", "off_cpu_s")) if "warm_cpu_s" in g else "-"
        out.append(f"| `{code}` | {g['cold_s']:.2f} | {g['warm_s']:.2f} | {g['off_s']:.2f} "
                   f"| {g['cold_over_warm']:.1f}x | {g['off_over_warm']:.1f}x | {cpu} |")
    p = st["process"]
    out += ["", "Whole processes (warm cache), against `python -c 'import pandapower, mosaik, h5py, numpy, "
            "pandas'` (target (c): default run <= 1.5x):", "",
            "| command | wall [s] | / bare imports | CPU [s] | CPU / bare imports |", "|---|---|---|---|---|",
            f"| bare imports | {p['bare_imports']:.2f} | 1.00x | {p.get('bare_imports_cpu_s', float('nan')):.2f} "
            "| 1.00x |"]
    for key, label in (("help", "`cosim --help`"), ("grids", "`cosim grids`"),
                       ("run_default", "`cosim run` (default scenario)"),
                       ("run_default_cache_off", "`cosim run`, cache off")):
        cpu, cpu_ratio = p.get(f"{key}_cpu_s", float("nan")), p.get(f"{key}_cpu_over_bare", float("nan"))
        out.append(f"| {label} | {p[key]:.2f} | {p[key + '_over_bare']:.2f}x | {cpu:.2f} | {cpu_ratio:.2f}x |")
    return out + [""]


def _scaling(res: dict) -> list[str]:
    sc = res["scaling"]
    out = ["## Scaling curve", "",
           f"Full stack of (b) (`scenarios/full_district_day.yaml`, only `grid.simbench` changes), "
           f"{sc['steps']} steps (one day) per grid, one process per grid. An MV-only grid has no LV "
           "loads and gets one aggregated household per load.", "",
           "![step time per simulator vs households and buses](scaling.png)", "",
           "Wall time per 15-min step [ms]:", "", scaling.table_md(sc["points"]), "",
           "Exponent `b` of `t = a n^b` (least squares on log-log) over the points with >= "
           f"{scaling.FIT_MIN_HOUSEHOLDS} households (fixed per-call costs flatten it) and over the "
           f"district-sized points (>= {scaling.FIT_LARGE_HOUSEHOLDS:,} households: the asymptotic "
           "slope; SimBench has no grid with households between 129 and 5,367 buses). Households and "
           "buses grow together on SimBench grids, so both x-axes describe the same runs.", "",
           scaling.fit_md(sc["fit_households"], sc["fit_buses"]), ""]
    return out


def _profiles(res: dict) -> list[str]:
    if not res.get("profiles"):
        return []
    out = ["## cProfile summary", "",
           "Functions with the largest own time (`tottime`) in the stepping phase (set-up excluded) of short runs under cProfile "
           "(which slows Python-heavy code more than compiled code: read shares, not absolute times).", ""]
    for key, rec in res["profiles"].items():
        out += [f"### ({key}) {rec['steps']} steps, {rec['run_s']:.1f} s under the profiler", "",
                "| function | calls | own [s] | cumulative [s] |", "|---|---|---|---|"]
        for row in rec["profile_top"]:
            out.append(f"| `{row['function']}` | {row['ncalls']:,} | {row['tottime_s']:.3f} | {row['cumtime_s']:.3f} |")
        out.append("")
    return out


def _micro(res: dict) -> list[str]:
    if not res.get("micro"):
        return []
    out = ["## (c) Per-package microbenchmarks (same run)", "",
           "Each `benchmarks/bench_<package>.py` as shipped, its output verbatim.", ""]
    for script, r in res["micro"].items():
        status = "" if r["exit_code"] == 0 else f" (exit {r['exit_code']})"
        out += [f"### `{script}`{status}, {r['wall_s']:.0f} s", "", "```", r["stdout"], "```", ""]
    return out


def generated(res: dict) -> str:
    """Markdown of the generated section."""
    lines = ["_Generated by `make bench` (`benchmarks/run_all.py`) from `benchmarks/results.json`; "
             f"mode `{res['mode']}`, harness wall time {res['harness_wall_s'] / 60:.1f} min. "
             "Do not edit between the markers._", ""]
    lines += _machine(res["machine"]) + _headline(res) + _breakdown(res) + _startup(res) + _scaling(res)
    lines += _profiles(res) + _micro(res)
    return "\n".join(lines).rstrip() + "\n"


def splice(old: str, body: str, start: str, end: str) -> str:
    """Replace the text between ``start`` and ``end`` in ``old`` (append both if missing)."""
    if start in old and end in old and old.index(start) < old.index(end):
        head, rest = old.split(start, 1)
        tail = rest.split(end, 1)[1]
        return f"{head}{start}\n{body}{end}{tail}"
    return f"{old or DEFAULT_HEAD}{start}\n{body}{end}\n"


def write_results_md(res: dict, path: Path, start: str, end: str) -> None:
    old = path.read_text() if path.exists() else ""
    path.write_text(splice(old, generated(res), start, end))


if __name__ == "__main__":
    from benchmarks.run_all import END_MARK, RESULTS_JSON, RESULTS_MD, START_MARK

    write_results_md(json.loads(RESULTS_JSON.read_text()), RESULTS_MD, START_MARK, END_MARK)
