"""mosaik adapter of the TSO–DSO coordinator (one entity, model ``Coordinator``).

The adapter self-steps at ``T_k - lead_s`` for every interval ``k >= 1`` and
clears interval ``k`` there; ``messages_in`` (trigger) may wake it at any
time to store offers (through the ICT they wait in the inbox, ``handover_in``,
until the step they are due). ``lead_s`` is ``coordinator.activation_lead_s`` capped
at ``step_s``: a lead longer than one interval decides interval ``k`` at
``T_{k-1}``, the earliest time its offers (sent at ``T_{k-1}``) exist. The
same ``lead_s`` is the decision schedule the ICT hands offers over by, so the
two cannot disagree.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from simulators.common.adapter import Adapter, Attr
from simulators.common.netdata import load_net

from .model import Coordinator
from .schema import CoordinatorConfig

log = logging.getLogger(__name__)

ATTRS = (
    Attr("messages_in", "", "", "flexibility offers", "trigger"),
    Attr("handover_in", "", "", "flexibility offers the ICT hands over at receipt, held in the inbox "
         "until due (not a trigger)", "input"),
    Attr("bus_p_mw", "MW", "bus", "last per-bus consumption (persistence forecast), consumer reference", "input"),
    Attr("ext_grid_p_mw", "MW", "ext_grid", "last PCC exchange of the grid", "input"),
    Attr("messages_out", "", "", "ACTIVATION messages", "output"),
    Attr("events_activations", "", "", "one record per activation", "event"),
    Attr("tso_need_mw", "MW", "", "balancing need of the TSO"),
    Attr("tso_price_eur_per_mwh", "EUR/MWh", "", "TSO's price for balancing energy"),
    Attr("tso_activated_mw", "MW", "area", "flexibility activated for the TSO"),
    Attr("activated_mw", "MW", "area", "flexibility activated for all buyers"),
    Attr("tso_need_met_mw", "MW", "", "part of the TSO need met"),
    Attr("tso_need_met_share", "1", "", "share of the TSO need met (NaN: no need)"),
    Attr("dso_violations", "count", "", "DSO limit violations caused by TSO activations"),
    Attr("dso_violations_after", "count", "", "DSO limit violations after all activations"),
    Attr("blocked_by_traffic_light", "count", "", "TSO activations blocked by the traffic light"),
    Attr("double_activations", "count", "", "offers activated more than once (running total)"),
    Attr("traffic_light", "0 green/1 amber/2 red", "area", "DSO traffic light"),
    Attr("pcc_p_mw", "MW", "area", "forecast exchange at each area's transformer"),
    Attr("cost_tso_eur", "EUR", "", "cost of the TSO's activations"),
    Attr("cost_dso_eur", "EUR", "", "cost of the DSO's activations"),
    Attr("cost_brp_eur", "EUR", "", "cost of the BRP's activations"),
)


class CoordinatorSim(Adapter):
    """mosaik simulator wrapping :class:`simulators.coordinator.model.Coordinator`."""

    MODEL = "Coordinator"
    TYPE = "hybrid"
    ATTRS = ATTRS

    def __init__(self) -> None:
        super().__init__()
        self.model: Coordinator | None = None
        self._series: dict = {}

    def setup(self, config=None, grid=None, start="2016-01-01T00:00:00", step_s=900, n_steps=96, seed=0,
              **_ignored) -> None:
        cfg = CoordinatorConfig.model_validate(config or {})
        self.model = Coordinator(cfg, load_net(grid), start, int(step_s), int(n_steps), int(seed))
        self.step_s, self.n_steps = int(step_s), int(n_steps)
        self.lead_s = min(cfg.activation_lead_s, self.step_s)
        n_area = self.model.grid.n_area
        self._series = {a.name: (np.zeros(n_area) if a.entity else 0.0) for a in ATTRS if a.role == "series"}
        self._series["tso_need_met_share"] = np.nan

    def _next_k(self, t_s: float) -> int:
        """First interval whose clearing time lies at or after ``t_s``."""
        return max(1, int(np.ceil((t_s + self.lead_s) / self.step_s - 1e-9)))

    def advance(self, time, inputs):
        t_s = time * self.tick_s
        for attr, by_src in inputs.items():
            if attr == "handover_in":  # staged in the inbox, taken below
                continue
            if attr == "messages_in":
                for val in by_src.values():
                    self.model.add_messages(val)
            else:  # bus_p_mw summed over sources (consumer ref), ext_grid_p_mw
                # None or [] (the initial value of the time-shifted edge): no forecast yet
                vals = [np.asarray(v, float) for v in by_src.values() if v is not None and np.size(v)]
                if vals:
                    self.model.set_forecast(**{attr: np.sum(vals, axis=0)})
        for _due_ms, batch in self.handed_over(time):
            self.model.add_messages(batch)
        k = self._next_k(t_s)
        t_clear_s = k * self.step_s - self.lead_s
        if abs(t_s - t_clear_s) < 1e-6 and k < self.n_steps:
            out, series, events = self.model.run_interval(k, self.ms(time))
            self._series.update(series)
            self.emit("messages_out", out)
            self.emit("events_activations", events)
            k += 1
        if k >= self.n_steps:
            return None
        return self.ticks(k * self.step_s - self.lead_s)

    def value(self, attr):
        return self._series.get(attr)

    def decision_schedule(self) -> dict:
        """Offers act at the clearing times ``T_k - lead_s``."""
        return {"period_s": self.step_s, "offsets_s": [self.step_s - self.lead_s]}

    def entity_labels(self):
        return {"area": list(self.model.grid.area_labels)}

    def static_tables(self):
        """``areas``: label, PCC trafo, number of buses; ``monitored``: branch elements per area."""
        g = self.model.grid
        areas = pd.DataFrame({
            "area": g.area_labels, "trafo": g.area_trafo,
            "n_bus": [int((g.bus_area == a).sum()) for a in range(g.n_area)],
        })
        return {"areas": areas, "monitored": g.element_table()}


META = CoordinatorSim.meta_dict()
