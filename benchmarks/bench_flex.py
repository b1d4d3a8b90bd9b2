"""Benchmark: LFM clearing (50 profiles) and DLMP clearing (1,000 orders, MV grid).

Prints the median wall time of each over repeated runs; targets from the issue:
LFM with 50 aggregator profiles <= 1 s, DLMP on 1-MV-semiurb--0-sw with 1,000
orders <= 1 s per interval. Run: ``python benchmarks/bench_flex.py``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import simbench

from simulators.common.messages import empty
from simulators.market import lfm
from simulators.market.dlmp import DlmpLimits, clear_dlmp
from simulators.common.network.linear import linearize

REPEAT = 7


def median_s(fn) -> float:
    times = []
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(0)
    net = simbench.get_simbench_net("1-MV-semiurb--0-sw")
    t0 = time.perf_counter()
    lin = linearize(net)
    t_lin = time.perf_counter() - t0
    t_lin2 = median_s(lambda: linearize(net))
    print(f"linearize 1-MV-semiurb--0-sw ({lin.n_bus} buses): first {t_lin:.3f} s, "
          f"median {t_lin2:.3f} s")

    orders = empty(1000)
    orders["side"] = rng.choice([1, -1], 1000)
    orders["bus"] = rng.choice(lin.bus_index, 1000)
    orders["quantity_mwh"] = rng.uniform(0.001, 0.05, 1000)
    orders["price_eur_per_mwh"] = rng.uniform(40, 350, 1000)
    lim_tight = DlmpLimits(max_loading_percent=40.0, ac_check=False)
    for name, lim in [("dlmp 1000 orders, no AC check", DlmpLimits(ac_check=False)),
                      ("dlmp 1000 orders, 40 % loading limit", lim_tight),
                      ("dlmp 1000 orders, with AC check", DlmpLimits())]:
        res = clear_dlmp(orders, lin, lim)
        t = median_s(lambda: clear_dlmp(orders, lin, lim))
        print(f"{name}: median {t * 1e3:.1f} ms (status {res.status}, "
              f"max congestion {np.nanmax(np.abs(res.congestion_eur_per_mwh)):.2f} EUR/MWh, "
              f"AC error {res.max_dvm_pu:.2e} pu / {res.max_dloading_percent:.2f} %)")

    # LFM: 4 intervals, needs from a forecast that overloads feeders
    n_t = 4
    dp = np.zeros((n_t, lin.n_bus))
    dp[:, lin.area == 1] = rng.uniform(0.3, 0.6, (n_t, 1))
    dp[:, lin.area == 2] = rng.uniform(0.3, 0.6, (n_t, 1))
    fc = lfm.forecast_grid(lin, dp)
    reqs = lfm.detect_needs(fc, lfm.LfmLimits(max_loading_percent=60.0), lin)
    n_p = 50
    prod = rng.integers(0, 3, n_p)
    up = rng.uniform(0, 0.8, (n_p, n_t))
    dn = rng.uniform(0, 0.5, (n_p, n_t))
    prof = lfm.FlexProfiles(rng.choice(lin.bus_index[lin.area > 0], n_p), np.zeros(n_p, int),
                            prod, up, np.where((prod == lfm.CRP2)[:, None], dn, 0.0),
                            rng.uniform(50, 400, n_p), np.where(prod == 0, 0, 20.0),
                            np.full(n_p, -1))
    for obj in ("welfare", "dso_cost_min"):
        res = lfm.clear_lfm(reqs, prof, lin, objective=obj)
        t = median_s(lambda: lfm.clear_lfm(reqs, prof, lin, objective=obj))
        print(f"lfm {obj}: {len(reqs)} requests x {n_t} intervals, {n_p} profiles: median "
              f"{t * 1e3:.1f} ms (status {res.status}, accepted {int(res.accepted.sum())}, "
              f"met {int(res.request_met.sum())})")


if __name__ == "__main__":
    main()
