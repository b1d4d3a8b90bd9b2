"""Speed and memory harness: ``make bench`` and ``make bench-check``.

``make bench`` (no flags) runs, each in its own child process so that its peak
RSS is its own:

(a) the full stack on ``1-LV-rural1--0-sw`` for the whole SimBench year
    (``scenarios/full_lv_year.yaml``), and its reference, pandapower's
    ``run_timeseries`` on the same grid, grid only (:mod:`benchmarks.reference`),
    on the first ``--ref-days`` days (default 14) of the same year: a full
    reference year takes ~6 min, so by default the *per-step* ratio is
    measured and the reference's year total is extrapolated from its per-step
    cost (``--full`` runs the reference year too);
(b) the full stack on ``1-MVLV-semiurb-all-0-sw`` for one day
    (``scenarios/full_district_day.yaml``) and the reference on the same day;
(d) the full stack on ``1-LV-rural1--0-sw`` for one winter week in the
    issue's configuration (``scenarios/full_lv_stack_week.yaml``: ICT half LTE,
    half fibre, coordinator ``common``) and the reference on the same week;
(m), (u) unfavourable configurations: (b) on a sunny June midday (6 h from
    10:00, when every PV home trades), and the same on the larger urban
    district ``1-MVLV-urban-all-0-sw`` (11,542 loads), each with its reference;
(c) the per-package microbenchmarks (``bench_<package>.py``), their output kept;
(e) start-up (:mod:`benchmarks.bench_startup`): ``load_net`` of an LV, an MV
    and the district grid with a cold and a warm parsed-grid cache, and the
    whole-process wall time of ``cosim --help``, ``cosim grids`` and the
    default ``cosim run`` against the bare library imports, as ratios;
then the scaling curve (:mod:`benchmarks.scaling`) and a cProfile of short
(a) and (b) runs. It writes ``benchmarks/results.json``, ``benchmarks/scaling.png``
and the generated part of ``benchmarks/RESULTS.md`` (between the
``generated`` markers; the hand-written rest is kept).

``--check`` (``make bench-check``) runs short versions of (a) (2 days), (b)
(16 steps), (d) (2 days), (m) and (u) (8 steps each) with their references on the same steps, ``--repeat`` times
(the fastest of each is kept), and exits 1 if a per-step ratio
cosim / pandapower is more than ``--tolerance`` (1.5) times the one recorded in
``benchmarks/baseline_ratios.json`` (``--write-baseline`` records it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from benchmarks import scaling  # noqa: E402  (needs the repo root on sys.path)

log = logging.getLogger("bench")

RESULTS_JSON = HERE / "results.json"
RESULTS_MD = HERE / "RESULTS.md"
SCALING_PNG = HERE / "scaling.png"
BASELINE = HERE / "baseline_ratios.json"
START_MARK, END_MARK = "<!-- generated:start -->", "<!-- generated:end -->"
STEPS_PER_DAY = 96
YEAR_STEPS = 366 * STEPS_PER_DAY  # 2016 is a leap year: 35,136 steps

#: The workloads: scenario (+ overrides), grid, first step, steps (default / check), targets.
WORKLOADS = {
    "a": {"title": "(a) full stack, LV, one year", "scenario": HERE / "scenarios" / "full_lv_year.yaml",
          "grid": "1-LV-rural1--0-sw", "start": "2016-01-01T00:00:00",
          "steps": YEAR_STEPS, "check_steps": 2 * STEPS_PER_DAY,
          "target_wall_s": 60.0, "target_ratio": 0.3, "target_rss_mb": 1024.0},
    "b": {"title": "(b) full stack, district, one day", "scenario": HERE / "scenarios" / "full_district_day.yaml",
          "grid": "1-MVLV-semiurb-all-0-sw", "start": "2016-01-12T00:00:00",
          "steps": STEPS_PER_DAY, "check_steps": 16,
          "target_wall_s": 60.0, "target_ratio": 1.5, "target_rss_mb": 4096.0},
    # the measured LV configuration: (a) with ICT half LTE / half fibre and the
    # `common` coordinator; a week, so the wall target is the LV year's 60 s pro rata
    "d": {"title": "(d) full stack, LV, ICT mix + common coordinator, one week",
          "scenario": HERE / "scenarios" / "full_lv_stack_week.yaml",
          "grid": "1-LV-rural1--0-sw", "start": "2016-01-11T00:00:00",
          "steps": 7 * STEPS_PER_DAY, "check_steps": 2 * STEPS_PER_DAY,
          "target_wall_s": 60.0 * 7 / 366, "target_ratio": 0.3, "target_rss_mb": 1024.0},
    # unfavourable configurations: (b)'s district on a sunny June midday, when every PV
    # home trades (the winter night in (b)'s first hours has few orders), and a larger
    # district (1-MVLV-urban-all: 11,542 loads, 10,458 buses) on the same window
    "m": {"title": "(m) full stack, district, June midday 6 h",
          "scenario": HERE / "scenarios" / "full_district_day.yaml",
          "grid": "1-MVLV-semiurb-all-0-sw", "start": "2016-06-14T10:00:00",
          "steps": 24, "check_steps": 8,
          "target_wall_s": 60.0 * 24 / STEPS_PER_DAY, "target_ratio": 1.5, "target_rss_mb": 4096.0},
    "u": {"title": "(u) full stack, urban district, June midday 6 h",
          "scenario": HERE / "scenarios" / "full_district_day.yaml",
          "overrides": ["grid.simbench=1-MVLV-urban-all-0-sw"],
          "grid": "1-MVLV-urban-all-0-sw", "start": "2016-06-14T10:00:00",
          "steps": 24, "check_steps": 8,
          "target_wall_s": 60.0 * 24 / STEPS_PER_DAY, "target_ratio": 1.5, "target_rss_mb": 4096.0},
}
#: (c): per-package microbenchmark scripts, run as they are; their stdout is kept.
MICRO = ("bench_market.py", "bench_ict.py", "bench_flex.py", "bench_household.py", "bench_coordinator.py")
MICRO_TIMEOUT_S = 600


# ----------------------------------------------------------------- children
def _child(argv: list[str], timeout_s: float | None = None) -> dict:
    """Run ``python argv... --json TMP`` in a child; return the JSON it wrote."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rec.json"
        cmd = [sys.executable, *argv, "--json", str(out)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
        if proc.returncode != 0 or not out.exists():
            tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"{' '.join(argv)} failed (exit {proc.returncode}):\n{tail}")
        rec = json.loads(out.read_text())
        rec["child_wall_s"] = time.perf_counter() - t0
        return rec


