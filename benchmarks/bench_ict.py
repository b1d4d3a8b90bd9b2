"""ICT benchmark: 9,000 households send one order each at gate closure.

Measures the adapter step (model + scheduling + output split) for one batch of
9,000 messages, for an ideal, an LTE/fibre mix and an all-nb_plc network
(shared medium: 9,000 messages queue on ~180 feeders), and the pure model
call alone. Prints medians over repeated runs; the target is <= 20 ms per step.
"""

from __future__ import annotations

import time

import numpy as np

from simulators.common.messages import MARKET, Kind, empty
from simulators.ict.model import IctNetwork
from simulators.ict.mosaik import IctSim

N = 9000
REPEAT = 30


def _batch(t_ms: int) -> np.ndarray:
    m = empty(N)
    m["msg_id"] = np.arange(N) + t_ms * N
    m["sender"] = np.arange(N)
    m["receiver"] = MARKET
    m["kind"] = Kind.BID
    m["send_ms"] = t_ms
    return m


def bench(name: str, cfg: dict) -> None:
    feeder = np.arange(N) // 50  # 50 households per LV feeder
    sim = IctSim()
    sim.init("Ict-0", time_resolution=0.001, config=cfg, step_s=900, n_steps=REPEAT + 2, seed=1,
             households={"bus": np.arange(N), "feeder": feeder})
    sim.create(1, "Network")
    step_ms, model_ms = [], []
    net = IctNetwork(cfg, feeder, 2, (REPEAT + 2) * 900e3)
    for k in range(REPEAT):
        t = k * 900_000
        b = _batch(t)
        t0 = time.perf_counter()
        sim.step(t, {"Network": {"messages_in": {"hh": b}}})
        sim.get_data({"Network": ["to_market", "events_messages", "sent", "latency_ms_p95"]})
        step_ms.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        net.transmit(b)
        model_ms.append((time.perf_counter() - t0) * 1e3)
        # drain pending deliveries so the next batch starts from the same state
        while (nxt := sim.step(t, {})) is not None and nxt < t + 900_000:
            t = nxt
            sim.get_data({"Network": ["to_market", "events_messages"]})
    print(f"{name:>10}: adapter step (9,000 msgs in) median {np.median(step_ms):6.2f} ms, "
          f"p90 {np.percentile(step_ms, 90):6.2f} ms | model.transmit median {np.median(model_ms):6.2f} ms")


def main() -> None:
    print(f"ICT benchmark: {N} messages per batch, {REPEAT} repetitions, target <= 20 ms")
    bench("ideal", {"technologies": {"ideal": 1.0}})
    bench("fiber+lte", {"technologies": {"fiber": 0.3, "lte": 0.7}})
    bench("nb_plc", {"technologies": {"nb_plc": 1.0}})
    bench("5-mix", {"technologies": {"fiber": 0.2, "dsl": 0.2, "lte": 0.2, "5g": 0.2, "rf_mesh": 0.2},
                    "outages": [{"feeders": [1, 2, 3], "start_s": 0, "end_s": 1e6}],
                    "dos": [{"endpoint": "market", "start_s": 0, "end_s": 1e6, "extra_latency_ms": 50}]})


if __name__ == "__main__":
    main()
