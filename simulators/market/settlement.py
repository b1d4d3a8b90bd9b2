"""Settlement: each agent's bill from local trades and the retailer's metered residual.

Sign: a bill is what the agent pays [EUR]; a revenue is a negative bill.

Per delivery interval and agent ``a``:

1. *At clearing* (provisional bill): matched energy at the trade prices
   (``price_eur_per_mwh`` paid by buyers, ``seller_price_eur_per_mwh`` received
   by sellers), plus the volume its orders execute with the retailer (the
   backstop rule of :mod:`.execution`, after DSO curtailment) at the tariff:
   demand at the retail import price, supply at the feed-in price. Volume not
   executed is not billed. The executed retail volume is physical (it becomes
   device setpoints); its money is provisional. The scheduled net position is
   the executed ``bids - offers`` [MWh, consumer ref.], the local net position
   ``L`` the locally bought minus sold energy [MWh].
2. *At metering*: a METER message (``quantity_mwh`` = imported,
   ``quantity2_mwh`` = exported energy of the interval [MWh]) replaces the
   provisional retail part: the retailer settles the metered residual after
   ``L`` is taken out of the meter,
   :func:`simulators.common.tariffs.retail_bill_eur` (the same function the
   households bill with), at the tariff prices of the interval. Local trades
   stay paid at their trade prices. Without local trades this is exactly the
   meter bill; a seller's shortfall against a local sale is bought at retail, a
   buyer's surplus sold at feed-in. ``market.imbalance_price``:
   ``tariff``: nothing more; ``penalty``: plus
   ``imbalance_penalty_eur_per_mwh * |metered_net - scheduled_net|``, paid to
   the retailer. ``imbalance_mwh`` accumulates ``metered_net - scheduled_net``.
   The tariff-only baseline bill (``import * retail - export * feed_in``, the
   same function with ``L = 0``) is accumulated at the same time for comparison.
   A second reading of the same agent and interval is ignored.
   Under increasing block prices (tariff kind ``ibp``) the retail import is
   charged through the tiers by a :class:`~simulators.common.tariffs.BlockBiller`
   fed with the metered residuals (a second one, fed with the plain meter
   import, prices the tariff-only baseline), the same rule the households bill with.

Agents without a meter reading keep their provisional bill. ``bill_open_eur``
is the part of ``bill_eur`` booked for intervals whose reading has not been
settled yet, so ``bill_eur - bill_open_eur`` is the metered, final bill. The ledger keeps
the bookings of the last :data:`OPEN_INTERVALS` cleared intervals; a reading
for an older interval is logged and ignored (it keeps the provisional bill).

Money is conserved: every EUR an agent pays goes to the retailer (tariff volume,
the residual correction at metering and penalties, ``retailer_eur``), to the
market operator (buyer payments minus seller receipts of local trades,
``operator_eur``; the pay-as-bid spread) or, with settlement on a distributed
ledger, to its validators as transaction fees (``dlt_fee_eur``). Under
``market.dso_model`` the operator's surplus of each interval is passed on
(:meth:`Ledger.route_surplus`): to the DSO (``dso_eur``) or back to the traders
(lower bills), so
``sum(bill_eur) == retailer_eur + operator_eur + dso_eur + dlt_fee_eur`` at all times.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from simulators.common import messages as msgs
from simulators.common.tariffs import BlockBiller, retail_bill_eur, retail_residual_mwh

log = logging.getLogger(__name__)

#: Cleared intervals whose bookings wait for meter readings. Readings are sent at
#: the start of the next interval, so any ICT delay below a day is covered (one
#: day of 15-min intervals; an assumption on the longest meter delay).
OPEN_INTERVALS = 96


@dataclass
class _Booked:
    """What clearing booked for one interval, per agent."""

    sched_mwh: np.ndarray  # scheduled net position (executed bids - offers) [MWh]
    local_mwh: np.ndarray  # local net position L (bought - sold locally) [MWh]
    retail_eur: np.ndarray  # provisional retail money at clearing [EUR]
    cost_eur: np.ndarray  # whole bill booked at clearing (local + retail) [EUR]
    retail_eur_per_mwh: float
    feed_in_eur_per_mwh: float
    metered: np.ndarray  # bool: a meter reading was settled


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
    tariff : TariffConfig or dict, optional
        The scenario tariff; only its kind ``ibp`` changes the ledger (block billing at metering).
    start : str, optional
        ISO start of the run (needed with an ``ibp`` tariff: billing periods).
    """

    def __init__(self, n_agents: int, imbalance_price: str = "tariff",
                 imbalance_penalty_eur_per_mwh: float = 0.0, tariff=None, start: str | None = None) -> None:
        self.n = int(n_agents)
        kind = None if tariff is None else (tariff.get("kind") if isinstance(tariff, dict) else tariff.kind)
        #: block billers of an ``ibp`` tariff: metered residual, and plain meter (tariff baseline)
        self.blocks = ((BlockBiller(tariff, start, self.n), BlockBiller(tariff, start, self.n))
                       if kind == "ibp" else None)
        self.rule = imbalance_price
        self.penalty = float(imbalance_penalty_eur_per_mwh) if imbalance_price == "penalty" else 0.0
        self.bill_eur = np.zeros(self.n)
        self.bill_tariff_eur = np.zeros(self.n)
        self.imbalance_mwh = np.zeros(self.n)
        self.bill_open_eur = np.zeros(self.n)  # part of bill_eur booked for intervals still awaiting the meter
        self.retailer_eur = 0.0  # running total received by the retailer [EUR]
        self.operator_eur = 0.0  # running total kept by the market operator [EUR]
        self.dlt_fee_eur = 0.0  # running total of ledger transaction fees [EUR]
        self.dso_eur = 0.0  # running total of operator surplus passed to the DSO [EUR]
        self.returned_eur = 0.0  # running total of operator surplus returned to traders [EUR]
        self._booked: dict[int, _Booked] = {}
        self.ignored = 0
        self.duplicate_meters = 0

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

    def book_fees(self, buyers: np.ndarray, sellers: np.ndarray, fee_eur_per_tx) -> None:
        """Book one ledger transaction fee per trade, half to its buyer and half to its seller
        (the split is an assumption) [EUR]; ``fee_eur_per_tx`` is one fee for all or one per trade."""
        fee = np.broadcast_to(np.asarray(fee_eur_per_tx, float), (len(buyers),))
        if len(buyers) == 0 or not fee.any():
            return
        for who in (np.asarray(buyers, np.int64), np.asarray(sellers, np.int64)):
            ok = self._valid(who)
            np.add.at(self.bill_eur, who[ok], 0.5 * fee[ok])
            self.dlt_fee_eur += float(0.5 * fee[ok].sum())

    def book_clearing(self, interval_s: int, orders: np.ndarray, trades: np.ndarray, retail_mwh: np.ndarray,
                      retail_eur_per_mwh: float, feed_in_eur_per_mwh: float) -> np.ndarray:
        """Book the provisional bill of one cleared interval; returns the per-agent cost [EUR].

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
        side = np.where(buy, 1.0, -1.0)
        tariff = np.where(buy, retail_eur_per_mwh, -feed_in_eur_per_mwh)
        to_retailer = (retail_mwh * tariff)[ok]
        retail_cost = np.zeros(self.n)
        np.add.at(retail_cost, a[ok], to_retailer)
        cost += retail_cost
        self.retailer_eur += float(to_retailer.sum())
        sched = np.zeros(self.n)
        np.add.at(sched, a[ok], (side * (local + retail_mwh))[ok])
        local_net = np.zeros(self.n)
        np.add.at(local_net, a[ok], (side * local)[ok])
        self._booked[int(interval_s)] = _Booked(sched, local_net, retail_cost, cost, float(retail_eur_per_mwh),
                                                float(feed_in_eur_per_mwh), np.zeros(self.n, dtype=bool))
        while len(self._booked) > OPEN_INTERVALS:  # unmetered agents of the oldest keep the provisional bill
            old = self._booked.pop(min(self._booked))
            self.bill_open_eur -= np.where(old.metered, 0.0, old.cost_eur)
        self.bill_eur += cost
        self.bill_open_eur += cost
        return cost

    def block_import_mwh(self, interval_s: int) -> np.ndarray:
        """Per agent, the market's best estimate of its retail import residual in the billing
        period of ``interval_s`` before that interval [MWh] (``ibp`` tariff only).

        The settled meter readings (the counter of the block bill), plus, for
        earlier intervals of the period cleared but not yet metered, the residual
        of the scheduled position (:func:`~simulators.common.tariffs.retail_residual_mwh`
        of the executed net position with the local net position taken out). The
        home's own counter is its meter; the two differ by the deviation of the
        unmetered intervals from their schedule.
        """
        b = self.blocks[0]
        cum = b.cumulative_mwh(interval_s).copy()
        key = b.period_of(interval_s)
        for iv, bk in self._booked.items():
            open_ = ~bk.metered
            if iv >= interval_s or not open_.any() or b.period_of(iv) != key:
                continue
            sched = bk.sched_mwh
            imp, _ = retail_residual_mwh(np.maximum(sched, 0.0), np.maximum(-sched, 0.0), bk.local_mwh)
            cum += np.where(open_, imp, 0.0)
        return cum

    def settle_meters(self, meters: np.ndarray) -> None:
        """Replace the provisional retail money of metered agents by the residual rule (module docstring)."""
        ivs = meters["interval_s"]
        for iv in np.unique(ivs).tolist():
            m = msgs.select(meters, ivs == iv)  # selections keeping every reading are no copies
            bk = self._booked.get(int(iv))
            if bk is None:
                log.warning("meter readings for interval %s s without an open booking (not cleared or too old)", iv)
                continue
            a = m["sender"].astype(np.int64)
            ok = self._valid(a)
            a, m = a[ok], msgs.select(m, ok)
            _, first = np.unique(a, return_index=True)
            fresh = np.zeros(len(a), dtype=bool)
            fresh[first] = True
            fresh &= ~bk.metered[a]
            self.duplicate_meters += int((~fresh).sum())
            a, m = a[fresh], msgs.select(m, fresh)
            bk.metered[a] = True
            np.subtract.at(self.bill_open_eur, a, bk.cost_eur[a])
            imp, exp_ = m["quantity_mwh"], m["quantity2_mwh"]
            dev = imp - exp_ - bk.sched_mwh[a]
            if self.blocks is None:
                retail = retail_bill_eur(imp, exp_, bk.local_mwh[a], bk.retail_eur_per_mwh, bk.feed_in_eur_per_mwh)
                base = retail_bill_eur(imp, exp_, 0.0, bk.retail_eur_per_mwh, bk.feed_in_eur_per_mwh)
            else:
                retail = self.blocks[0].retail_bill_eur(int(iv), imp, exp_, bk.local_mwh[a], bk.feed_in_eur_per_mwh, a)
                base = self.blocks[1].retail_bill_eur(int(iv), imp, exp_, 0.0, bk.feed_in_eur_per_mwh, a)
            pay = retail - bk.retail_eur[a] + self.penalty * np.abs(dev)
            np.add.at(self.bill_eur, a, pay)
            self.retailer_eur += float(pay.sum())
            np.add.at(self.imbalance_mwh, a, dev)
            np.add.at(self.bill_tariff_eur, a, base)
