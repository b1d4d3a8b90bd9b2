"""mosaik adapter of the local market operator (model: :mod:`.operator`).

One model ``Market`` (one entity). ``messages_in`` is a trigger: orders are
buffered with their ``arrival_ms`` and METER readings settle bills. Through
the ICT they wait in the inbox instead (``handover_in``, not a trigger) and
are taken at the step they are due, as if received at that tick. The
simulator also self-steps at every gate closure ``max(0, T_k - gate_closure_s)``
and clears interval ``k`` there; that is its decision schedule.

``market_status`` codes: see docs/results.md. Mechanisms ``dlmp`` and ``lfm`` add
the outputs of :mod:`.flexmarket` and the event tables ``events_flex``,
``events_flex_requests``; ``series_meta`` lists only the configured mechanism's outputs.
``bill_eur`` / ``bill_open_eur`` / ``bill_tariff_eur`` / ``imbalance_mwh`` are
cumulative per agent (bill: paid [EUR], negative = revenue). With ``market.ledger``
the trades of a gate go out on ``transactions_out`` and the ledger's answer comes back
on ``ledger_in`` (a trigger, wired ``weak``): such a gate takes two steps at the same
instant, clear + submit, then settle + publish (:meth:`.MarketOperator.settle`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from simulators.common.adapter import Adapter, Attr
from simulators.common.netdata import load_net
from simulators.common.tariffs import TariffConfig
from simulators.market.operator import EVENT_TABLES, MarketOperator
from simulators.market.schema import MarketConfig

log = logging.getLogger(__name__)

_DLMP = "EUR/MWh", "bus"
ATTRS = (
    Attr("messages_in", "", "", "orders, flexibility offers and meter readings", "trigger"),
    Attr("handover_in", "", "", "orders, flexibility offers and meter readings the ICT hands over at receipt, held in the inbox "
         "until due (not a trigger)", "input"),
    Attr("messages_out", "", "", "RESULT, ACTIVATION and REQUEST messages", "output"),
    Attr("events_trades", "", "", "one record per trade (and DSO curtailment)", "event"),
    Attr("events_orders", "", "", "one record per order: executed locally / with the retailer, DSO curtailment",
         "event"),
    Attr("ledger_in", "", "", "market.ledger: the ledger's answer per transaction (ANSWER_DTYPE)", "trigger"),
    Attr("transactions_out", "", "", "market.ledger: trades submitted to the ledger at gate closure (TX_DTYPE)",
         "output"),
    Attr("events_flex", "", "", "lfm / dlmp flexibility profiles at activation and settlement", "event"),
    Attr("events_flex_requests", "", "", "lfm flexibility requests of the DSO", "event"),
    Attr("price_eur_per_mwh", "EUR/MWh", "", "clearing price of the last gated interval (NaN: no trade)"),
    Attr("traded_mwh", "MWh", "", "energy traded locally"),
    Attr("retail_import_mwh", "MWh", "", "unmatched demand executed with the retailer (backstop rule)"),
    Attr("retail_export_mwh", "MWh", "", "unmatched supply executed with the retailer (backstop rule)"),
    Attr("not_executed_mwh", "MWh", "", "order volume executed neither locally nor with the retailer"),
    Attr("welfare_eur", "EUR", "", "social welfare of the clearing"),
    Attr("market_status", "code", "", "clearing status (codes in the module docstring)"),
    Attr("orders_received", "count", "", "orders cleared at the last gate"),
    Attr("orders_late", "count", "", "orders that arrived after their gate closure"),
    Attr("orders_rejected_auth", "count", "", "orders with a wrong or replayed authentication tag"),
    Attr("orders_invalid", "count", "", "orders with invalid fields"),
    Attr("trades_curtailed", "count", "", "trades curtailed by the DSO check"),
    Attr("curtailed_mwh", "MWh", "", "energy curtailed by the DSO check"),
    Attr("local_share_of_demand", "1", "", "share of demand met by local trades"),
    Attr("dso_forecast_p_mw", "MW", "bus", "DSO check: the checked whole-grid state after curtailment, "
         "consumer reference"),
    Attr("dso_feasible", "bool", "", "DSO check: the checked state is within limits (0: only shedding "
         "inflexible demand would help; nothing shed)"),
    Attr("retailer_eur", "EUR", "", "running total received by the retailer (tariff volume, imbalance)"),
    Attr("operator_eur", "EUR", "", "running total kept by the market operator (local payments minus receipts)"),
    Attr("dso_eur", "EUR", "", "market.dso_model: running total of operator surplus (congestion rents) "
         "received by the DSO"),
    Attr("returned_eur", "EUR", "", "market.dso_model: running total of operator surplus returned to the traders"),
    Attr("dlmp_eur_per_mwh", *_DLMP, "dlmp: nodal price"),
    Attr("dlmp_energy_eur_per_mwh", *_DLMP, "dlmp: energy component"),
    Attr("dlmp_loss_eur_per_mwh", *_DLMP, "dlmp: loss component"),
    Attr("dlmp_congestion_eur_per_mwh", *_DLMP, "dlmp: congestion component"),
    Attr("dlmp_voltage_eur_per_mwh", *_DLMP, "dlmp: voltage component"),
    Attr("import_mw", "MW", "", "dlmp: import at the PCC of the cleared point"),
    Attr("export_mw", "MW", "", "dlmp: export at the PCC of the cleared point"),
    Attr("dlmp_unserved_mw", "MW", "", "dlmp: demand shed / export spilled by the virtual orders"),
    Attr("dlmp_flex_up_mw", "MW", "", "dlmp: upward flexibility accepted"),
    Attr("dlmp_flex_down_mw", "MW", "", "dlmp: downward flexibility accepted"),
    Attr("lin_max_dvm_pu", "pu", "", "dlmp: largest voltage change predicted by the linearisation"),
    Attr("lin_max_dloading_percent", "%", "", "dlmp: largest loading change predicted by the linearisation"),
    Attr("flex_status", "code", "", "lfm: clearing status (7 no_need)"),
    Attr("flex_requests", "count", "", "lfm: requests with a need in this interval"),
    Attr("flex_need_mw", "MW", "", "lfm: flexibility needed"),
    Attr("flex_covered_mw", "MW", "", "lfm: need covered by accepted profiles"),
    Attr("flex_shortfall_mw", "MW", "", "lfm: need not covered"),
    Attr("flex_activated_mw", "MW", "", "lfm: flexibility activated"),
    Attr("flex_profiles", "count", "", "lfm: aggregator profiles offered"),
    Attr("flex_accepted", "count", "", "lfm: profiles accepted"),
    Attr("flex_welfare_eur", "EUR", "", "lfm: welfare of the clearing"),
    Attr("dso_cost_eur", "EUR", "", "lfm: DSO cost of the activations"),
    Attr("flex_delivered_mwh", "MWh", "", "lfm: running total of flexibility delivered"),
    Attr("flex_undelivered_mwh", "MWh", "", "lfm: running total of flexibility not delivered"),
    Attr("flex_payment_eur", "EUR", "", "lfm: running total paid for delivered flexibility"),
    Attr("flex_penalty_eur", "EUR", "", "lfm: running total of non-delivery penalties"),
    Attr("forecast_max_loading_percent", "%", "", "lfm: highest forecast branch loading"),
    Attr("traffic_light", "code", "area", "lfm: DSO traffic light (0 green, 1 amber, 2 red)"),
    Attr("bill_eur", "EUR", "agent", "running total paid, negative = revenue (local trades + retailer's "
         "bill of the metered residual; provisional until the meter reading is settled)"),
    Attr("bill_open_eur", "EUR", "agent", "part of bill_eur booked for intervals whose meter reading is "
         "not settled yet (bill_eur - bill_open_eur is final)"),
    Attr("bill_tariff_eur", "EUR", "agent", "running total the agent would pay at the tariff"),
    Attr("imbalance_mwh", "MWh", "agent", "running total of metered minus cleared energy"),
)
AGENT_ARRAYS = ("bill_eur", "bill_open_eur", "bill_tariff_eur", "imbalance_mwh")
LEDGER_TOTALS = ("retailer_eur", "operator_eur")


class MarketSim(Adapter):
    """Local market operator with DSO validation and settlement."""

    MODEL = "Market"
    TYPE = "hybrid"
    ATTRS = ATTRS
    EXTRA_METHODS = ("replace_elements",)

    def __init__(self) -> None:
        super().__init__()
        self.op: MarketOperator | None = None
        self._next_k = 0

    def setup(self, config=None, grid=None, start="2016-06-01T00:00:00", step_s=900, n_steps=96, seed=0,
              n_agents=None, auth_seed=None, tariff=None, **_) -> None:
        """``n_agents`` defaults to the number of loads of ``grid``; ``auth_seed``
        (shared with the honest agents) defaults to ``seed``; ``tariff`` is the
        scenario's ``tariff`` section (default: its defaults)."""
        cfg = MarketConfig.model_validate(config or {})
        tariff = TariffConfig.model_validate(tariff or {})
        net = None if grid is None else load_net(grid)
        if n_agents is None:
            n_agents = len(net.load) if net is not None else 0
        self.op = MarketOperator(cfg, net, start, step_s, n_steps, seed, n_agents,
                                 seed if auth_seed is None else auth_seed, tariff)

    def advance(self, time, inputs):
        now_ms = self.ms(time)
        op = self.op
        for answers in inputs.get("ledger_in", {}).values():  # same instant as the gate that submitted
            if answers is not None and len(answers):
                op.settle(answers)
        for batch in inputs.get("messages_in", {}).values():
            if batch is not None and len(batch):
                op.receive(batch, now_ms)
        for due_ms, batch in self.handed_over(time):  # as if received at the tick each was due
            op.receive(batch, due_ms)
        while self._next_k < op.n_steps and op.gate_ms(self._next_k) <= now_ms:
            op.gate(self._next_k)
            self._next_k += 1
        self.emit("messages_out", op.take_messages())
        self.emit("transactions_out", op.take_transactions())
        for name in EVENT_TABLES:
            self.emit(f"events_{name}", op.take_events(name))
        if self._next_k < op.n_steps:
            return self.ticks(op.gate_ms(self._next_k) / 1000)
        return None

    def value(self, attr):
        if attr in AGENT_ARRAYS:
            return getattr(self.op.ledger, attr).copy()
        if attr in LEDGER_TOTALS:
            return getattr(self.op.ledger, attr)
        v = self.op.values.get(attr)
        return v.copy() if isinstance(v, np.ndarray) else v

    # -- extra methods --------------------------------------------------------
    def replace_elements(self, load=(), sgen=(), storage=()):
        """Elements a participant models: the DSO's state takes them from the orders,
        not from the profiles (the same set the grid simulator receives)."""
        self.op.replace_elements(load, sgen, storage)
        return {el: len(v) for el, v in self.op.replaced.items()}

    def decision_schedule(self) -> dict:
        """Orders act at gate closure, ``gate_closure_s`` before each interval."""
        op = self.op
        return {"period_s": op.step_s, "offsets_s": [op.step_s - op.cfg.gate_closure_s]}

    def offers(self, attr):
        return attr in AGENT_ARRAYS or attr in LEDGER_TOTALS or attr in self.op.values

    def entity_labels(self):
        flex, v = self.op.flex, self.op.validator
        buses = flex.bus_index if flex is not None else (v.bus_index if v is not None else [])
        return {"agent": [f"agent_{i}" for i in range(self.op.n_agents)],
                "bus": [str(b) for b in buses],
                "area": [] if flex is None else [f"area_{a}" for a in range(flex.n_area)]}

    def static_tables(self):
        """``agents`` (id) and, with a DSO check, ``zones`` (bus, zone id)."""
        tables = {"agents": pd.DataFrame({"agent": np.arange(self.op.n_agents)})}
        v = self.op.validator
        if v is not None:
            tables["zones"] = pd.DataFrame({"bus": v.bus_index, "zone": v.zone})
        return tables


META = MarketSim.meta_dict()
