"""Step time of the household model for 100, 1,000 and 9,000 homes.

All devices on (PV 0.6, battery 0.4, EV 0.4, heat pump 0.4) and HEMS
``self_consumption``; the district net ``1-MVLV-semiurb-all-0-sw`` (8,767 LV
loads) is the "9,000" case, its first 100 / 1,000 LV loads the smaller ones.
Prints the median step time and its ratio to the 5 ms target.
"""

from __future__ import annotations

import argparse
import statistics
import time

from simulators.common.netdata import load_net
from simulators.household import HouseholdModel, HouseholdsConfig

#: every LV load a home (``include``), so the 9,000 case keeps its 8,767 homes as recorded
CFG = {"policy": "self_consumption", "pv": {"share": 0.6}, "battery": {"share": 0.4},
       "ev": {"share": 0.4, "mode": "smart"}, "heat_pump": {"share": 0.4},
       "include": ["household", "commercial", "agricultural"]}


def _subnet(net, n):
    lv = net.bus.vn_kv.reindex(net.load.bus).to_numpy() < 1
    keep = net.load.index[lv][:n]
    sub = net.deepcopy() if hasattr(net, "deepcopy") else net
    sub.load = net.load.loc[keep]
    return sub


def bench(n_homes: int, steps: int, policy: str) -> tuple[int, float, float]:
    net = _subnet(load_net({"simbench": "1-MVLV-semiurb-all-0-sw"}), n_homes)
    cfg = HouseholdsConfig.model_validate(dict(CFG, policy=policy))
    t0 = time.perf_counter()
    m = HouseholdModel(net, cfg, "2016-01-11T00:00:00", 900, steps, seed=1)
    t_init = time.perf_counter() - t0
    times = []
    for k in range(steps):
        t = time.perf_counter()
        m.step(k)
        times.append(time.perf_counter() - t)
    return m.pop.n, statistics.median(times) * 1e3, t_init


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--steps", type=int, default=96)
    ap.add_argument("--policy", default="self_consumption")
    args = ap.parse_args()
    print(f"{'homes':>6} {'median step [ms]':>17} {'vs 5 ms':>8} {'init [s]':>9}")
    for n in (100, 1000, 9000):
        homes, med, init = bench(n, args.steps, args.policy)
        print(f"{homes:>6} {med:>17.3f} {med / 5.0:>8.2f} {init:>9.2f}")


if __name__ == "__main__":
    main()
