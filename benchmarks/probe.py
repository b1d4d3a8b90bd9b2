"""Per-simulator step-time probe for one ``cosim`` run.

Wraps ``step`` and ``get_data`` of every adapter class the orchestrator starts
(grid, household, ICT, market, coordinator, recorder) with
``time.perf_counter`` and runs the scenario in this process. What the adapters
do not account for is mosaik's own scheduling (plus the progress callback and
the data hand-over between simulators): ``mosaik_ms_per_step``. The wrappers
cost two ``perf_counter`` calls per adapter call (~0.1 us), far below the
resolution that matters here.

Peak RSS is this process's ``ru_maxrss`` at the end of the run, so one run per
process gives the peak of that workload (``benchmarks/run_all.py`` starts one
child per workload for this reason).

Usage::

    python benchmarks/probe.py SCENARIO.yaml [--set key=value ...] [--json OUT]
"""

from __future__ import annotations

import argparse
import collections
import importlib
import json
import logging
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = str(Path(__file__).resolve().parents[1]) + "/"
sys.path.insert(0, REPO)

log = logging.getLogger(__name__)

#: Simulator name in the results -> adapter class (module:Class), as started by cosim.world.
ADAPTERS = {
    "grid": "simulators.grid.mosaik:GridSim",
    "household": "simulators.household.mosaik:HouseholdSim",
    "ict": "simulators.ict.mosaik:IctSim",
    "market": "simulators.market.mosaik:MarketSim",
    "coordinator": "simulators.coordinator.mosaik:CoordinatorSim",
    "ledger": "simulators.ledger.mosaik:LedgerSim",
    "recorder": "cosim.recorder:RecorderSim",
}
METHODS = ("step", "get_data")


class Probe:
    """Accumulated wall time [s] and call count per (simulator, method).

    Use as a context manager: the adapter classes are wrapped on entry and
    restored on exit.
    """

    def __init__(self, adapters: dict[str, str] | None = None, on_first_step=None) -> None:
        self.adapters = dict(ADAPTERS if adapters is None else adapters)
        self.on_first_step = on_first_step  # called once, before the first adapter step
        self.clock_key = ("grid", "step")  # steps once per interval: its start times give a timeline
        self.marks: list[float] = []
        self.time_s: dict[tuple[str, str], float] = collections.defaultdict(float)
        self.calls: collections.Counter = collections.Counter()
        self._originals: list[tuple[type, str, object]] = []

    def __enter__(self) -> "Probe":
        for name, target in self.adapters.items():
            module, cls_name = target.split(":")
            cls = getattr(importlib.import_module(module), cls_name)
            for meth in METHODS:
                orig = cls.__dict__.get(meth) or getattr(cls, meth)
                self._originals.append((cls, meth, cls.__dict__.get(meth)))
                setattr(cls, meth, self._wrap(orig, (name, meth)))
        return self

    def __exit__(self, *exc) -> None:
        for cls, meth, orig in reversed(self._originals):
            if orig is None:
                delattr(cls, meth)
            else:
                setattr(cls, meth, orig)
        self._originals.clear()

    def _wrap(self, func, key: tuple[str, str]):
        time_s, calls, clock = self.time_s, self.calls, time.perf_counter

        def wrapped(*args, **kwargs):
            if self.on_first_step is not None and key[1] == "step":
                hook, self.on_first_step = self.on_first_step, None
                hook()
            t0 = clock()
            if key == self.clock_key:
                self.marks.append(t0)
            try:
                return func(*args, **kwargs)
            finally:
                time_s[key] += clock() - t0
                calls[key] += 1

        wrapped.__wrapped__ = func
        return wrapped

    def per_simulator(self, steps: int) -> dict[str, dict]:
        """Per simulator: total [s], calls of ``step``, ms per scenario step."""
        out = {}
        for name in self.adapters:
            total = sum(self.time_s.get((name, m), 0.0) for m in METHODS)
            n_calls = self.calls.get((name, "step"), 0)
            if n_calls == 0 and total == 0.0:
                continue
            out[name] = {
                "total_s": total,
                "step_calls": n_calls,
                "ms_per_step": 1e3 * total / steps if steps else float("nan"),
                "ms_per_call": 1e3 * total / n_calls if n_calls else float("nan"),
            }
        return out


def summarise(probe: Probe, steps: int, wall_s: float, setup_s: float) -> dict:
    """Result record of one probed run (pure: used by the harness and its test)."""
    run_s = wall_s - setup_s
    sims = probe.per_simulator(steps)
    adapters_s = sum(v["total_s"] for v in sims.values())
    sim_calls = sum(v["step_calls"] for v in sims.values())
    mosaik_s = max(run_s - adapters_s, 0.0)
    return {
        "steps": steps,
        "wall_time_s": wall_s,
        "setup_s": setup_s,
        "run_s": run_s,
        "ms_per_step": 1e3 * run_s / steps if steps else float("nan"),
        "steps_per_s": steps / run_s if run_s > 0 else float("inf"),
        "simulators": sims,
        "adapters_ms_per_step": 1e3 * adapters_s / steps if steps else float("nan"),
        "mosaik_ms_per_step": 1e3 * mosaik_s / steps if steps else float("nan"),
        "simulator_steps_per_step": sim_calls / steps if steps else float("nan"),
        "mosaik_ms_per_simulator_step": 1e3 * mosaik_s / sim_calls if sim_calls else float("nan"),
        "timeline": timeline(probe.marks),
    }