def probe_child(scenario: str, overrides: list[str], cprofile_top: int = 0) -> dict:
    """One probed cosim run (:mod:`benchmarks.probe`) in a child process."""
    path = Path(scenario)
    if path.is_absolute() and path.is_relative_to(ROOT):
        scenario = str(path.relative_to(ROOT))  # the child runs in ROOT; keeps results.json portable
    argv = [str(HERE / "probe.py"), scenario]
    for o in overrides:
        argv += ["--set", o]
    if cprofile_top:
        argv += ["--cprofile", str(cprofile_top)]
    log.info("  cosim %s %s", Path(scenario).name, " ".join(overrides))
    rec = _child(argv)
    log.info("    %d steps, %.1f s wall (set-up %.1f s), %.2f ms/step, peak RSS %.0f MB",
             rec["steps"], rec["wall_time_s"], rec["setup_s"], rec["ms_per_step"], rec["peak_rss_mb"])
    return rec


def reference_child(code: str, start: str, steps: int) -> dict:
    """One pandapower run_timeseries reference (:mod:`benchmarks.reference`) in a child."""
    log.info("  pandapower run_timeseries %s, %d steps", code, steps)
    rec = _child([str(HERE / "reference.py"), code, start, str(steps)])
    log.info("    %.2f ms/step, total %.1f s (net %.1f s, JIT warm-up %.1f s), peak RSS %.0f MB",
             rec["ms_per_step"], rec["total_s"], rec["load_s"], rec["warmup_s"], rec["peak_rss_mb"])
    return rec


