"""What each order executes: local trades, the retail backstop, DSO curtailment.

The retail backstop rule (every mechanism): the volume an order did not trade
locally is executed with the retailer only if its limit crosses the tariff of
the interval -- a BID whose limit is at or above the retail import price, an
OFFER whose limit is at or below the feed-in price. Any other unmatched
volume is **not executed**. Per order, ``executed = local + retail`` [MWh].
Under increasing block prices the retail import price is per order: the
sending home's marginal tier price (the market operator passes an array).

DSO curtailment only ever lowers executed volume (:func:`cut_order`,
:func:`cut_trade`); the RESULT of an order carries ``local_mwh`` in
``quantity_mwh`` and ``retail_mwh`` in ``quantity2_mwh``.

Which orders the DSO may curtail (``flexible``): every OFFER (PV export is
curtailable, battery/EV discharge is flexible), and BIDs whose limit is
*below* the retail import price (battery/EV/heat-pump flexibility). A BID at
or above the retail price is inflexible demand and is never curtailed: when
only shedding it would remove a violation, the check stops, records
``feasible = False`` and sheds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Reason code of an order that lost local volume because its counterparty was
#: curtailed and whose limit does not cross the tariff (so no retail backstop).
COUNTERPARTY_CURTAILED = 8


def backstop(book: np.ndarray, retail_eur_per_mwh, feed_in_eur_per_mwh: float) -> np.ndarray:
    """True where an order's unmatched volume goes to the retailer (module docstring)."""
    lim = book["price_eur_per_mwh"]
    buy = book["side"] > 0
    return np.where(buy, lim >= retail_eur_per_mwh, lim <= feed_in_eur_per_mwh)


@dataclass
class Execution:
    """Executed volume per order of one interval [MWh] and the trades behind it.

    Attributes
    ----------
    book : numpy.ndarray
        The order book (MESSAGE_DTYPE); not modified.
    trades : numpy.ndarray
        TRADE_DTYPE records (a copy; ``quantity_mwh`` lowered by curtailment).
    local_mwh, retail_mwh : numpy.ndarray
        Per order: executed through local trades / with the retailer [MWh].
    curtailed_mwh : numpy.ndarray
        Per order: executed volume removed by the DSO [MWh].
    reason : numpy.ndarray of int8
        Per order: last curtailment reason (:data:`simulators.market.dso.REASONS`, 0 = none).
    to_retail : numpy.ndarray of bool
        Per order: the backstop rule applies.
    flexible : numpy.ndarray of bool
        Per order: the DSO may curtail it (module docstring).
    """

    book: np.ndarray
    trades: np.ndarray
    local_mwh: np.ndarray
    retail_mwh: np.ndarray
    curtailed_mwh: np.ndarray
    reason: np.ndarray
    to_retail: np.ndarray
    flexible: np.ndarray

    @classmethod
    def from_clearing(cls, book: np.ndarray, trades: np.ndarray, retail_eur_per_mwh,
                      feed_in_eur_per_mwh: float) -> "Execution":
        """Apply the backstop rule to a clearing's trades (``retail_eur_per_mwh``: a scalar or one per order)."""
        n = len(book)
        local = np.zeros(n)
        np.add.at(local, trades["buyer_order"], trades["quantity_mwh"])
        np.add.at(local, trades["seller_order"], trades["quantity_mwh"])
        to_retail = backstop(book, retail_eur_per_mwh, feed_in_eur_per_mwh)
        rest = np.maximum(book["quantity_mwh"] - local, 0.0)
        flexible = (book["side"] < 0) | (book["price_eur_per_mwh"] < retail_eur_per_mwh)
        return cls(book, trades.copy(), local, np.where(to_retail, rest, 0.0), np.zeros(n),
                   np.zeros(n, np.int8), to_retail, flexible)

    @property
    def executed_mwh(self) -> np.ndarray:
        """Executed volume per order [MWh]."""
        return self.local_mwh + self.retail_mwh

    def net_mwh(self) -> np.ndarray:
        """Executed net position per order [MWh], consumer reference (+ buy, - sell)."""
        return np.where(self.book["side"] > 0, 1.0, -1.0) * self.executed_mwh


def cut_trade(ex: Execution, t: int, d_mwh: float, code: int, skip_order: int = -1) -> None:
    """Lower trade ``t`` by ``d_mwh``; each party's freed volume goes to the retailer
    if the backstop applies, else it is not executed (``COUNTERPARTY_CURTAILED``).
    ``skip_order``: the order whose cut caused this (booked by :func:`cut_order`)."""
    tr = ex.trades
    tr["quantity_mwh"][t] -= d_mwh
    tr["curtailed_mwh"][t] += d_mwh
    tr["reason"][t] = code
    for o in (int(tr["buyer_order"][t]), int(tr["seller_order"][t])):
        ex.local_mwh[o] -= d_mwh
        if o == skip_order:
            continue
        if ex.to_retail[o]:
            ex.retail_mwh[o] += d_mwh
        else:
            ex.curtailed_mwh[o] += d_mwh
            ex.reason[o] = COUNTERPARTY_CURTAILED if code != 7 else code


def cut_order(ex: Execution, o: int, c_mwh: float, code: int) -> float:
    """Lower the executed volume of order ``o`` by up to ``c_mwh``: the retail part
    first, then its local trades (latest first). Returns the volume cut [MWh]."""
    c = min(float(c_mwh), float(ex.executed_mwh[o]))
    if c <= 0:
        return 0.0
    r = min(c, float(ex.retail_mwh[o]))
    ex.retail_mwh[o] -= r
    left = c - r
    tr = ex.trades
    mine = np.flatnonzero((tr["buyer_order"] == o) | (tr["seller_order"] == o))
    for t in mine[::-1]:
        if left <= 0:
            break
        d = min(left, float(tr["quantity_mwh"][t]))
        if d > 0:
            cut_trade(ex, int(t), d, code, skip_order=o)
            left -= d
    done = c - max(left, 0.0)
    ex.curtailed_mwh[o] += done
    ex.reason[o] = code
    if ex.executed_mwh[o] < 1e-15:  # clean round-off of a full cut
        ex.retail_mwh[o] = max(ex.retail_mwh[o], 0.0)
    return done
