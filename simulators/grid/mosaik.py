"""mosaik adapter of the grid simulator (one entity: the whole net).

Inputs ``p_mw`` / ``q_mvar`` are per-bus arrays in ``net.bus.index`` order
(consumer reference). They are **added** to the SimBench elements that are
still profile-driven; elements another simulator models (announced through
:meth:`GridSim.replace_elements`) are taken out of the profile injection, so
their power arrives only through these inputs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulators.common.adapter import Adapter, Attr
from simulators.common.netdata import element_profiles, load_net, profile_row

from .model import GridModel

ATTRS = (
    Attr("p_mw", "MW", "bus", "net active power of other simulators, consumer reference, summed over sources", "input"),
    Attr("q_mvar", "Mvar", "bus", "net reactive power of other simulators, consumer reference", "input"),
    Attr("vm_pu", "pu", "bus", "bus voltage magnitude"),
    Attr("va_degree", "degree", "bus", "bus voltage angle"),
    Attr("line_loading_percent", "percent", "line", "line loading"),
    Attr("line_p_from_mw", "MW", "line", "active power into the line at its from bus"),
    Attr("line_i_ka", "kA", "line", "line current"),
    Attr("trafo_loading_percent", "percent", "trafo", "transformer loading"),
    Attr("trafo_p_hv_mw", "MW", "trafo", "active power into the transformer at its HV side"),
    Attr("ext_grid_p_mw", "MW", "ext_grid", "exchange with the upstream grid (PCC), positive = import"),
    Attr("ext_grid_q_mvar", "Mvar", "ext_grid", "reactive exchange with the upstream grid"),
    Attr("pl_mw", "MW", "", "active power losses of the net"),
    Attr("bus_p_mw", "MW", "bus", "net active power per bus of every element and input solved, consumer "
         "reference (ext_grid_p_mw = sum + pl_mw)"),
    Attr("pf_converged", "bool", "", "the power flow converged"),
)


class GridSim(Adapter):
    """Steps the AC power flow every ``step_s`` seconds."""

    MODEL = "Grid"
    TYPE = "time-based"
    ATTRS = ATTRS
    EXTRA_METHODS = ("replace_elements",)

    def __init__(self) -> None:
        super().__init__()
        self.model: GridModel | None = None
        self.result = None

    def setup(self, *, grid, start, step_s, n_steps, **_) -> None:
        self.step_ticks = self.ticks(step_s)
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
        pos = {int(b): i for i, b in enumerate(self.model.bus_index)}
        self._el_pos = {el: np.array([pos[int(b)] for b in net[el].bus], dtype=np.int64)
                        for el in ("load", "sgen", "storage")}
        # consumer-reference weight per element as the power flow applies it: sign, scaling, in service
        self._el_w = {}
        for el in ("load", "sgen", "storage"):
            t = net[el]
            on = t.in_service.to_numpy(bool) & net.bus.loc[t.bus, "in_service"].to_numpy(bool) if len(t) \
                else np.zeros(0, bool)
            scale = t["scaling"].to_numpy(float) if "scaling" in t else np.ones(len(t))
            self._el_w[el] = np.where(on, scale, 0.0) * (-1.0 if el == "sgen" else 1.0)
        self.bus_p_mw = np.zeros(self.n_bus)

    def replace_elements(self, load=(), sgen=(), storage=()):
        """Take elements out of the profile injection (another simulator models them)."""
        net = self.model.net
        for el, idx in (("load", load), ("sgen", sgen), ("storage", storage)):
            self.active[el] = ~np.isin(net[el].index.to_numpy(), np.asarray(list(idx)))
        return {el: int((~mask).sum()) for el, mask in self.active.items()}

    @staticmethod
    def _ext(inputs: dict, attr: str) -> np.ndarray | None:
        values = inputs.get(attr)
        if not values:
            return None
        return np.sum([np.asarray(v, dtype=float) for v in values.values()], axis=0)

    def advance(self, time, inputs):
        k = time // self.step_ticks
        row = profile_row(self.start, k * self.step_s)
        p, q = {}, {}
        for (el, col), prof in self.profiles.items():
            vals = prof.values(row)[0] * self.active[el]
            (p if col == "p_mw" else q)[el] = vals
        ext_p = self._ext(inputs, "p_mw")
        self.result = self.model.solve(p, q, ext_p, self._ext(inputs, "q_mvar"))
        bus_p = np.zeros(self.n_bus) if ext_p is None else np.asarray(ext_p, dtype=float).copy()
        for el, vals in p.items():  # profile elements (sgens: generator reference)
            np.add.at(bus_p, self._el_pos[el], self._el_w[el] * vals)
        self.bus_p_mw = bus_p
        return time + self.step_ticks

    def value(self, attr):
        if attr in ("p_mw", "q_mvar"):
            return super().value(attr)
        if attr == "bus_p_mw":
            return self.bus_p_mw.copy()
        return self.result.converged if attr == "pf_converged" else getattr(self.result, attr)

    def entity_labels(self):
        m = self.model
        return {"bus": [str(i) for i in m.bus_index], "line": [str(i) for i in m.line_index],
                "trafo": [str(i) for i in m.trafo_index], "ext_grid": [str(i) for i in m.ext_grid_index]}

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


META = GridSim.meta_dict()