def _duration(steps: int) -> str:
    return f"{steps // STEPS_PER_DAY}d" if steps % STEPS_PER_DAY == 0 else f"{steps * 15}min"


# ---------------------------------------------------------------- comparing
def compare(cosim: dict, ref: dict, steps: int) -> dict:
    """Ratios cosim / reference (per step, and total incl. set-up) and their inverses.

    When the reference ran fewer steps than cosim, its total for ``steps`` is
    extrapolated: its fixed costs (net, JIT warm-up, set-up) plus its per-step
    cost times ``steps``.
    """
    fixed = ref["load_s"] + ref["warmup_s"] + ref["setup_s"]
    ref_total = fixed + ref["ms_per_step"] * steps / 1e3
    ratio_step = cosim["ms_per_step"] / ref["ms_per_step"]
    ratio_total = cosim["wall_time_s"] / ref_total
    return {
        "ref_total_s": ref_total, "ref_total_extrapolated": ref["steps"] != steps,
        "ratio_per_step": ratio_step, "ratio_total": ratio_total,
        "speedup_per_step": 1 / ratio_step, "speedup_total": 1 / ratio_total,
    }


def targets(spec: dict, cosim: dict, cmp: dict) -> dict:
    """Met / not met per target of the issue (wall, ratio, peak RSS)."""
    return {
        "wall_s": {"target": spec["target_wall_s"], "value": cosim["wall_time_s"],
                   "met": cosim["wall_time_s"] < spec["target_wall_s"]},
        "ratio_total": {"target": spec["target_ratio"], "value": cmp["ratio_total"],
                        "met": cmp["ratio_total"] <= spec["target_ratio"]},
        "ratio_per_step": {"target": spec["target_ratio"], "value": cmp["ratio_per_step"],
                           "met": cmp["ratio_per_step"] <= spec["target_ratio"]},
        "peak_rss_mb": {"target": spec["target_rss_mb"], "value": cosim["peak_rss_mb"],
                        "met": cosim["peak_rss_mb"] <= spec["target_rss_mb"]},
    }


def run_workload(key: str, steps: int, ref_steps: int) -> dict:
    spec = WORKLOADS[key]
    log.info("%s: %d steps (reference %d steps)", spec["title"], steps, ref_steps)
    cosim = probe_child(str(spec["scenario"]),
                        [*spec.get("overrides", []), f"start={spec['start']}", f"duration={_duration(steps)}"])
    ref = reference_child(spec["grid"], spec["start"], ref_steps)
    cmp = compare(cosim, ref, steps)
    log.info("    ratio cosim/pandapower: per step %.3f, total %.3f", cmp["ratio_per_step"], cmp["ratio_total"])
    return {"title": spec["title"], "grid": spec["grid"], "start": spec["start"], "steps": steps,
            "cosim": cosim, "reference": ref, "compare": cmp, "targets": targets(spec, cosim, cmp)}


def run_micro() -> dict:
    """(c): each per-package microbenchmark script, stdout kept verbatim."""
    out = {}
    for script in MICRO:
        path = HERE / script
        if not path.exists():
            continue
        log.info("(c) %s", script)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run([sys.executable, str(path)], cwd=ROOT, capture_output=True, text=True,
                                  timeout=MICRO_TIMEOUT_S, env={**os.environ, "PYTHONWARNINGS": "ignore"})
            rc, text = proc.returncode, proc.stdout.strip()
            if rc != 0:
                text += "\n" + "\n".join(proc.stderr.strip().splitlines()[-5:])
        except subprocess.TimeoutExpired:
            rc, text = -1, f"timed out after {MICRO_TIMEOUT_S} s"
        out[script] = {"exit_code": rc, "wall_s": time.perf_counter() - t0, "stdout": text}
    return out


