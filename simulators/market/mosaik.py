"""mosaik adapter of the local market operator (model: :mod:`.operator`).

One model ``Market`` (one entity). ``messages_in`` is a trigger: orders are
buffered with their ``arrival_ms`` and METER readings settle bills. The
simulator also self-steps at every gate closure ``max(0, T_k - gate_closure_s)``
and clears interval ``k`` there.

``market_status`` codes: 0 cleared, 1 no_trade, 2 empty, 3 one_sided,
4 no_market (tariff), 5 infeasible and 6 solver_error (dlmp: the interval fell
back to the tariff), 7 no_need (lfm ``flex_status``). Mechanisms ``dlmp`` and
``lfm`` add the outputs of :mod:`.flexmarket` (per-bus DLMPs, traffic light,
flexibility scalars) and the event tables ``events_flex``, ``events_flex_requests``;
``series_meta`` lists only the outputs of the configured mechanism. ``bill_eur`` / ``bill_tariff_eur`` / ``imbalance_mwh``
are cumulative per agent (bill: paid [EUR], negative = revenue).
"""

from __future__ import annotations

import logging

import mosaik_api_v3
import numpy as np
import pandas as pd

from simulators.common import messages as msgs
from simulators.market.flexmarket import BUS_SERIES, DLMP_SCALARS, LFM_SCALARS
from simulators.market.operator import EVENT_TABLES, SCALARS, MarketOperator
from simulators.market.schema import MarketConfig

log = logging.getLogger(__name__)

AGENT_UNITS = {"bill_eur": "EUR", "bill_tariff_eur": "EUR", "imbalance_mwh": "MWh"}
AGENT_ARRAYS = tuple(AGENT_UNITS)
FLEX_ATTRS = (*BUS_SERIES, *DLMP_SCALARS, *LFM_SCALARS, "traffic_light")
EVENTS = tuple(f"events_{n}" for n in EVENT_TABLES)

META = {
    "api_version": "3.0",
    "type": "hybrid",
    "models": {
        "Market": {
            "public": True,
            "params": [],
            "attrs": ["messages_in", "messages_out", *EVENTS, *SCALARS, *AGENT_ARRAYS, *FLEX_ATTRS],
            "trigger": ["messages_in"],
            "non-persistent": ["messages_out", *EVENTS],
        }
    },
    "extra_methods": ["series_meta", "static_tables"],
}


class MarketSim(mosaik_api_v3.Simulator):
    """Local market operator with DSO validation and settlement."""

    def __init__(self) -> None:
        super().__init__(META)
        self.op: MarketOperator | None = None
        self.eid = "Market-0"
        self._next_k = 0
        self._res = 0.001

    def init(self, sid, time_resolution=0.001, config=None, grid=None, start="2016-06-01T00:00:00",
             step_s=900, n_steps=96, seed=0, n_agents=None, auth_seed=None, **_):
        """``n_agents`` defaults to the number of loads of ``grid``; ``auth_seed``
        (shared with the honest agents) defaults to ``seed``."""
        cfg = MarketConfig.model_validate(config or {})
        self._res = float(time_resolution)
        net = None
        if grid is not None:
            from simulators.common.netdata import load_net

            net = load_net(grid)
        if n_agents is None:
            n_agents = len(net.load) if net is not None else 0
        self.op = MarketOperator(cfg, net, start, step_s, n_steps, seed, n_agents,
                                 seed if auth_seed is None else auth_seed)
        return self.meta

    def create(self, num, model, **_):
        if num != 1 or self.op is None:
            raise ValueError("MarketSim: create exactly one 'Market' entity after init")
        return [{"eid": self.eid, "type": model}]

    def _ms(self, time: int) -> int:
        return int(round(time * self._res * 1000))

    def _tick(self, ms: int) -> int:
        return int(round(ms / 1000 / self._res))

    def step(self, time, inputs, max_advance):
        now_ms = self._ms(time)
        for batch in inputs.get(self.eid, {}).get("messages_in", {}).values():
            if batch is not None and len(batch):
                self.op.receive(batch, now_ms)
        op = self.op
        while self._next_k < op.n_steps and op.gate_ms(self._next_k) <= now_ms:
            op.gate(self._next_k)
            self._next_k += 1
        if self._next_k < op.n_steps:
            return self._tick(op.gate_ms(self._next_k))
        return None

    def get_data(self, outputs):
        data = {}
        for eid, attrs in outputs.items():
            d = data[eid] = {}
            for a in attrs:
                if a == "messages_out":
                    d[a] = self.op.take_messages()
                elif a in EVENTS:
                    d[a] = self.op.take_events(a[len("events_"):])
                elif a in AGENT_ARRAYS:
                    d[a] = getattr(self.op.ledger, a).copy()
                elif a in self.op.values:
                    v = self.op.values[a]
                    d[a] = v.copy() if isinstance(v, np.ndarray) else v
                elif a == "messages_in":
                    d[a] = msgs.empty(0)
        return data

    def series_meta(self):
        """Recordable array/scalar attributes with unit and entity labels."""
        agents = [f"agent_{i}" for i in range(self.op.n_agents)]
        meta = self.op.series_meta()
        meta.update({a: {"unit": AGENT_UNITS[a], "entities": agents} for a in AGENT_ARRAYS})
        return meta

    def static_tables(self):
        """``agents`` (id) and, with a DSO check, ``zones`` (bus, zone id)."""
        tables = {"agents": pd.DataFrame({"agent": np.arange(self.op.n_agents)})}
        v = self.op.validator
        if v is not None:
            tables["zones"] = pd.DataFrame({"bus": v.bus_index, "zone": v.zone})
        return tables


if __name__ == "__main__":  # pragma: no cover
    mosaik_api_v3.start_simulation(MarketSim())
