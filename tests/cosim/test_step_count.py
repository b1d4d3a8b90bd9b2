"""How often mosaik steps each simulator per market interval in the full stack.

Counted by wrapping each adapter's ``step`` (mosaik calls it once per
simulator step), not by timing. The configuration is the full LV stack of
the speed issue: households with every device and the market HEMS,
pay-as-clear with the DSO's AC check, ICT half LTE / half fibre, the
coordinator's ``common`` scheme, everything recorded.
"""

from __future__ import annotations

import collections
import importlib

from benchmarks.probe import ADAPTERS
from cosim.config import load_scenario
from cosim.world import run_scenario

FULL_LV = [
    "households.policy=market",
    "households.pv={share: 0.8, kwp: {dist: uniform, low: 5, high: 10}, sgen_mode: absorb}",
    "households.battery={share: 0.6}",
    "households.ev={share: 0.5, mode: smart}",
    "households.heat_pump={share: 0.5}",
    "market.mechanism=pay_as_clear",
    "market.dso_check=ac_check",
    "ict.technologies={lte: 0.5, fiber: 0.5}",
    "coordinator.scheme=common",
    "duration=2h",
]


def _count_steps(monkeypatch, tmp_path, overrides):
    steps: list[tuple[str, int]] = []
    for name, target in ADAPTERS.items():
        module, cls_name = target.split(":")
        cls = getattr(importlib.import_module(module), cls_name)

        def counted(self, time, inputs, max_advance=None, _orig=cls.step, _name=name):
            steps.append((_name, int(time)))
            return _orig(self, time, inputs, max_advance)

        monkeypatch.setattr(cls, "step", counted)
    sc, text = load_scenario(None, overrides)
    run_scenario(sc, text, tmp_path / "steps.h5")
    return sc, steps


def test_full_stack_steps_per_interval(monkeypatch, tmp_path):
    sc, steps = _count_steps(monkeypatch, tmp_path, FULL_LV)
    tick = int(round(sc.step_s * 1000))  # 1 tick = 1 ms
    # intervals 1 .. n-2: interval 0 has the start-up steps every simulator takes at
    # t=0, and the coordinator acts in interval k-1 for interval k (none in the last)
    inner = [(n, t) for n, t in steps if tick <= t < (sc.n_steps - 1) * tick]
    per = {k: v / (sc.n_steps - 2) for k, v in collections.Counter(n for n, _ in inner).items()}
    # each decision-making simulator once per interval, the recorder once (series only;
    # events no longer wake it)
    for name in ("household", "grid", "market", "coordinator", "recorder"):
        assert per[name] == 1.0, (name, per)
    assert all(t % tick == 0 for n, t in inner if n == "recorder")
    # the ICT: on receipt of the orders and of the results, and one tick before each
    # receiver's decision point (households, market) -> 4
    assert per["ict"] <= 4.0, per
    assert sum(per.values()) <= 9.0, per