def run_startup(repeat: int) -> dict:
    """(e): cold vs warm grid cache and whole-process start times, in a child."""
    log.info("(e) start-up: grid cache cold/warm, cosim --help / grids / run vs bare imports")
    rec = _child([str(HERE / "bench_startup.py"), "--repeat", str(repeat)], timeout_s=3600)
    for code, g in rec["grid_load"].items():
        log.info("    %s: cold %.2f s, warm %.2f s (%.1fx)", code, g["cold_s"], g["warm_s"], g["cold_over_warm"])
    p = rec["process"]
    log.info("    default run %.2f s = %.2fx bare imports (%.2f s)", p["run_default"], p["run_default_over_bare"],
             p["bare_imports"])
    return rec


def run_scaling(steps: int, reuse: dict[str, dict]) -> dict:
    """The scaling curve; a grid whose probe record is in ``reuse`` is not run again."""
    points = []
    for code in scaling.GRIDS:
        rec = reuse.get(code)
        if rec is None or rec["steps"] != steps:
            log.info("scaling: %s", code)
            rec = probe_child(str(scaling.SCENARIO), scaling.overrides(code, steps))
        points.append(scaling.point_from_probe(rec))
    scaling.plot(points, SCALING_PNG)
    return {"steps": steps, "points": points,
            "fit_households": scaling.fit(points, "households"), "fit_buses": scaling.fit(points, "n_bus")}


