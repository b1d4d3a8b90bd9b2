"""Market benchmark: clearing 9,000 orders per interval and ac_check on the LV grid.

Prints medians over repeated runs, measured in one process. Reference for the
AC check: one ``pandapower.runpp`` of the same schedule.
Run: ``python benchmarks/bench_market.py``.
"""

from __future__ import annotations

import copy
import statistics
import time

import numpy as np


def _median_ms(fn, repeat: int = 15) -> float:
    fn()  # warm-up
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


def bench_clearing(n: int = 9000, seed: int = 0) -> dict[str, float]:
    from simulators.market import MECHANISMS, ClearingContext, make_orders

    rng = np.random.default_rng(seed)
    o = make_orders(rng.integers(0, n // 2, n), rng.choice([1, -1], n), rng.uniform(0, 0.002, n),
                    rng.uniform(50, 450, n), bus=rng.integers(0, 100, n), send_ms=rng.integers(0, 60_000, n))
    ctx = ClearingContext()
    return {m: _median_ms(lambda m=m: MECHANISMS[m](o, ctx)) for m in MECHANISMS}


def bench_ac_check(code: str = "1-LV-rural1--0-sw") -> dict[str, float]:
    import pandapower as pp
    import simbench

    from simulators.market import make_orders
    from simulators.market.dso import DsoValidator
    from simulators.market.execution import Execution
    from simulators.market.mechanisms import clear

    net = simbench.get_simbench_net(code)
    v = DsoValidator(net)
    rng = np.random.default_rng(1)
    buses = net.load.bus.values
    n = len(buses)
    # every household sells and buys 0-50 kWh per 15 min (0-200 kW): a stress case that needs curtailment
    o = make_orders(np.r_[np.arange(n), np.arange(n)], np.r_[-np.ones(n), np.ones(n)],
                    np.r_[rng.uniform(0, 0.05, n), rng.uniform(0, 0.05, n)],
                    np.r_[rng.uniform(50, 100, n), rng.uniform(150, 300, n)], bus=np.r_[buses, rng.permutation(buses)])
    trades = clear(o, "pay_as_clear").trades
    base = np.zeros(len(net.bus))

    def fresh():
        return Execution.from_clearing(o, trades, 400.0, 82.0)

    res = v.ac_check(fresh(), base, 0.25)
    out = {
        "ac_check_ms": _median_ms(lambda: v.ac_check(fresh(), base, 0.25)),
        "ac_check_iterations": float(res.iterations),
        "ac_check_curtailed_trades": float((res.trades["curtailed_mwh"] > 0).sum()),
        "ac_solve_ms": _median_ms(lambda: v.model.solve_bus(v.state_p_mw(fresh(), base, 0.25))),
    }
    ref = copy.deepcopy(v.model.net)
    pp.create_loads(ref, ref.bus.index.values, p_mw=v.state_p_mw(fresh(), base, 0.25))
    out["pandapower_runpp_ms"] = _median_ms(lambda: pp.runpp(ref), repeat=7)
    return out


def main() -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.WARNING)
    c = bench_clearing()
    a = bench_ac_check()
    lines = ["market benchmark (medians)", "clearing 9,000 orders:"]
    lines += [f"  {m:<14} {ms:8.2f} ms" for m, ms in c.items()]
    lines += ["ac_check on 1-LV-rural1--0-sw:"] + [f"  {k:<26} {val:8.2f}" for k, val in a.items()]
    lines.append(f"  ratio one pp.runpp / one lean solve: {a['pandapower_runpp_ms'] / a['ac_solve_ms']:.1f}x")
    import sys

    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
