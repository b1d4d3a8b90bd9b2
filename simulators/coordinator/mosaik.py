"""mosaik adapter of the TSO–DSO coordinator (one entity, model ``Coordinator``).

Time: ``time_resolution`` 0.001 s (1 tick = 1 ms). The adapter self-steps at
``T_k - activation_lead_s`` for every interval ``k >= 1`` and clears interval
``k`` there; ``messages_in`` (trigger) may wake it at any time to store offers.
"""

from __future__ import annotations

import logging

import mosaik_api_v3
import numpy as np

from simulators.common import messages as msg
from simulators.common.netdata import load_net

from .model import ACTIVATION_DTYPE, Coordinator
from .schema import CoordinatorConfig

log = logging.getLogger(__name__)

SERIES = {  # persistent attr -> (unit, per-area?)
    "tso_need_mw": ("MW", False), "tso_price_eur_per_mwh": ("EUR/MWh", False),
    "tso_activated_mw": ("MW", True), "activated_mw": ("MW", True),
    "tso_need_met_mw": ("MW", False), "tso_need_met_share": ("1", False),
    "dso_violations": ("count", False), "dso_violations_after": ("count", False),
    "blocked_by_traffic_light": ("count", False), "double_activations": ("count", False),
    "traffic_light": ("0 green/1 amber/2 red", True), "pcc_p_mw": ("MW", True),
    "cost_tso_eur": ("EUR", False), "cost_dso_eur": ("EUR", False), "cost_brp_eur": ("EUR", False),
}

META = {
    "api_version": "3.0",
    "type": "hybrid",
    "models": {
        "Coordinator": {
            "public": True,
            "params": [],
            "attrs": ["messages_in", "bus_p_mw", "ext_grid_p_mw", "vm_pu", "messages_out",
                      "events_activations", *SERIES],
            "trigger": ["messages_in"],
            "non-persistent": ["messages_out", "events_activations"],
        }
    },
    "extra_methods": ["series_meta", "static_tables"],
}


class CoordinatorSim(mosaik_api_v3.Simulator):
    """mosaik simulator wrapping :class:`simulators.coordinator.model.Coordinator`."""

    def __init__(self):
        super().__init__(META)
        self.model: Coordinator | None = None
        self.eid = "Coordinator"
        self._series: dict = {}
        self._out = msg.empty(0)
        self._events = np.zeros(0, ACTIVATION_DTYPE)

    def init(self, sid, time_resolution=0.001, config=None, grid=None, start="2016-01-01T00:00:00",
             step_s=900, n_steps=96, seed=0, **_ignored):
        self.res = float(time_resolution)
        cfg = CoordinatorConfig.model_validate(config or {})
        self.model = Coordinator(cfg, load_net(grid), start, int(step_s), int(n_steps), int(seed))
        self.step_s, self.n_steps = int(step_s), int(n_steps)
        self.lead_s = min(cfg.activation_lead_s, self.step_s)
        n_area = self.model.grid.n_area
        self._series = {a: (np.zeros(n_area) if per_area else 0.0) for a, (_, per_area) in SERIES.items()}
        self._series["tso_need_met_share"] = np.nan
        return self.meta

    def create(self, num, model, **params):
        if num != 1 or model != "Coordinator" or self.model is None:
            raise ValueError("CoordinatorSim: create exactly one 'Coordinator' after init")
        return [{"eid": self.eid, "type": model}]

    def _next_k(self, t_s: float) -> int:
        """First interval whose clearing time lies at or after ``t_s``."""
        return max(1, int(np.ceil((t_s + self.lead_s) / self.step_s - 1e-9)))

    def step(self, time, inputs, max_advance):
        t_s = time * self.res
        for attr, by_src in inputs.get(self.eid, {}).items():
            for val in by_src.values():
                if attr == "messages_in":
                    if isinstance(val, dict):
                        for arr in val.values():
                            self.model.add_messages(arr)
                    else:
                        self.model.add_messages(val)
            if attr in ("bus_p_mw", "ext_grid_p_mw", "vm_pu"):
                vals = [np.asarray(v, float) for v in by_src.values() if v is not None]
                if vals:
                    total = np.sum(vals, axis=0)  # bus_p_mw summed over sources (consumer ref)
                    self.model.set_forecast(**{attr: total})
        k = self._next_k(t_s)
        t_clear_s = k * self.step_s - self.lead_s
        if abs(t_s - t_clear_s) < 1e-6 and k < self.n_steps:
            self._out, series, self._events = self.model.run_interval(k, int(round(t_s * 1000)))
            self._series.update(series)
            k += 1
        if k >= self.n_steps:
            return None
        return int(round((k * self.step_s - self.lead_s) / self.res))

    def get_data(self, outputs):
        data = {}
        for eid, attrs in outputs.items():
            d = {}
            for a in attrs:
                if a == "messages_out":
                    d[a], self._out = self._out, msg.empty(0)
                elif a == "events_activations":
                    d[a], self._events = self._events, np.zeros(0, ACTIVATION_DTYPE)
                elif a in self._series:
                    d[a] = self._series[a]
            data[eid] = d
        return data

    def series_meta(self):
        """Unit and entity labels of every recordable array attribute."""
        labels = list(self.model.grid.area_labels)
        return {a: {"unit": u, "entities": labels if per_area else []} for a, (u, per_area) in SERIES.items()}

    def static_tables(self):
        """``areas``: label, PCC trafo, number of buses; ``monitored``: branch elements per area."""
        import pandas as pd

        g = self.model.grid
        areas = pd.DataFrame({
            "area": g.area_labels, "trafo": g.area_trafo,
            "n_bus": [int((g.bus_area == a).sum()) for a in range(g.n_area)],
        })
        return {"areas": areas, "monitored": g.element_table()}
