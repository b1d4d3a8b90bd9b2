"""The local market operator over a run: order buffering, gate closure, clearing,
DSO validation, results and settlement. No mosaik import (see :mod:`.mosaik`).

One interval ``k`` (delivery ``[T_k, T_k + step_s)``) is gated at
``max(0, T_k - gate_closure_s)``: orders for it that *arrived* by then are
authenticated, cleared with ``market.mechanism``, validated with
``market.dso_check``, booked by the :class:`.settlement.Ledger`, and answered
with one ``Kind.RESULT`` message per accepted order.

With ``market.ledger`` a gate takes two steps at the same instant: :meth:`MarketOperator.gate`
clears and submits the trades as ledger transactions (:meth:`MarketOperator.take_transactions`,
:data:`simulators.common.dlt.TX_DTYPE`); the ledger simulator answers at once, and
:meth:`MarketOperator.settle` drops the trades not final by their deadline (reason
:data:`LEDGER_NOT_FINAL`), books the fees, executes, validates and publishes.
"""

from __future__ import annotations

import logging

import numpy as np

from simulators.common import messages as msgs
from simulators.common import records
from simulators.common.messages import Kind
from simulators.common.auth import KeyRing, SeenIds, verify
from simulators.common.dlt import TX_DTYPE
from simulators.market.dso import REASONS, DsoValidator, dso_check
from simulators.market.errors import LedgerAnswerError, MarketConfigError
from simulators.market.execution import Execution
from simulators.market.mechanisms import MECHANISMS, resolve_mechanism
from simulators.market.orders import STATUS_CODES, TRADE_DTYPE, ClearingContext, ClearingResult
from simulators.market.settlement import Ledger
from simulators.common.tariffs import (
    TariffConfig,
    feed_in_price_eur_per_mwh,
    import_price_eur_per_mwh,
    marginal_import_price_eur_per_mwh,
)

log = logging.getLogger(__name__)

#: ``reason`` of trades and orders: int8 whose dtype names every code
#: (:data:`.dso.REASONS`); HDF5 stores it as an ENUM type, so the file itself
#: says what each code means (``Result.enum`` / ``events(..., enum_names=True)``).
REASON_DTYPE = np.dtype(np.int8, metadata={"enum": {name: code for code, name in REASONS.items()}})

#: Records of the ``events_trades`` table (``reason`` codes: :data:`.dso.REASONS`).
EVENT_TRADE_DTYPE = np.dtype([
    ("interval_s", np.int64), ("buyer", np.int32), ("seller", np.int32),
    ("buyer_bus", np.int32), ("seller_bus", np.int32), ("quantity_mwh", np.float64),
    ("price_eur_per_mwh", np.float64), ("seller_price_eur_per_mwh", np.float64),
    ("curtailed", np.bool_), ("curtailed_mwh", np.float64), ("reason", REASON_DTYPE),
])

#: Records of the ``events_orders`` table: one per order and gated interval, what it
#: executed (``local_mwh`` through local trades, ``retail_mwh`` with the retailer by
#: the backstop rule, after DSO curtailment), ``curtailed_mwh`` removed by the DSO
#: and the ``reason`` code (:data:`.dso.REASONS`, 0 = untouched).
EVENT_ORDER_DTYPE = np.dtype([
    ("interval_s", np.int64), ("sender", np.int32), ("bus", np.int32), ("side", np.int8),
    ("quantity_mwh", np.float64), ("limit_eur_per_mwh", np.float64), ("local_mwh", np.float64),
    ("retail_mwh", np.float64), ("curtailed_mwh", np.float64), ("reason", REASON_DTYPE),
])

SCALARS = ("price_eur_per_mwh", "traded_mwh", "retail_import_mwh", "retail_export_mwh", "welfare_eur",
           "market_status", "orders_received", "orders_late", "orders_rejected_auth", "orders_invalid",
           "trades_curtailed", "curtailed_mwh", "local_share_of_demand", "not_executed_mwh")


#: Event tables offered by the adapter (``events_<name>``).
EVENT_TABLES = ("trades", "orders", "flex", "flex_requests")

