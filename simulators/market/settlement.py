"""Settlement: each agent's bill from trades, retail fallback and metered energy.

Sign: a bill is what the agent pays [EUR]; a revenue is a negative bill.

Per delivery interval and agent ``a``:

1. *At clearing* (scheduled bill): matched energy at the trade prices
   (``price_eur_per_mwh`` paid by buyers, ``seller_price_eur_per_mwh`` received
   by sellers), plus the volume its orders execute with the retailer (the
   backstop rule of :mod:`.execution`, after DSO curtailment) at the tariff:
   demand at the retail import price, supply at the feed-in price. Volume not
   executed is not billed. The scheduled net position is the executed
   ``bids - offers`` [MWh, consumer ref.].
2. *At metering*: a METER message (``quantity_mwh`` = imported,
   ``quantity2_mwh`` = exported energy of the interval [MWh]) gives the actual
   net position; the deviation ``metered - scheduled`` is an imbalance priced
   by ``market.imbalance_price``:
   ``tariff``: shortfall bought at the retail price, surplus sold at feed-in;
   ``penalty``: the same +- ``imbalance_penalty_eur_per_mwh`` (shortfall pays
   more, surplus earns less).
   The tariff-only baseline bill (``import * retail - export * feed_in``) is
   accumulated at the same time for comparison.

Agents without a meter reading keep their scheduled bill (no imbalance).

Money is conserved: every EUR an agent pays goes to the retailer (tariff volume
and imbalance, ``retailer_eur``) or to the market operator (buyer payments minus
seller receipts of local trades, ``operator_eur``; the pay-as-bid spread), or, with settlement on a distributed ledger, to its validators as transaction
fees (``dlt_fee_eur``). Under ``market.dso_model`` the operator's surplus of
each interval is passed on (:meth:`Ledger.route_surplus`): to the DSO
(``dso_eur``) or back to the traders (lower bills), so
``sum(bill_eur) == retailer_eur + operator_eur + dso_eur + dlt_fee_eur`` at all times.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)


class Ledger:
    """Cumulative bills of ``n_agents`` agents (ids ``0 .. n_agents-1``).

    Parameters
    ----------
    n_agents : int
        Number of agents.
    imbalance_price : str
        ``"tariff"`` or ``"penalty"``.
    imbalance_penalty_eur_per_mwh : float
        Penalty for ``"penalty"`` [EUR/MWh].
    """

    def __init__(self, n_agents: int, imbalance_price: str = "tariff",
                 imbalance_penalty_eur_per_mwh: float = 0.0) -> None:
        self.n = int(n_agents)
        self.rule = imbalance_price
        self.penalty = float(imbalance_penalty_eur_per_mwh)
        self.bill_eur = np.zeros(self.n)
        self.bill_tariff_eur = np.zeros(self.n)
        self.imbalance_mwh = np.zeros(self.n)
        self.retailer_eur = 0.0  # running total received by the retailer [EUR]
        self.operator_eur = 0.0  # running total kept by the market operator [EUR]
        self.dlt_fee_eur = 0.0  # running total of ledger transaction fees [EUR]
        self.dso_eur = 0.0  # running total of operator surplus passed to the DSO [EUR]
        self.returned_eur = 0.0  # running total of operator surplus returned to traders [EUR]
        self._sched: dict[int, tuple[np.ndarray, float, float]] = {}
        self.ignored = 0

    def _valid(self, agent: np.ndarray) -> np.ndarray:
        ok = (agent >= 0) & (agent < self.n)
        self.ignored += int((~ok).sum())
        return ok

    def route_surplus(self, surplus_eur: float, to: str, agents: np.ndarray | None = None,
                      weights: np.ndarray | None = None) -> None:
        """Pass an interval's operator surplus [EUR] on: ``operator`` keeps it,
        ``dso`` receives it (``dso_eur``), ``participants`` get it back pro rata to
        ``weights`` (their traded energy) as a lower bill (``returned_eur``)."""
        if surplus_eur == 0 or to == "operator":
            return
        if to == "participants" and (agents is None or len(agents) == 0 or float(np.sum(weights)) <= 0):
            return  # nobody traded: nothing to return to, the operator keeps it
        self.operator_eur -= surplus_eur
        if to == "dso":
            self.dso_eur += surplus_eur
            return
        a = np.asarray(agents, np.int64)
        w = np.asarray(weights, float)
        ok = self._valid(a)
        share = surplus_eur * w[ok] / float(w[ok].sum())
        np.subtract.at(self.bill_eur, a[ok], share)
        self.returned_eur += surplus_eur

    def book_fees(self, buyers: np.ndarray, sellers: np.ndarray, fee_eur_per_tx: float) -> None:
        """Book one ledger transaction fee per trade, half to its buyer and half to its seller
        (the split is an assumption) [EUR]."""
        if fee_eur_per_tx == 0 or len(buyers) == 0:
            return
        for who in (np.asarray(buyers, np.int64), np.asarray(sellers, np.int64)):
            ok = self._valid(who)
            np.add.at(self.bill_eur, who[ok], 0.5 * fee_eur_per_tx)
            self.dlt_fee_eur += 0.5 * fee_eur_per_tx * int(ok.sum())

    def book_clearing(self, interval_s: int, orders: np.ndarray, trades: np.ndarray, retail_mwh: np.ndarray,
                      retail_eur_per_mwh: float, feed_in_eur_per_mwh: float) -> np.ndarray:
        """Book the scheduled bill of one cleared interval; returns the per-agent cost [EUR].

        ``retail_mwh`` [MWh] per order: volume executed with the retailer.
        """
        cost = np.zeros(self.n)
        local = np.zeros(len(orders))
        np.add.at(local, trades["buyer_order"], trades["quantity_mwh"])
        np.add.at(local, trades["seller_order"], trades["quantity_mwh"])
        for who, price, sign in (("buyer", "price_eur_per_mwh", 1.0), ("seller", "seller_price_eur_per_mwh", -1.0)):
            a = trades[who].astype(np.int64)
            ok = self._valid(a)
            flow = sign * (trades["quantity_mwh"] * trades[price])[ok]
            np.add.at(cost, a[ok], flow)
            self.operator_eur += float(flow.sum())
        a = orders["sender"].astype(np.int64)
        ok = self._valid(a)
        buy = orders["side"] > 0
        tariff = np.where(buy, retail_eur_per_mwh, -feed_in_eur_per_mwh)
        to_retailer = (retail_mwh * tariff)[ok]
        np.add.at(cost, a[ok], to_retailer)
        self.retailer_eur += float(to_retailer.sum())
        sched = np.zeros(self.n)
        np.add.at(sched, a[ok], np.where(buy, 1.0, -1.0)[ok] * (local + retail_mwh)[ok])
        self._sched[int(interval_s)] = (sched, float(retail_eur_per_mwh), float(feed_in_eur_per_mwh))
        self.bill_eur += cost
        return cost

    def settle_meters(self, meters: np.ndarray) -> None:
        """Price deviations of METER messages against the schedule of their interval."""
        for iv in np.unique(meters["interval_s"]).tolist():
            m = meters[meters["interval_s"] == iv]
            sched, retail, feed_in = self._sched.get(int(iv), (np.zeros(self.n), np.nan, np.nan))
            if np.isnan(retail):
                log.warning("meter readings for interval %s s without a cleared schedule", iv)
                continue
            a = m["sender"].astype(np.int64)
            ok = self._valid(a)
            a, m = a[ok], m[ok]
            net = m["quantity_mwh"] - m["quantity2_mwh"]
            dev = net - sched[a]
            up = retail + (self.penalty if self.rule == "penalty" else 0.0)
            down = feed_in - (self.penalty if self.rule == "penalty" else 0.0)
            pay = np.where(dev > 0, dev * up, dev * down)
            np.add.at(self.bill_eur, a, pay)
            self.retailer_eur += float(pay.sum())
            np.add.at(self.imbalance_mwh, a, dev)
            np.add.at(self.bill_tariff_eur, a, m["quantity_mwh"] * retail - m["quantity2_mwh"] * feed_in)
