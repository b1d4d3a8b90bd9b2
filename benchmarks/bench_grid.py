"""Grid-only co-simulation vs pandapower's own time series, in one process.

(a) ``cosim`` run of a grid-only scenario (mosaik + grid simulator + HDF5
    recorder) on 1-LV-rural1--0-sw;
(b) ``pandapower.timeseries.run_timeseries`` with ``ConstControl`` on the same
    net, the same SimBench absolute profiles and the same steps (numba on,
    pandapower's recycle path is taken automatically by run_timeseries).

Both exclude building the SimBench net (cached before timing) and both
include their own set-up (controllers / simulators). Reported: wall time of
each, per-step cost and the ratio (a)/(b); median over ``--repeat`` runs.

Usage: ``python benchmarks/bench_grid.py [--days 7] [--repeat 3] [--json OUT]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")

CODE = "1-LV-rural1--0-sw"
START = "2016-01-04T00:00:00"


def time_cosim(days: int, code: str = CODE) -> float:
    from cosim.config import load_scenario
    from cosim.world import run_scenario

    sc, text = load_scenario(None, [f"grid.simbench={code}", f"start={START}", f"duration={days}d",
                                    "output.chunk_steps=1024"])
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        run_scenario(sc, text, Path(d) / "bench.h5")
        return time.perf_counter() - t0


def time_pandapower(days: int, code: str = CODE) -> float:
    import pandapower.control as control
    import pandapower.timeseries as ts
    import simbench as sb

    from simulators.common.netdata import load_net, profile_row

    net = load_net({"simbench": code})
    n = days * 96
    r0 = profile_row(START)
    t0 = time.perf_counter()
    prof = sb.get_absolute_values(net, profiles_instead_of_study_cases=True)
    for (el, col), df in prof.items():
        if el not in ("load", "sgen", "storage") or df.shape[1] == 0 or not len(net[el]):
            continue
        data = ts.DFData(df.iloc[r0:r0 + n].reset_index(drop=True))
        control.ConstControl(net, element=el, variable=col, element_index=net[el].index,
                             data_source=data, profile_name=net[el].index)
    ts.OutputWriter(net, output_path=None, log_variables=[
        ("res_bus", "vm_pu"), ("res_line", "loading_percent"), ("res_trafo", "loading_percent"),
        ("res_ext_grid", "p_mw")])
    ts.run_timeseries(net, time_steps=range(n), verbose=False, numba=True)
    return time.perf_counter() - t0


def run(days: int = 7, repeat: int = 3, code: str = CODE) -> dict:
    from simulators.common.netdata import load_net

    load_net({"simbench": code})  # build the SimBench net once, outside the timings
    time_pandapower(1, code)  # numba JIT warm-up, outside the timings
    a, b = [], []
    for _ in range(repeat):
        a.append(time_cosim(days, code))
        b.append(time_pandapower(days, code))
    steps = days * 96
    ma, mb = statistics.median(a), statistics.median(b)
    return {
        "grid": code, "steps": steps, "repeat": repeat,
        "cosim_s": ma, "pandapower_s": mb,
        "cosim_ms_per_step": 1e3 * ma / steps, "pandapower_ms_per_step": 1e3 * mb / steps,
        "ratio_cosim_to_pandapower": ma / mb,
        "all_cosim_s": a, "all_pandapower_s": b,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--grid", default=CODE)
    p.add_argument("--json")
    args = p.parse_args()
    r = run(args.days, args.repeat, args.grid)
    print(f"{r['grid']}, {r['steps']} steps, median of {r['repeat']}:")
    print(f"  (a) cosim run (mosaik + grid + HDF5): {r['cosim_s']:.2f} s = {r['cosim_ms_per_step']:.3f} ms/step")
    print(f"  (b) pandapower run_timeseries:        {r['pandapower_s']:.2f} s = {r['pandapower_ms_per_step']:.3f} ms/step")
    print(f"  ratio (a)/(b) = {r['ratio_cosim_to_pandapower']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