def timeline(marks: list[float], block: int = 672) -> dict:
    """Wall time per interval [ms] over the run, in blocks of ``block`` intervals (a week).

    Taken from the start times of the grid's steps (one per interval), so a cost
    that grows with the run's length shows as a rising series.
    """
    t = np.asarray(marks, dtype=float)
    if len(t) < 2:
        return {"block_steps": block, "ms_per_step": []}
    edges = np.arange(0, len(t), block)
    if edges[-1] != len(t) - 1:
        edges = np.append(edges, len(t) - 1)
    per = 1e3 * np.diff(t[edges]) / np.diff(edges)
    return {"block_steps": block, "ms_per_step": [round(float(x), 3) for x in per]}


def peak_rss_mb() -> float:
    """Peak resident set size of this process [MB] (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(scenario: str | None, overrides: list[str], out: str | Path | None = None,
        cprofile_top: int = 0) -> dict:
    """Run ``scenario`` with ``overrides`` under the probe; return :func:`summarise` + extras.

    With ``cprofile_top > 0`` the stepping phase (from the first adapter step
    on, set-up excluded) is also profiled with ``cProfile`` (which slows it
    down; use the times of such a run for shares only) and the record gets
    ``profile_top``: the functions with the largest own time.
    """
    import cProfile

    from cosim.config import load_scenario
    from cosim.world import run_scenario

    sc, text = load_scenario(scenario, list(overrides))
    prof = cProfile.Profile() if cprofile_top else None
    hook = None if prof is None else prof.enable
    with tempfile.TemporaryDirectory() as tmp, Probe(on_first_step=hook) as probe:
        path = Path(out) if out else Path(tmp) / "probe.h5"
        t0 = time.perf_counter()
        summary = run_scenario(sc, text, path)
        if prof is not None:
            prof.disable()
        outer_s = time.perf_counter() - t0
        size_mb = path.stat().st_size / 2**20 if path.exists() else float("nan")
    rec = summarise(probe, summary.steps, summary.wall_time_s, summary.setup_s)
    rec.update(scenario=scenario, overrides=list(overrides), status=summary.status,
               outer_wall_s=outer_s, h5_mb=size_mb, peak_rss_mb=peak_rss_mb())
    # the run's wall time stops before the result file is closed; closing writes the
    # last block of rows (compressed whole): the per-step cost with it included
    rec["close_s"] = max(outer_s - summary.wall_time_s, 0.0)
    rec["ms_per_step_incl_close"] = (1e3 * (outer_s - summary.setup_s) / summary.steps
                                     if summary.steps else float("nan"))
    rec.update(grid_sizes(sc))  # after the peak was read: the net is cached in-process
    if prof is not None:
        rec["profile_top"] = profile_top(prof, cprofile_top)
    return rec


def profile_top(prof, n: int) -> list[dict]:
    """The ``n`` functions with the largest own (tottime) time of a cProfile run."""
    import pstats

    stats = pstats.Stats(prof).stats
    rows = []
    for (file, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.items():
        where = file.replace(REPO, "")
        if "site-packages/" in where:
            where = where.split("site-packages/", 1)[1]
        elif "/lib/python" in where:  # the standard library: drop the interpreter's prefix
            where = where.split("/lib/", 1)[1]
        rows.append({"function": f"{where}:{line}({func})", "ncalls": ncalls,
                     "tottime_s": tottime, "cumtime_s": cumtime})
    rows.sort(key=lambda r: r["tottime_s"], reverse=True)
    return rows[:n]


def grid_sizes(sc) -> dict:
    """Buses, lines, loads and modelled households of the scenario's net.

    Households follow the household population rule: one per load at an LV
    bus (``vn_kv < 1``), or one aggregated household per load on a grid
    without LV loads; none when the scenario has no households section.
    """
    from simulators.common.netdata import load_net

    net = load_net(sc.grid.spec())
    lv = int((net.bus.vn_kv.reindex(net.load.bus).to_numpy() < 1.0).sum())
    households = 0 if sc.households is None else (lv or len(net.load))
    return {"grid": next(iter(sc.grid.spec().values())), "n_bus": len(net.bus),
            "n_line": len(net.line), "n_load": len(net.load), "households": households}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default=None)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--json", help="write the result record here (default: stdout)")
    ap.add_argument("--cprofile", type=int, default=0, metavar="N",
                    help="also profile with cProfile and keep the top N functions by own time")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    rec = run(args.scenario, args.set, cprofile_top=args.cprofile)
    text = json.dumps(rec, indent=2)
    if args.json:
        Path(args.json).write_text(text)
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
