"""mosaik adapter of the household simulator (thin: all logic is in :mod:`.model`).

One entity ``Households`` holds every home. Regular self-steps every
``step_s``; ``messages_in`` (trigger) may wake the simulator in between, and
its content is stored and applied at the next regular step. ``vm_pu``
(non-trigger, time-shifted from the grid) is used by the ``q_u`` mode.
"""

from __future__ import annotations

import logging

import mosaik_api_v3
import numpy as np
import pandas as pd

from simulators.common import messages as M
from simulators.common.auth import KeyRing
from simulators.common.netdata import load_net

from .model import HOUSEHOLD_SERIES, HouseholdModel
from .schema import HouseholdsConfig

logger = logging.getLogger(__name__)

_OUT = ["bus_p_mw", "bus_q_mvar", *HOUSEHOLD_SERIES]
META = {
    "api_version": "3.0",
    "type": "hybrid",
    "models": {
        "Households": {
            "public": True,
            "params": [],
            "attrs": ["messages_in", "vm_pu", *_OUT, "messages_out"],
            "trigger": ["messages_in"],
            "non-persistent": ["messages_out"],
        }
    },
    "extra_methods": ["series_meta", "static_tables", "modelled_elements"],
}


class HouseholdSim(mosaik_api_v3.Simulator):
    """mosaik simulator wrapping :class:`HouseholdModel`."""

    def __init__(self) -> None:
        super().__init__(META)
        self.model: HouseholdModel | None = None
        self.eid = "Households"
        self.out: dict[str, np.ndarray] = {}
        self.msgs_out = M.empty(0)
        self.out_time = -1

    def init(self, sid, time_resolution=0.001, config=None, grid=None, start="2016-01-01T00:00:00",
             step_s=900, n_steps=96, seed=0, auth_seed=None, **_ignored):
        self.time_resolution = float(time_resolution)
        # honest agents sign their orders with the key set-up shared with the market
        self.ring = KeyRing(auth_seed) if auth_seed is not None else None
        cfg = HouseholdsConfig.model_validate(config or {})
        self.net = load_net(grid)
        self.model = HouseholdModel(self.net, cfg, start, step_s, n_steps, seed)
        self.step_ticks = int(round(step_s / self.time_resolution))
        self.n_steps = int(n_steps)
        return self.meta

    def create(self, num, model, **params):
        if num != 1 or model != "Households":
            raise ValueError("create exactly one 'Households' entity: create(1, 'Households')")
        return [{"eid": self.eid, "type": model}]

    def step(self, time, inputs, max_advance):
        ins = inputs.get(self.eid, {})
        msgs = ins.get("messages_in")
        if msgs:
            self.model.receive(M.concat([m for m in msgs.values()]))
        vm = ins.get("vm_pu")
        if vm:
            self.model.set_voltages(next(iter(vm.values())))
        if time % self.step_ticks == 0:
            k = time // self.step_ticks
            if k < self.n_steps:
                self.out, self.msgs_out = self.model.step(int(k))
                if self.ring is not None and len(self.msgs_out):
                    self.ring.sign(self.msgs_out)
                self.out_time = time
        nxt = (time // self.step_ticks + 1) * self.step_ticks
        return nxt if nxt // self.step_ticks < self.n_steps else None

    def get_data(self, outputs):
        data = {}
        for eid, attrs in outputs.items():
            d = {}
            for a in attrs:
                if a == "messages_out":
                    if len(self.msgs_out):
                        d[a] = self.msgs_out
                        self.msgs_out = M.empty(0)
                elif a in self.out:
                    d[a] = self.out[a]
            data[eid] = d
        return data

    # ---------------------------------------------------------- extra methods
    def series_meta(self) -> dict:
        pop = self.model.pop
        homes = [f"hh_{i}" for i in range(pop.n)]
        buses = [str(b) for b in pop.bus_index]
        meta = {a: {"unit": u, "entities": homes} for a, u in HOUSEHOLD_SERIES.items()}
        meta["bus_p_mw"] = {"unit": "MW", "entities": buses}
        meta["bus_q_mvar"] = {"unit": "Mvar", "entities": buses}
        return meta

    def static_tables(self) -> dict:
        p = self.model.pop
        hh = pd.DataFrame({
            "id": [f"hh_{i}" for i in range(p.n)], "bus": p.bus, "load": p.load_idx,
            "aggregated": np.full(p.n, p.aggregated), "pv_mwp": p.pv_mw, "pv_sgen_mwp": p.pv_sgen_mw,
            "battery_mwh": p.bat_e_mwh, "ev_battery_mwh": p.ev_e_mwh, "ev_charger_mw": p.ev_p_mw,
            "hp_h_mw_per_k": p.hp_h_mw_per_k, "hp_c_mwh_per_k": p.hp_c_mwh_per_k,
            "hp_q_max_mw": self.model.hp_q_max,
        })
        return {"households": hh}

    def modelled_elements(self) -> dict:
        p = self.model.pop
        return {"load": [int(i) for i in p.load_idx], "sgen": p.modelled_sgens()}
