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

import mosaik_api_v3
import pytest

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


def _count_steps(monkeypatch, tmp_path, overrides, adapters=ADAPTERS):
    steps: list[tuple[str, int]] = []
    for name, target in adapters.items():
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
    # the ICT: on receipt of the orders (T_k) and of the results (gate closure) only; it
    # hands messages over at receipt into the receivers' inboxes, so no step before each
    # receiver's decision point (that took 2 more) -> 2
    assert per["ict"] == 2.0, per
    assert sum(per.values()) == 7.0, per


def test_ledger_gate_takes_a_second_market_step_at_the_same_instant(monkeypatch, tmp_path):
    """With ``market.ledger`` the market steps twice at a gate closure with trades (clear +
    submit; settle + publish, through the weak connection back from the ledger) and once at
    a gate without trades; the ledger steps once at every gate closure."""
    import h5py

    overrides = [*FULL_LV[:-1], "market.mechanism=p2p_cda", "market.ledger={preset: authority}",
                 "start=2016-06-06T10:00:00", "duration=2h"]
    sc, steps = _count_steps(monkeypatch, tmp_path, overrides,
                             {**ADAPTERS, "ledger": "simulators.ledger.mosaik:LedgerSim"})
    with h5py.File(tmp_path / "steps.h5") as f:
        traded = set((f["events/ledger"]["interval_s"] // sc.step_s).tolist())
    assert traded, "the case needs gates with trades"
    tick = int(round(sc.step_s * 1000))
    at = collections.Counter(steps)
    for k in range(1, sc.n_steps):
        gate = k * tick - sc.market.gate_closure_s * 1000
        assert at[("market", gate)] == 1 + (k in traded), k
        assert at[("ledger", gate)] == 1, k


class _Emitter(mosaik_api_v3.Simulator):
    """Emits one event batch at every step (ticks 0, 1, 2, ...)."""

    def __init__(self):
        super().__init__({"api_version": "3.0", "type": "hybrid", "models": {"E": {
            "public": True, "params": [], "attrs": ["events_x"], "non-persistent": ["events_x"]}}})

    def create(self, num, model):
        return [{"eid": "e", "type": model}]

    def step(self, time, inputs, max_advance=None):
        self.t = time
        return time + 1

    def get_data(self, outputs):
        return {"e": {"events_x": [self.t]}}


class _Sink(mosaik_api_v3.Simulator):
    """Steps every 10 ticks; its input is not a trigger."""

    def __init__(self):
        super().__init__({"api_version": "3.0", "type": "hybrid", "models": {"S": {
            "public": True, "params": [], "attrs": [], "any_inputs": True, "trigger": []}}})
        self.steps = []

    def create(self, num, model):
        return [{"eid": "s", "type": model}]

    def step(self, time, inputs, max_advance=None):
        self.steps.append(time)
        return time + 10


@pytest.mark.parametrize("shifted", [False, True], ids=["direct", "time_shifted"])
def test_mosaik_calls_a_connection_transform_at_every_push(shifted):
    """The recorder's event staging (``cosim.world._Builder._connect_events``, direct) and
    the receivers' inboxes (``_connect_handover``, time-shifted) rely on this: a
    non-trigger receiver stepping every 10 ticks sees only the last batch, but the
    connection's ``transform`` is called for each of the 20 pushes, in order, when
    the sender steps. Fails if a mosaik version applies the transform when the
    receiver reads instead."""
    import warnings

    import mosaik

    world = mosaik.World({"E": {"python": f"{__name__}:_Emitter"}, "S": {"python": f"{__name__}:_Sink"}},
                         skip_greetings=True)
    emitter, sink = world.start("E"), world.start("S")
    src, dst = emitter.E(), sink.S()
    seen = []
    kw = dict(time_shifted=True, initial_data={"events_x": None}) if shifted else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        world.connect(src, dst, "events_x", transform=lambda v: seen.extend(v or ()), **kw)
    world.run(until=20, print_progress=False)
    assert seen == list(range(20))
