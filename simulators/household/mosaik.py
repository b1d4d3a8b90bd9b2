"""mosaik adapter of the household simulator (thin: all logic is in :mod:`.model`).

One entity ``Households`` holds every home. Regular self-steps every
``step_s``; ``messages_in`` (trigger) may wake the simulator in between, and
its content is stored and applied at the next regular step, so the decision
schedule is the start of every interval. Through the ICT, messages wait in
the inbox instead (``handover_in``, not a trigger) and are taken at the
regular step they are due. ``vm_pu`` (non-trigger, time-shifted
from the grid) is used by the ``q_u`` mode.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from simulators.common import messages as msgs
from simulators.common.adapter import Adapter, Attr
from simulators.common.auth import KeyRing
from simulators.common.netdata import load_net
from simulators.common.tariffs import TariffConfig

from .model import HouseholdModel
from .schema import HouseholdsConfig

log = logging.getLogger(__name__)

ATTRS = (
    Attr("messages_in", "", "", "results, activations and setpoints addressed to households", "trigger"),
    Attr("handover_in", "", "", "results, activations and setpoints the ICT hands over at receipt, held in the inbox "
         "until due (not a trigger)", "input"),
    Attr("vm_pu", "pu", "bus", "bus voltages of the last power flow (q_u mode)", "input"),
    Attr("p_mw", "MW", "household", "net active power, consumer reference"),
    Attr("q_mvar", "Mvar", "household", "net reactive power, consumer reference"),
    Attr("pv_p_mw", "MW", "household", "PV active power"),
    Attr("pv_curtailed_mw", "MW", "household", "PV power curtailed by caps and the inverter"),
    Attr("battery_p_mw", "MW", "household", "battery power, positive = charging"),
    Attr("battery_soc_mwh", "MWh", "household", "battery state of charge"),
    Attr("ev_p_mw", "MW", "household", "EV charging power, negative = V2G"),
    Attr("ev_soc_mwh", "MWh", "household", "EV state of charge"),
    Attr("hp_p_mw", "MW", "household", "heat pump electric power"),
    Attr("indoor_temp_c", "degC", "household", "indoor temperature (heat pump homes)"),
    Attr("energy_import_mwh", "MWh", "household", "running total of energy imported"),
    Attr("energy_export_mwh", "MWh", "household", "running total of energy exported"),
    Attr("bill_eur", "EUR", "household", "running total of the bill: local trades of the RESULTs received at "
         "their prices plus the retailer's bill of the metered residual (tariffs.retail_bill_eur; "
         "tariffs.BlockBiller under block prices)"),
    Attr("ev_unmet_mwh", "MWh", "household", "running total of EV energy missing at departure"),
    Attr("comfort_violation_kh", "K*h", "household", "running total of degree-hours below the comfort band"),
    Attr("hems_fallback", "1", "household", "1 where the HEMS used its safe fallback this step (bid curve sent, "
         "RESULTs missing at the interval start), else 0"),
    Attr("import_price_eur_per_mwh", "EUR/MWh", "household", "retail import price the HEMS sees for the next "
         "interval: the tariff's price, under block prices (kind ibp) the home's marginal tier price"),
    Attr("dlc_active", "1", "household", "1 where a direct load control event limits the home's devices this step "
         "(households.dlc), else 0"),
    Attr("edr_requested", "1", "household", "1 where an emergency demand response request is active this step "
         "(households.emergency_dr), else 0"),
    Attr("edr_complied", "1", "household", "1 where the home complies with an active emergency request, else 0"),
    Attr("dr_reduction_mw", "MW", "household", "flexible consumption (heat pump, EV, battery charging) taken away "
         "by demand-response programmes against the HEMS decision of the step"),
    Attr("edr_metered_reduction_mw", "MW", "household", "a complying home's metered import below its "
         "meter-before baseline during an emergency request (what the programme measures and pays)"),
    Attr("dr_payment_eur", "EUR", "household", "running total of demand-response payments received "
         "(a credit kept out of bill_eur; KPI household_net_bill_mean_eur nets them)"),
    Attr("bus_p_mw", "MW", "bus", "net active power per bus, consumer reference (to the grid)"),
    Attr("bus_q_mvar", "Mvar", "bus", "net reactive power per bus, consumer reference (to the grid)"),
    Attr("messages_out", "", "", "orders, flexibility offers and meter readings", "output"),
)


class HouseholdSim(Adapter):
    """mosaik simulator wrapping :class:`HouseholdModel`."""

    MODEL = "Households"
    TYPE = "hybrid"
    ATTRS = ATTRS
    EXTRA_METHODS = ("modelled_elements",)

    def __init__(self) -> None:
        super().__init__()
        self.model: HouseholdModel | None = None
        self.out: dict[str, np.ndarray] = {}

    def setup(self, config=None, grid=None, start="2016-01-01T00:00:00", step_s=900, n_steps=96, seed=0,
              auth_seed=None, tariff=None, **_ignored) -> None:
        # honest agents sign their orders with the key set-up shared with the market
        self.ring = KeyRing(auth_seed) if auth_seed is not None else None
        cfg = HouseholdsConfig.model_validate(config or {})
        self.net = load_net(grid)
        # the scenario's one retail tariff, shared with the market
        self.model = HouseholdModel(self.net, cfg, start, step_s, n_steps, seed,
                                    TariffConfig.model_validate(tariff or {}))
        self.step_s = int(step_s)
        self.step_ticks = self.ticks(step_s)
        self.n_steps = int(n_steps)

    def advance(self, time, inputs):
        batches = inputs.get("messages_in")
        if batches:
            self.model.receive(msgs.concat(list(batches.values())))
        for _due_ms, batch in self.handed_over(time):  # one batch per tick it was due at, in order
            self.model.receive(batch)
        vm = inputs.get("vm_pu")
        if vm:
            self.model.set_voltages(next(iter(vm.values())))
        if time % self.step_ticks == 0:
            k = time // self.step_ticks
            if k < self.n_steps:
                self.out, out_msgs = self.model.step(int(k))
                if self.ring is not None and len(out_msgs):
                    self.ring.sign(out_msgs)
                self.emit("messages_out", out_msgs)
        nxt = (time // self.step_ticks + 1) * self.step_ticks
        return nxt if nxt // self.step_ticks < self.n_steps else None

    def value(self, attr):
        return self.out.get(attr)

    # ---------------------------------------------------------- extra methods
    def offers(self, attr):
        """Demand-response series only where the programme is configured (off: files unchanged)."""
        cfg = self.model.cfg
        if attr == "dlc_active":
            return cfg.dlc is not None
        if attr in ("edr_requested", "edr_complied", "edr_metered_reduction_mw"):
            return cfg.emergency_dr is not None
        if attr in ("dr_reduction_mw", "dr_payment_eur"):
            return cfg.dlc is not None or cfg.emergency_dr is not None
        return True

    def decision_schedule(self) -> dict:
        """Messages act at the start of every interval."""
        return {"period_s": self.step_s, "offsets_s": [0]}

    def entity_labels(self) -> dict:
        pop = self.model.pop
        return {"household": [f"hh_{i}" for i in range(pop.n)], "bus": [str(b) for b in pop.bus_index]}

    def static_tables(self) -> dict:
        p = self.model.pop
        hh = pd.DataFrame({
            "id": [f"hh_{i}" for i in range(p.n)], "bus": p.bus, "load": p.load_idx,
            "load_class": p.load_class.astype(str),
            "aggregated": np.full(p.n, p.aggregated), "pv_mwp": p.pv_mw, "pv_sgen_mwp": p.pv_sgen_mw,
            "battery_mwh": p.bat_e_mwh, "ev_battery_mwh": p.ev_e_mwh, "ev_charger_mw": p.ev_p_mw,
            "hp_h_mw_per_k": p.hp_h_mw_per_k, "hp_c_mwh_per_k": p.hp_c_mwh_per_k,
            "hp_q_max_mw": self.model.hp_q_max,
        })
        return {"households": hh}

    def modelled_elements(self) -> dict:
        """SimBench elements this simulator replaces: ``{"load": [...], "sgen": [...]}``."""
        p = self.model.pop
        return {"load": [int(i) for i in p.load_idx], "sgen": p.modelled_sgens()}


META = HouseholdSim.meta_dict()
