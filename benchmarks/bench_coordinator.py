"""Coordinator speed: clearing time per interval and scheme on a SimBench MV+LV grid.

Prints the median wall time of one interval's clearing (linear DSO model,
schemes, messages) per scheme, and the ratio to ``centralized`` (plain merit
order, the cheapest reference), for a given number of flexibility offers.

    python benchmarks/bench_coordinator.py [n_offers] [grid]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from simulators.common import messages as msg
from simulators.common.netdata import load_net
from simulators.coordinator import SCHEMES, Coordinator, CoordinatorConfig


def main(n_offers: int = 2000, code: str = "1-MVLV-rural-all-0-sw", reps: int = 5) -> None:
    net = load_net({"simbench": code})
    t0 = time.perf_counter()
    cfg0 = CoordinatorConfig()
    c0 = Coordinator(cfg0, net, "2016-06-01T00:00:00", 900, reps + 2, 0)
    print(f"grid {code}: {len(net.bus)} buses, {c0.grid.n_area} areas; model build {time.perf_counter() - t0:.2f} s")
    rng = np.random.default_rng(0)
    lv = net.load.bus.to_numpy()
    res = {}
    for scheme in SCHEMES:
        cfg = CoordinatorConfig(scheme=scheme, tso={"area_share": 1.0, "system_sigma_mw": 0.5})
        c = Coordinator(cfg, net, "2016-06-01T00:00:00", 900, reps + 2, 0)
        times = []
        for k in range(1, reps + 1):
            m = msg.empty(n_offers)
            m["sender"] = np.arange(n_offers)
            m["msg_id"] = msg.make_ids(m["sender"], k)
            m["kind"] = msg.Kind.FLEX_OFFER
            m["bus"] = rng.choice(lv, n_offers)
            m["interval_s"] = k * 900
            m["quantity_mwh"] = rng.uniform(0, 0.003, n_offers) * 0.25
            m["quantity2_mwh"] = rng.uniform(0, 0.003, n_offers) * 0.25
            m["price_eur_per_mwh"] = rng.uniform(20, 140, n_offers).round()
            c.add_messages(m)
            t = time.perf_counter()
            out, s, _ = c.run_interval(k, k * 900_000 - 120_000)
            times.append(time.perf_counter() - t)
        res[scheme] = float(np.median(times))
        print(f"{scheme:17s} median {res[scheme] * 1e3:8.1f} ms/interval  "
              f"ratio to centralized {res[scheme] / res['centralized']:6.2f}  "
              f"(last: need {s['tso_need_mw']:+.3f} MW, met {s['tso_need_met_mw']:.3f} MW, "
              f"{len(out)} activations, caused violations {s['dso_violations']})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000, sys.argv[2] if len(sys.argv) > 2 else "1-MVLV-rural-all-0-sw")