# -------------------------------------------------------------- environment
def machine() -> dict:
    """Machine, software versions and the state of the repository."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines()
                      if l.startswith("MemTotal"))
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    versions = {}
    for pkg in ("mosaik", "mosaik-api-v3", "pandapower", "simbench", "lightsim2grid", "numpy", "pandas",
                "scipy", "numba", "h5py", "highspy"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "not installed"

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""

    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(mem_kb / 2**20, 1),
        "os": platform.platform(), "python": platform.python_version(), "versions": versions,
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty_files": len([l for l in git("status", "--porcelain", "--untracked-files=no").splitlines() if l]),
        "loadavg_start": os.getloadavg(),
    }


# -------------------------------------------------------------------- check
def run_check(repeat: int) -> dict[str, dict]:
    """Short (a) and (b) with references on the same steps; fastest of ``repeat``."""
    res = {}
    for key, spec in WORKLOADS.items():
        n = spec["check_steps"]
        runs = [run_workload(key, n, n) for _ in range(repeat)]
        cosim = min((r["cosim"] for r in runs), key=lambda c: c["ms_per_step"])
        ref = min((r["reference"] for r in runs), key=lambda c: c["ms_per_step"])
        res[key] = {"steps": n, "cosim_ms_per_step": cosim["ms_per_step"],
                    "reference_ms_per_step": ref["ms_per_step"],
                    "ratio_per_step": cosim["ms_per_step"] / ref["ms_per_step"]}
    return res


def judge(current: dict[str, dict], baseline: dict[str, float], tolerance: float) -> tuple[bool, list[str]]:
    """Compare per-step ratios with the recorded ones; (ok, table lines)."""
    ok = True
    lines = [f"{'workload':<9}{'steps':>6}{'cosim ms':>10}{'pp ms':>9}{'ratio':>8}{'baseline':>10}"
             f"{'limit':>8}  verdict"]
    for key, cur in current.items():
        base = baseline.get(key)
        limit = None if base is None else tolerance * base
        bad = limit is not None and cur["ratio_per_step"] > limit
        ok &= not bad
        verdict = "no baseline" if base is None else ("REGRESSION" if bad else "ok")
        lines.append(f"{key:<9}{cur['steps']:>6}{cur['cosim_ms_per_step']:>10.2f}"
                     f"{cur['reference_ms_per_step']:>9.2f}{cur['ratio_per_step']:>8.3f}"
                     f"{'-' if base is None else f'{base:.3f}':>10}{'-' if limit is None else f'{limit:.3f}':>8}"
                     f"  {verdict}")
    return ok, lines


def check_main(args) -> int:
    cur = run_check(args.repeat)
    if args.write_baseline:
        rec = {"ratios_per_step": {k: v["ratio_per_step"] for k, v in cur.items()},
               "measured": cur, "machine": machine(),
               "note": "per-step ratio cosim / pandapower run_timeseries on the same grid and steps "
                       "(fastest of the repeats); make bench-check fails above tolerance x these"}
        BASELINE.write_text(json.dumps(rec, indent=2) + "\n")
        log.info("wrote %s", BASELINE.name)
    if not BASELINE.exists():
        log.error("no %s: record one with --check --write-baseline", BASELINE.name)
        return 1
    base = json.loads(BASELINE.read_text())["ratios_per_step"]
    ok, lines = judge(cur, base, args.tolerance)
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.write(("bench-check passed" if ok else
                      f"bench-check FAILED: a per-step ratio is more than {args.tolerance}x its baseline")
                     + f" (tolerance {args.tolerance}x)\n")
    return 0 if ok else 1


# --------------------------------------------------------------------- main
def bench_main(args) -> int:
    from benchmarks import report

    t_all = time.perf_counter()
    res = {"machine": machine(), "mode": "full" if args.full else "default", "workloads": {}}
    a_steps = WORKLOADS["a"]["steps"]
    a_ref = a_steps if args.full else args.ref_days * STEPS_PER_DAY
    res["workloads"]["a"] = run_workload("a", a_steps, a_ref)
    b_steps = WORKLOADS["b"]["steps"]
    res["workloads"]["b"] = run_workload("b", b_steps, b_steps)
    for key in ("d", "m", "u"):
        n = WORKLOADS[key]["steps"]
        res["workloads"][key] = run_workload(key, n, n)
    if not args.skip_startup:
        try:  # a failing part must not lose the workloads measured so far
            res["startup"] = run_startup(args.startup_repeat)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            log.error("(e) start-up failed: %s", exc)
            res.setdefault("errors", {})["startup"] = str(exc)
    if not args.skip_micro:
        res["micro"] = run_micro()
    b_rec = res["workloads"]["b"]["cosim"]
    res["scaling"] = run_scaling(args.scaling_steps, {WORKLOADS["b"]["grid"]: b_rec})
    if args.profile_top:
        res["profiles"] = {}
        for key, n in (("a", 2 * STEPS_PER_DAY), ("b", 8)):
            spec = WORKLOADS[key]
            log.info("cProfile %s, %d steps", key, n)
            res["profiles"][key] = probe_child(
                str(spec["scenario"]), [f"start={spec['start']}", f"duration={_duration(n)}"],
                cprofile_top=args.profile_top)
    res["machine"]["loadavg_end"] = os.getloadavg()
    res["harness_wall_s"] = time.perf_counter() - t_all
    RESULTS_JSON.write_text(json.dumps(res, indent=2) + "\n")
    report.write_results_md(res, RESULTS_MD, START_MARK, END_MARK)
    log.info("wrote %s, %s, %s in %.0f s", *(p.name for p in (RESULTS_JSON, RESULTS_MD, SCALING_PNG)),
             res["harness_wall_s"])
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="short (a) and (b) against the recorded ratios")
    ap.add_argument("--write-baseline", action="store_true", help="with --check: record the ratios first")
    ap.add_argument("--tolerance", type=float, default=1.5, help="with --check: allowed ratio growth [x]")
    ap.add_argument("--repeat", type=int, default=2, help="with --check: runs per workload (fastest kept)")
    ap.add_argument("--full", action="store_true", help="reference (a) on the whole year, not per step")
    ap.add_argument("--ref-days", type=int, default=14, help="days of the (a) reference (default run)")
    ap.add_argument("--scaling-steps", type=int, default=STEPS_PER_DAY, help="steps per scaling grid")
    ap.add_argument("--skip-micro", action="store_true", help="leave out (c)")
    ap.add_argument("--skip-startup", action="store_true", help="leave out (e)")
    ap.add_argument("--startup-repeat", type=int, default=2, help="runs per start-up figure (fastest kept)")
    ap.add_argument("--profile-top", type=int, default=15, help="cProfile top-N functions (0: no profile)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.write_baseline and not args.check:
        ap.error("--write-baseline goes with --check")
    return check_main(args) if args.check else bench_main(args)


if __name__ == "__main__":
    sys.exit(main())
