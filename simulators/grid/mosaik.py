"""mosaik adapter of the grid simulator (one entity: the whole net).

Inputs ``p_mw`` / ``q_mvar`` are per-bus arrays in ``net.bus.index`` order
(consumer reference). They are **added** to the SimBench elements that are
still profile-driven; elements another simulator models (announced through
:meth:`GridSim.replace_elements`) are taken out of the profile injection, so
their power arrives only through these inputs.
"""

from __future__ import annotations

import mosaik_api_v3
import numpy as np
import pandas as pd

from simulators.common.netdata import element_profiles, load_net, profile_row

from .model import GridModel

SERIES = {
    "vm_pu": ("pu", "bus"),
    "va_degree": ("degree", "bus"),
    "line_loading_percent": ("percent", "line"),
    "line_p_from_mw": ("MW", "line"),
    "line_i_ka": ("kA", "line"),
    "trafo_loading_percent": ("percent", "trafo"),
    "trafo_p_hv_mw": ("MW", "trafo"),
    "ext_grid_p_mw": ("MW", "ext_grid"),
    "ext_grid_q_mvar": ("Mvar", "ext_grid"),
    "pl_mw": ("MW", None),
    "pf_converged": ("bool", None),
}

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "Grid": {
            "public": True,
            "params": [],
            "attrs": ["p_mw", "q_mvar", *SERIES],
        }
    },
    "extra_methods": ["series_meta", "static_tables", "replace_elements"],
}


class GridSim(mosaik_api_v3.Simulator):
    """Steps the AC power flow every ``step_s`` seconds."""

    def __init__(self) -> None:
        super().__init__(META)
        self.model: GridModel | None = None
        self.result = None

    def init(self, sid, time_resolution=0.001, *, grid, start, step_s, n_steps, **_):
        self.sid = sid
        self.tick_s = float(time_resolution)
        self.step_ticks = int(round(step_s / self.tick_s))
        self.step_s = int(step_s)
        self.start = start  # profile rows: profile_row(start, t_s)
        net = load_net(grid)
        self.model = GridModel(net)
        self.profiles = {
            ("load", "p_mw"): element_profiles(net, "load", "p_mw"),
            ("load", "q_mvar"): element_profiles(net, "load", "q_mvar"),
            ("sgen", "p_mw"): element_profiles(net, "sgen", "p_mw"),
            ("storage", "p_mw"): element_profiles(net, "storage", "p_mw"),
        }
        self.active = {el: np.ones(len(net[el]), dtype=bool) for el in ("load", "sgen", "storage")}
        self.n_bus = len(self.model.bus_index)
        return self.meta

    def create(self, num, model, **_):
        if num != 1 or self.model is None:
            raise ValueError("the grid simulator has exactly one entity")
        return [{"eid": "grid", "type": model}]

    def replace_elements(self, load=(), sgen=(), storage=()):
        """Take elements out of the profile injection (another simulator models them)."""
        net = self.model.net
        for el, idx in (("load", load), ("sgen", sgen), ("storage", storage)):
            self.active[el] = ~np.isin(net[el].index.to_numpy(), np.asarray(list(idx)))
        return {el: int((~mask).sum()) for el, mask in self.active.items()}

    def _ext(self, inputs: dict, attr: str) -> np.ndarray | None:
        values = inputs.get("grid", {}).get(attr)
        if not values:
            return None
        return np.sum([np.asarray(v, dtype=float) for v in values.values()], axis=0)

    def step(self, time, inputs, max_advance=None):
        k = time // self.step_ticks
        row = profile_row(self.start, k * self.step_s)
        p, q = {}, {}
        for (el, col), prof in self.profiles.items():
            vals = prof.values(row)[0] * self.active[el]
            (p if col == "p_mw" else q)[el] = vals
        self.result = self.model.solve(p, q, self._ext(inputs, "p_mw"), self._ext(inputs, "q_mvar"))
        return time + self.step_ticks

    def get_data(self, outputs):
        r = self.result
        data = {}
        for eid, attrs in outputs.items():
            data[eid] = {}
            for attr in attrs:
                if attr in ("p_mw", "q_mvar"):
                    raise ValueError(f"{attr} is an input of the grid simulator")
                data[eid][attr] = r.converged if attr == "pf_converged" else getattr(r, attr)
        return data

    def series_meta(self):
        m = self.model
        labels = {
            "bus": [str(i) for i in m.bus_index],
            "line": [str(i) for i in m.line_index],
            "trafo": [str(i) for i in m.trafo_index],
            "ext_grid": [str(i) for i in m.ext_grid_index],
        }
        return {
            attr: {"unit": unit, "entities": labels[kind] if kind else []}
            for attr, (unit, kind) in SERIES.items()
        }

    def static_tables(self):
        net = self.model.net
        bus = pd.DataFrame({"index": net.bus.index, "name": net.bus.name.astype(str),
                            "vn_kv": net.bus.vn_kv})
        line = pd.DataFrame({"index": net.line.index, "name": net.line.name.astype(str),
                             "from_bus": net.line.from_bus, "to_bus": net.line.to_bus,
                             "length_km": net.line.length_km, "max_i_ka": net.line.max_i_ka})
        trafo = pd.DataFrame({"index": net.trafo.index, "name": net.trafo.name.astype(str),
                              "hv_bus": net.trafo.hv_bus, "lv_bus": net.trafo.lv_bus,
                              "sn_mva": net.trafo.sn_mva})
        ext = pd.DataFrame({"index": net.ext_grid.index, "bus": net.ext_grid.bus})
        return {"bus": bus, "line": line, "trafo": trafo, "ext_grid": ext}


if __name__ == "__main__":  # pragma: no cover - run as a separate process
    mosaik_api_v3.start_simulation(GridSim())
