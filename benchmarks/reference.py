"""The reference of the speed targets: pandapower's own grid-only time series.

``pandapower.timeseries.run_timeseries`` with one ``ConstControl`` per
(element, column) that the grid simulator drives from SimBench profiles
(load p/q, sgen p, storage p), on the same net and the same 15-min rows,
numba on (pandapower then takes its recycle path by itself). An
``OutputWriter`` logs bus voltages, line/trafo loadings and the slack power,
the grid results a study needs.

The profiles come from :func:`simulators.common.netdata.element_profiles`
(``values(rows)``): the same numbers as ``simbench.get_absolute_values``,
without materialising the whole-year matrix (35,136 rows x 8,772 loads on the
district grid) that simbench would build first.

Timings, each reported separately:

* ``load_s``: building the SimBench net (``simbench.get_simbench_net``);
* ``warmup_s``: a 4-step run on a copy of the net (numba JIT compilation),
  kept out of the per-step cost because it is paid once per process;
* ``setup_s``: profiles, controllers and output writer;
* ``run_s``: ``run_timeseries`` itself; ``ms_per_step = run_s / steps``.

Usage::

    python benchmarks/reference.py CODE START STEPS [--json OUT]
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: (element, column) pairs driven by profiles: the same as the grid simulator's.
PROFILED = (("load", "p_mw"), ("load", "q_mvar"), ("sgen", "p_mw"), ("storage", "p_mw"))
LOGGED = (("res_bus", "vm_pu"), ("res_line", "loading_percent"), ("res_trafo", "loading_percent"),
          ("res_ext_grid", "p_mw"))
WARMUP_STEPS = 4


def _prepare(net, row0: int, steps: int) -> None:
    """Attach ConstControllers with the absolute profiles of rows [row0, row0+steps)."""
    import pandas as pd
    import pandapower.control as control
    import pandapower.timeseries as ts

    from simulators.common.netdata import element_profiles

    rows = slice(row0, row0 + steps)
    for el, col in PROFILED:
        if not len(net[el]):
            continue
        prof = element_profiles(net, el, col)
        df = pd.DataFrame(prof.values(rows), columns=prof.element_index)
        control.ConstControl(net, element=el, variable=col, element_index=prof.element_index,
                             data_source=ts.DFData(df), profile_name=prof.element_index)
    ts.OutputWriter(net, output_path=None, log_variables=list(LOGGED))


def run(code: str, start: str, steps: int) -> dict:
    """Time pandapower's time series on ``code`` for ``steps`` 15-min rows from ``start``."""
    import pandapower.timeseries as ts
    import simbench

    from simulators.common.netdata import profile_row

    from benchmarks.probe import peak_rss_mb

    row0 = profile_row(start)
    t0 = time.perf_counter()
    net = simbench.get_simbench_net(code)
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    warm = copy.deepcopy(net)
    _prepare(warm, row0, WARMUP_STEPS)
    ts.run_timeseries(warm, time_steps=range(WARMUP_STEPS), verbose=False, numba=True)
    del warm
    warmup_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    _prepare(net, row0, steps)
    setup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ts.run_timeseries(net, time_steps=range(steps), verbose=False, numba=True)
    run_s = time.perf_counter() - t0
    return {
        "grid": code, "start": start, "steps": steps,
        "load_s": load_s, "warmup_s": warmup_s, "setup_s": setup_s, "run_s": run_s,
        "total_s": load_s + warmup_s + setup_s + run_s,
        "ms_per_step": 1e3 * run_s / steps,
        "n_bus": len(net.bus), "n_load": len(net.load), "n_sgen": len(net.sgen),
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("code")
    ap.add_argument("start")
    ap.add_argument("steps", type=int)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("pandapower").setLevel(logging.ERROR)
    text = json.dumps(run(args.code, args.start, args.steps), indent=2)
    if args.json:
        Path(args.json).write_text(text)
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