#: Reason code of a trade (and its orders) dropped because it was not final in time.
LEDGER_NOT_FINAL = 9
#: Gates whose accepted msg_ids the replay check keeps (MarketOperator.seen): the
#: previous gate's are all a later gate can meet again; one more is kept as a margin.
REPLAY_WINDOW = 2


class MarketOperator:
    """State of the market operator for one run.

    Parameters
    ----------
    cfg : MarketConfig
        Validated scenario section.
    net : pandapowerNet or None
        The DSO's network (needed for ``dso_check`` other than ``none``).
    start : str
        ISO 8601 run start.
    step_s, n_steps : int
        Interval length [s] and number of intervals.
    seed : int
        Seed of this simulator's Generator (attack injection).
    n_agents : int
        Agents ``0 .. n_agents-1`` settled by the ledger.
    auth_seed : bytes or int
        Master secret of the key set-up shared with the honest agents (an int
        seeds one, for tests), see :mod:`simulators.common.auth`.
    tariff : TariffConfig, optional
        The scenario's retail tariff (:mod:`simulators.common.tariffs`); default
        its defaults.
    """

    def __init__(self, cfg, net, start: str, step_s: int, n_steps: int, seed: int,
                 n_agents: int, auth_seed: int, tariff: TariffConfig | None = None) -> None:
        if cfg.gate_closure_s >= step_s:
            raise MarketConfigError(
                f"market.gate_closure_s={cfg.gate_closure_s} must be < step_s={step_s} "
                "(orders for an interval are sent at the start of the previous one)")
        self.cfg, self.start, self.step_s, self.n_steps = cfg, start, int(step_s), int(n_steps)
        self.rng = np.random.default_rng(seed)
        self.ring = KeyRing(auth_seed)
        # accepted msg_ids (replay protection), of the last REPLAY_WINDOW gates: an order is
        # booked only at the gate of its own interval (receive and gate refuse any other as
        # late before checking it), and its msg_id is signed together with that interval, so
        # an id accepted at an earlier gate can reach the check again only as a copy of an
        # order of the previous gate (market.attack re-sends those); every id of a run kept
        # a district year's 3.5 GB
        self.seen = SeenIds(window=REPLAY_WINDOW)
        self.n_agents = int(n_agents)
        self.tariff = (tariff or TariffConfig()).model_dump()
        self.ledger = Ledger(n_agents, cfg.imbalance_price, cfg.imbalance_penalty_eur_per_mwh, self.tariff, start)
        self.values: dict = {}
        self.validator = None
        if cfg.dso_check != "none":
            if net is None:
                raise MarketConfigError(f"market.dso_check={cfg.dso_check!r} needs the scenario grid")
            self.validator = DsoValidator(net, cfg.voltage_band_pu, cfg.max_loading_percent, cfg.zones,
                                          cfg.caps.zone_import_mw, cfg.caps.zone_export_mw)
        self._net = net
        self._base_profiles = None
        self.replaced: dict[str, np.ndarray] = {}
        self._base_parts: list | None = None  # base_state's static part, built on first use
        if self.validator is not None:
            from simulators.common.netdata import element_profiles

            self._base_profiles = {(el, col): element_profiles(net, el, col) for el, col in _BASE_ELEMENTS}
            self.values["dso_forecast_p_mw"] = np.full(len(net.bus), np.nan)
            self.values["dso_feasible"] = 1.0
        self.flex = None
        self.clear_fn = resolve_mechanism(cfg.mechanism)  # None for the network mechanisms below
        if cfg.mechanism in ("dlmp", "lfm"):
            if net is None:
                raise MarketConfigError(f"market.mechanism={cfg.mechanism!r} needs the scenario grid")
            from simulators.market.flexmarket import FlexMarket

            self.flex = FlexMarket(cfg, net, start, step_s, n_agents)
            if cfg.mechanism == "dlmp" and self._base_profiles is None:
                from simulators.common.netdata import element_profiles

                self._base_profiles = {(el, c): element_profiles(net, el, c) for el, c in _BASE_ELEMENTS}
        self.pending = msgs.empty(0)
        self.last_accepted = msgs.empty(0)
        self.cleared_upto = -1  # last interval index gated
        self.late_since_gate = 0
        self.values.update(dict.fromkeys(SCALARS, 0.0))
        self.values["price_eur_per_mwh"] = np.nan
        if self.flex is not None:
            self._declare_flex()
        self.out_messages: list[np.ndarray] = []
        self.out_events: list[np.ndarray] = []
        self.out_orders: list[np.ndarray] = []
        self.out_tx: list[np.ndarray] = []  # ledger transactions not yet handed to the adapter
        self.awaiting: list[tuple] = []  # gates whose trades wait for the ledger's answer
        self._next_trade_id = 0
        if cfg.dso_model is not None:
            self.values["dso_eur"], self.values["returned_eur"] = 0.0, 0.0

    def replace_elements(self, load=(), sgen=(), storage=()) -> None:
        """Elements a participant models (the household simulator's set, the same the
        grid takes out of its profile injection): the DSO's state leaves them out
        of the profile base; they enter through the participants' orders."""
        self.replaced = {el: np.asarray(list(idx), dtype=np.int64)
                         for el, idx in (("load", load), ("sgen", sgen), ("storage", storage))}
        if self.flex is not None:
            self.flex.replaced_loads = self.replaced["load"]
        self._base_parts = None  # bus positions and masks of base_state follow the set

    def gate_ms(self, k: int) -> int:
        """Gate closure of interval ``k`` [ms since start]."""
        return max(0, k * self.step_s - self.cfg.gate_closure_s) * 1000

    # -- input -----------------------------------------------------------------
    def receive(self, batch: np.ndarray, now_ms: int) -> None:
        """Buffer orders, settle meter readings; other kinds are ignored.

        ``batch`` is not changed: messages without an ``arrival_ms`` (< 0) are
        stamped ``now_ms`` in the copies kept.
        """
        if not len(batch):
            return
        if self.flex is not None:
            flex = batch.copy()
            _stamp(flex, now_ms)
            self.flex.receive(flex)
        kind = batch["kind"]
        meter = kind == Kind.METER
        if meter.any():
            meters = records.select(batch, meter)
            _stamp(meters, now_ms)
            self.ledger.settle_meters(meters)
        orders = records.select(batch, (kind == Kind.BID) | (kind == Kind.OFFER))  # a copy, owned from here on
        _stamp(orders, now_ms)
        late = orders["interval_s"] // self.step_s <= self.cleared_upto
        n_late = int(late.sum())
        if n_late:
            self.late_since_gate += n_late
            orders = records.select(orders, ~late)
        self.pending = records.concat([self.pending, orders]) if len(self.pending) else orders

    # -- gate closure ----------------------------------------------------------
    def gate(self, k: int) -> None:
        """Clear interval ``k`` with the orders that arrived by its gate closure.

        With ``market.ledger`` and at least one trade, the interval then waits for
        the ledger's answer (:meth:`settle`); otherwise it is executed and published here.
        """
        if self.awaiting:
            raise LedgerAnswerError(
                f"interval {self.awaiting[0][0]}: the ledger did not answer its transactions before the next "
                "gate closure; the ledger simulator must be connected back to the market at the same instant")
        iv = k * self.step_s
        g = self.gate_ms(k)
        # the order arrays are the operator's own (copies made in receive), so a
        # selection that keeps every record is skipped rather than copied
        book, self.pending = _split(self.pending, self.pending["interval_s"] // self.step_s <= k)
        on_time = (book["arrival_ms"] <= g) & (book["interval_s"] == iv)
        late = int((~on_time).sum()) + self.late_since_gate
        self.late_since_gate = 0
        book = msgs.select(book, on_time)
        attacks = self._attacks(iv, g)
        if len(attacks):
            book = np.concatenate([book, attacks])
        received = len(book)
        n_auth = 0
        if self.cfg.require_auth and len(book):
            forged, replayed = verify(book, self.ring, self.seen)
            bad = forged | replayed
            n_auth = int(bad.sum())
            book = msgs.select(book, ~bad)
        side = book["side"]
        valid = (((side == 1) | (side == -1)) & np.isfinite(book["quantity_mwh"])
                 & (book["quantity_mwh"] >= 0) & np.isfinite(book["price_eur_per_mwh"]))
        n_invalid = int((~valid).sum())
        book = msgs.select(book, valid)
        self.last_accepted = book
        retail = float(import_price_eur_per_mwh(self.tariff, self.start, iv)[0])
        feed_in = float(feed_in_price_eur_per_mwh(self.tariff, self.start, iv)[0])
        ctx = ClearingContext(retail, feed_in, iv, self.cfg.community_price_rule)
        counts = dict(orders_received=received, orders_late=late, orders_rejected_auth=n_auth,
                      orders_invalid=n_invalid)
        mech = self.cfg.mechanism
        self.cleared_upto = k
        if mech == "dlmp":
            # bid curves carry the homes' whole position: the pool clears them against the
            # rest of the grid (the DSO's whole-grid state, as for the DSO checks)
            curves = self.cfg.dlmp_base == "orders" and bool((book["sender"] >= 0).any())
            out = self.flex.dlmp(k, book, g, base_pq=self.base_state(k) if curves else None)
            self.values.update(out.values)
            self.out_messages.append(out.messages)
            if out.status == "optimal":
                self._book_pool(k, book, out, retail, feed_in, counts)
                return
            res = MECHANISMS["tariff"](book, ctx)
            res.status = out.status  # fallback to the tariff, recorded as market_status 5/6
        elif mech == "lfm":
            vals, m = self.flex.lfm(k, g)
            self.values.update(vals)
            self.out_messages.append(m)
            res = MECHANISMS["tariff"](book, ctx)  # energy at the retail tariff
        else:
            res = self.clear_fn(book, ctx)
        if self.cfg.ledger is not None and len(res.trades):
            self._submit(k, g, book, res, retail, feed_in, counts)
            return
        self._execute(k, book, res, retail, feed_in, counts)

    def _execute(self, k, book, res, retail, feed_in, counts) -> None:
        """Execute the (ledger-settled) trades of interval ``k``: DSO check, booking, results."""
        iv = k * self.step_s
        ex = Execution.from_clearing(book, res.trades, self._retail_of_orders(iv, book, retail), feed_in)
        dropped = res.trades["reason"] == LEDGER_NOT_FINAL
        if dropped.any():
            hit = np.zeros(len(book), bool)
            hit[res.trades["buyer_order"][dropped]] = True
            hit[res.trades["seller_order"][dropped]] = True
            ex.reason[hit & ~ex.to_retail] = LEDGER_NOT_FINAL
        base_p, base_q = self.base_state(k)
        dso = dso_check(self.cfg.dso_check, self.validator, ex, base_p, self.step_s / 3600.0, base_q)
        if dso.p_mw is not None:
            self.values["dso_forecast_p_mw"] = dso.p_mw
            self.values["dso_feasible"] = float(dso.feasible)
        before = self.ledger.operator_eur
        self.ledger.book_clearing(iv, book, ex.trades, ex.retail_mwh, retail, feed_in)
        self._route(before, ex.trades)
        self._publish(k, book, res, ex, retail, feed_in, counts)

    def _retail_of_orders(self, iv: int, book: np.ndarray, retail: float):
        """The retail import price each order's backstop is checked against [EUR/MWh].

        The published price of the interval, except under block prices: there a
        home's BID is compared with its marginal tier price
        (:func:`simulators.common.tariffs.marginal_import_price_eur_per_mwh`, the
        rule its energy manager applies) at the retail import residual the market
        knows so far in the billing period (:meth:`Ledger.block_import_mwh`: settled
        meter readings plus the scheduled residual of intervals not metered yet; a
        reading is sent when its interval ends, so at the gate of interval k + 1 the
        reading of interval k is missing). Where a home deviated from its schedule
        near a tier edge the two prices can differ for an interval. Other senders:
        first tier.
        """
        if self.ledger.blocks is None:
            return retail
        cum = self.ledger.block_import_mwh(iv)
        s = book["sender"].astype(np.int64)
        home = (s >= 0) & (s < self.n_agents)
        c = np.where(home, cum[np.clip(s, 0, max(self.n_agents - 1, 0))], 0.0) if self.n_agents else np.zeros(len(s))
        return marginal_import_price_eur_per_mwh(self.tariff, self.start, iv, c)

    def _route(self, before_eur: float, trades: np.ndarray) -> None:
        """Pass this interval's operator surplus on as ``market.dso_model`` says."""
        to = self.cfg.rent_to
        if to == "operator":
            return
        q = trades["quantity_mwh"]
        agents = np.concatenate([trades["buyer"], trades["seller"]]).astype(np.int64)
        self.ledger.route_surplus(self.ledger.operator_eur - before_eur, to, agents, np.concatenate([q, q]))
        self.values["dso_eur"], self.values["returned_eur"] = self.ledger.dso_eur, self.ledger.returned_eur

    def _submit(self, k: int, g_ms: int, book, res, retail, feed_in, counts) -> None:
        """Submit the trades of interval ``k`` as ledger transactions at gate closure and
        keep the interval until the ledger answers (:meth:`settle`)."""
        iv = k * self.step_s
        trades = res.trades
        n = len(trades)
        tx = np.zeros(n, TX_DTYPE)
        tx["trade_id"] = self._next_trade_id + np.arange(n)
        self._next_trade_id += n
        tx["interval_s"], tx["buyer"], tx["seller"] = iv, trades["buyer"], trades["seller"]
        tx["quantity_mwh"], tx["submit_s"] = trades["quantity_mwh"], g_ms / 1000.0
        tx["deadline_s"] = float(iv + (self.step_s if self.cfg.ledger.deadline == "delivery_end" else 0))
        self.out_tx.append(tx)
        self.awaiting.append((k, book, res, retail, feed_in, counts, tx["trade_id"]))

    def settle(self, answers: np.ndarray) -> None:
        """Apply the ledger's answers (:data:`simulators.common.dlt.ANSWER_DTYPE`) to the
        waiting intervals, in gate order, and execute and publish them.

        A trade not final by its deadline keeps its record with ``quantity_mwh = 0``,
        ``curtailed_mwh`` = the agreed quantity and reason :data:`LEDGER_NOT_FINAL`;
        its volume is then unmatched for the retail backstop rule. The fee of every
        transaction is booked, final or not (half to the buyer, half to the seller).
        """
        order = np.argsort(answers["trade_id"], kind="stable")
        ids = answers["trade_id"][order]
        while self.awaiting:
            k, book, res, retail, feed_in, counts, want = self.awaiting[0]
            pos = np.minimum(np.searchsorted(ids, want), max(len(ids) - 1, 0))
            if not len(ids) or not np.array_equal(ids[pos], want):
                raise LedgerAnswerError(f"interval {k}: the ledger's answer lacks some of its "
                                        f"{len(want)} transactions; got {len(answers)} answers")
            self.awaiting.pop(0)
            a = answers[order[pos]]
            ok = a["final_in_time"].astype(bool)
            trades = res.trades.copy()
            q = trades["quantity_mwh"].copy()
            trades["curtailed_mwh"] = np.where(ok, trades["curtailed_mwh"], q)
            trades["quantity_mwh"] = np.where(ok, q, 0.0)
            trades["reason"] = np.where(ok, trades["reason"], LEDGER_NOT_FINAL)
            self.ledger.book_fees(trades["buyer"], trades["seller"], a["fee_eur"])
            res.trades = trades
            self._execute(k, book, res, retail, feed_in, counts)

    def _book_pool(self, k, book, out, retail, feed_in, counts) -> None:
        """Book and answer a DLMP clearing: every accepted order trades with the pool at its bus DLMP.

        The pool (the grid behind the market operator) is an extra order row with
        ``sender = MARKET``; the ledger skips it, RESULT messages are not sent to it.
        """
        n, acc, price = len(book), out.accepted_mwh, out.price_eur_per_mwh
        hit = np.flatnonzero(acc > 0)
        ext = msgs.concat([book, msgs.empty(1)])
        ext["sender"][n], ext["quantity_mwh"][n] = msgs.MARKET, float(acc.sum())
        buy = book["side"][hit] > 0
        tr = np.zeros(len(hit), TRADE_DTYPE)
        tr["buyer"] = np.where(buy, book["sender"][hit], msgs.MARKET)
        tr["seller"] = np.where(buy, msgs.MARKET, book["sender"][hit])
        tr["buyer_bus"] = np.where(buy, book["bus"][hit], -1)
        tr["seller_bus"] = np.where(buy, -1, book["bus"][hit])
        tr["quantity_mwh"] = acc[hit]
        tr["price_eur_per_mwh"] = tr["seller_price_eur_per_mwh"] = price[hit]
        tr["buyer_order"] = np.where(buy, hit, n)
        tr["seller_order"] = np.where(buy, n, hit)
        # the network-constrained pool is the only counterparty: volume it does not accept is
        # not executed (no retail backstop, which would bypass the network constraints)
        ex = Execution.from_clearing(ext, tr, np.inf, -np.inf)
        before = self.ledger.operator_eur
        self.ledger.book_clearing(k * self.step_s, ext, tr, ex.retail_mwh, retail, feed_in)
        self._route(before, tr)
        vol = float(acc[book["side"] > 0].sum())
        mean = float((acc * price)[book["side"] > 0].sum() / vol) if vol > 0 else np.nan
        res = ClearingResult(tr, np.r_[acc, acc.sum()], mean, out.welfare_eur,
                             "cleared" if len(hit) else ("empty" if not n else "no_trade"))
        self._publish(k, ext, res, ex, retail, feed_in, counts)
        self.out_messages[-1] = self.out_messages[-1][self.out_messages[-1]["receiver"] != msgs.MARKET]
        self.values.update(welfare_eur=out.welfare_eur, local_share_of_demand=0.0)

    def _declare_flex(self) -> None:
        """Initial values of the dlmp / lfm outputs (units: the adapter's declarations)."""
        from simulators.market import flexmarket as fm

        if self.cfg.mechanism == "dlmp":
            for a in fm.BUS_SERIES:
                self.values[a] = np.full(len(self.flex.bus_index), np.nan)
            self.values.update(dict.fromkeys(fm.DLMP_SCALARS, np.nan))
        else:
            self.values.update(dict.fromkeys(fm.LFM_SCALARS, 0.0))
            self.values["traffic_light"] = np.zeros(self.flex.n_area)

    def _publish(self, k, book, res, ex: Execution, retail, feed_in, counts) -> None:
        iv = k * self.step_s
        trades = ex.trades
        q = trades["quantity_mwh"]
        paid = np.zeros(len(book))
        np.add.at(paid, trades["buyer_order"], q * trades["price_eur_per_mwh"])
        np.add.at(paid, trades["seller_order"], q * trades["seller_price_eur_per_mwh"])
        filled, to_retailer = ex.local_mwh, ex.retail_mwh
        buy = book["side"] > 0
        demand = float(book["quantity_mwh"][buy].sum())
        traded = float(q.sum())
        lim = book["price_eur_per_mwh"]
        out = msgs.empty(len(book))
        out["msg_id"] = msgs.make_ids(np.full(len(book), msgs.MARKET), k * 1_000_000 + np.arange(len(book)))
        out["kind"], out["sender"], out["receiver"] = Kind.RESULT, msgs.MARKET, book["sender"]
        out["bus"], out["interval_s"], out["side"] = book["bus"], iv, book["side"]
        # executed = local + retail (backstop rule, after DSO curtailment); the rest is not executed
        out["quantity_mwh"], out["quantity2_mwh"] = filled, to_retailer
        with np.errstate(invalid="ignore", divide="ignore"):
            out["price_eur_per_mwh"] = np.where(filled > 0, paid / filled, np.where(buy, retail, feed_in))
        out["send_ms"], out["ref_id"] = self.gate_ms(k), book["msg_id"]
        self.out_messages.append(out)
        ev = np.zeros(len(trades), dtype=EVENT_TRADE_DTYPE)
        for f in ("buyer", "seller", "buyer_bus", "seller_bus", "quantity_mwh", "price_eur_per_mwh",
                  "seller_price_eur_per_mwh", "curtailed_mwh", "reason"):
            ev[f] = trades[f]
        ev["interval_s"], ev["curtailed"] = iv, (trades["curtailed_mwh"] > 0) & (trades["reason"] != LEDGER_NOT_FINAL)
        self.out_events.append(ev)
        oe = np.zeros(len(book), dtype=EVENT_ORDER_DTYPE)
        for f in ("sender", "bus", "side", "quantity_mwh"):
            oe[f] = book[f]
        oe["interval_s"], oe["limit_eur_per_mwh"] = iv, lim
        oe["local_mwh"], oe["retail_mwh"] = filled, to_retailer
        oe["curtailed_mwh"], oe["reason"] = ex.curtailed_mwh, ex.reason
        self.out_orders.append(msgs.select(oe, book["sender"] != msgs.MARKET))
        price = res.clearing_price_eur_per_mwh if traded > 0 else np.nan
        self.values.update(
            price_eur_per_mwh=price, traded_mwh=traded,
            retail_import_mwh=float(to_retailer[buy].sum()), retail_export_mwh=float(to_retailer[~buy].sum()),
            not_executed_mwh=float(np.maximum(book["quantity_mwh"] - ex.executed_mwh, 0.0)
                                   [book["sender"] != msgs.MARKET].sum()),
            welfare_eur=float(np.sum((lim[trades["buyer_order"]] - lim[trades["seller_order"]]) * q)),
            market_status=STATUS_CODES[res.status], trades_curtailed=int(ev["curtailed"].sum()),
            curtailed_mwh=float(ex.curtailed_mwh[book["sender"] != msgs.MARKET].sum()),
            local_share_of_demand=traded / demand if demand > 0 else 0.0, **counts)

    def _attacks(self, iv: int, g_ms: int) -> np.ndarray:
        """Forged and replayed orders injected by ``market.attack``."""
        a = self.cfg.attack
        parts = []
        n = a.forged_orders_per_interval
        if n:
            f = msgs.empty(n)
            side = self.rng.choice(np.array([1, -1], dtype=np.int8), n)
            f["msg_id"] = self.rng.integers(1 << 62, size=n)
            f["kind"] = np.where(side > 0, Kind.BID, Kind.OFFER)
            f["sender"], f["side"], f["interval_s"] = self.rng.integers(0, max(self.n_agents, 1), n), side, iv
            f["quantity_mwh"] = self.rng.uniform(0.0, 0.01, n)  # up to 40 kW over 15 min
            f["price_eur_per_mwh"] = np.where(side > 0, 10_000.0, 0.0)  # aggressive: would clear first
            f["send_ms"] = f["arrival_ms"] = g_ms
            f["tag"] = self.rng.integers(1, np.iinfo(np.int64).max, n).astype(np.uint64)
            parts.append(f)
        n = min(a.replayed_orders_per_interval, len(self.last_accepted))
        if n:
            r = self.last_accepted[self.rng.choice(len(self.last_accepted), n, replace=False)].copy()
            r["arrival_ms"] = g_ms  # an eavesdropper re-sends accepted orders unchanged (same msg_id, tag)
            parts.append(r)
        return msgs.concat(parts)

    def base_state(self, k: int) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The DSO's forecast of the elements no participant replaces, per bus
        (consumer reference) for interval ``k``: (p [MW], q [Mvar]); (None, None)
        without a DSO network. The active power of replaced elements enters through
        the orders only; orders carry no reactive power, so a replaced load keeps its
        profile's reactive power here (the participants' base-load Mvar, which the
        households inject too)."""
        if self._base_profiles is None:
            return None, None
        from simulators.common.netdata import profile_row

        net = self._net
        row = np.array([profile_row(self.start, k * self.step_s)])
        p = np.zeros(len(net.bus))
        q = np.zeros(len(net.bus))
        for col, prof, sign, bus_pos, keep in self._base_static():
            np.add.at(p if col == "p_mw" else q, bus_pos, sign * prof.values(row)[0] * keep)
        return p, q

    def _base_static(self) -> list:
        """Per profile of :meth:`base_state`: (column, profile, sign, bus positions,
        in-service-and-not-replaced mask), fixed over the run (the net's tables do
        not change; :meth:`replace_elements` resets it)."""
        if self._base_parts is None:
            net = self._net
            pos = self.validator.positions if self.validator is not None else (lambda b: self.flex.pos[b])
            self._base_parts = []
            for (el, col), prof in self._base_profiles.items():
                src = net[el]
                if not len(src):
                    continue
                keep = src.in_service.to_numpy()
                if not (el == "load" and col == "q_mvar"):
                    keep = keep & ~np.isin(src.index.to_numpy(), self.replaced.get(el, ()))
                sign = -1.0 if el == "sgen" else 1.0  # sgens are generator reference
                self._base_parts.append((col, prof, sign, pos(src.bus.to_numpy()), keep))
        return self._base_parts

    # -- output ----------------------------------------------------------------
    def take_messages(self) -> np.ndarray:
        """RESULT messages produced since the last call."""
        parts = [p for p in self.out_messages if p is not None and len(p)]
        self.out_messages = []
        return _joined(parts, msgs.empty(0))

    def take_transactions(self) -> np.ndarray:
        """Ledger transactions submitted since the last call (:data:`simulators.common.dlt.TX_DTYPE`)."""
        out = np.concatenate(self.out_tx) if self.out_tx else np.zeros(0, TX_DTYPE)  # a copy: awaiting keeps views
        self.out_tx = []
        return out

    def take_events(self, name: str = "trades") -> np.ndarray:
        """``events_<name>`` records produced since the last call (:data:`EVENT_TABLES`)."""
        if name == "orders":
            ev = _joined(self.out_orders, np.zeros(0, EVENT_ORDER_DTYPE))
            self.out_orders = []
            return ev
        if name != "trades":
            if self.flex is None:
                from simulators.market.flexmarket import FLEX_EVENT_DTYPE, REQUEST_EVENT_DTYPE

                return np.zeros(0, FLEX_EVENT_DTYPE if name == "flex" else REQUEST_EVENT_DTYPE)
            return self.flex.take_events(name)
        ev = _joined(self.out_events, np.zeros(0, EVENT_TRADE_DTYPE))
        self.out_events = []
        return ev


def _joined(parts: list[np.ndarray], empty: np.ndarray) -> np.ndarray:
    """The operator's own output parts as one array: ``empty`` for none, the part itself for one
    (each part is built fresh for the output and not kept), else their concatenation."""
    if not parts:
        return empty
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _stamp(batch: np.ndarray, now_ms: int) -> None:
    """Set ``arrival_ms`` of messages not stamped yet (< 0) to ``now_ms``, in place."""
    arr = batch["arrival_ms"]
    arr[arr < 0] = now_ms


def _split(records: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(records[mask], records[~mask])`` without copying when one side is empty."""
    if mask.all():
        return records, records[:0]
    if not mask.any():
        return records[:0], records
    return records[mask], records[~mask]


#: Profile-driven element columns of the DSO's base state: the same the grid simulator drives.
_BASE_ELEMENTS = (("load", "p_mw"), ("load", "q_mvar"), ("sgen", "p_mw"), ("storage", "p_mw"))

__all__ = ["LEDGER_NOT_FINAL", "EVENT_ORDER_DTYPE", "EVENT_TABLES", "EVENT_TRADE_DTYPE", "MarketOperator", "REASONS", "SCALARS"]
