"""The order model, the clearing context and the clearing result.

Orders
------
An order book is a 1-D structured array of
:data:`simulators.common.messages.MESSAGE_DTYPE` records:

* ``kind`` = ``Kind.BID`` with ``side`` = +1 (buy) or ``Kind.OFFER`` with
  ``side`` = -1 (sell); the side field decides.
* ``sender`` = agent id (household row), ``bus`` = pandapower bus of the agent.
* ``quantity_mwh`` >= 0 [MWh] energy for the delivery interval,
  ``price_eur_per_mwh`` [EUR/MWh] limit price (max. for a buyer, min. for a seller).
* ``interval_s`` start of the delivery interval [s since run start].
* ``send_ms`` / ``arrival_ms`` [ms] send and arrival time (arrival order drives
  the continuous double auction).
* ``tag`` truncated HMAC-SHA256 (see :mod:`simulators.common.auth`),
  ``msg_id`` unique id (replay nonce).

Trades
------
:data:`TRADE_DTYPE`: ``buyer``, ``seller`` (agent ids), ``buyer_bus``,
``seller_bus``, ``quantity_mwh``, ``price_eur_per_mwh`` (paid by the buyer),
``seller_price_eur_per_mwh`` (received by the seller; equal to the buyer price
except in ``pay_as_bid``), ``buyer_order``, ``seller_order`` (row indices in
the order book), ``curtailed_mwh`` and ``reason`` (DSO validation, see
:mod:`simulators.market.dso`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulators.common.messages import MESSAGE_DTYPE, Kind, empty
from simulators.market.errors import OrderBookError

TRADE_DTYPE = np.dtype(
    [
        ("buyer", np.int32),
        ("seller", np.int32),
        ("buyer_bus", np.int32),
        ("seller_bus", np.int32),
        ("quantity_mwh", np.float64),
        ("price_eur_per_mwh", np.float64),
        ("seller_price_eur_per_mwh", np.float64),
        ("buyer_order", np.int64),
        ("seller_order", np.int64),
        ("curtailed_mwh", np.float64),
        ("reason", np.int8),
    ]
)

#: ``market_status`` integer codes published by the adapter.
STATUS_CODES: dict[str, int] = {
    "cleared": 0,  # at least one trade
    "no_trade": 1,  # both sides present, but no bid crosses an offer
    "empty": 2,  # no (non-zero) order
    "one_sided": 3,  # only bids or only offers
    "no_market": 4,  # tariff baseline: everything goes to the retailer
    "infeasible": 5,  # dlmp / lfm clearing infeasible: the interval fell back to the tariff
    "solver_error": 6,  # dlmp / lfm solver failed: the interval fell back to the tariff
    "no_need": 7,  # lfm: the DSO forecast no constraint violation, nothing to procure
}


@dataclass(frozen=True)
class ClearingContext:
    """Everything a mechanism needs besides the orders.

    Parameters
    ----------
    retail_price_eur_per_mwh : float
        Retailer's import price for the interval [EUR/MWh]; unmatched demand pays it.
    feed_in_price_eur_per_mwh : float
        Retailer's feed-in remuneration [EUR/MWh]; unmatched supply receives it.
    interval_s : int
        Start of the delivery interval [s since run start].
    community_price_rule : str
        ``"sdr"`` (supply-demand ratio, Liu et al. 2017) or ``"mid_market"``
        (Long et al. 2017); used by the ``community`` mechanism only.
    """

    retail_price_eur_per_mwh: float = 400.0
    feed_in_price_eur_per_mwh: float = 82.0
    interval_s: int = 0
    community_price_rule: str = "sdr"


@dataclass
class ClearingResult:
    """Outcome of clearing one order book.

    Attributes
    ----------
    trades : numpy.ndarray
        :data:`TRADE_DTYPE` records.
    filled_mwh : numpy.ndarray
        Matched quantity per order (same length as the book) [MWh].
    clearing_price_eur_per_mwh : float
        Uniform price (pay_as_clear, community), volume-weighted mean buyer price
        (discriminatory mechanisms), NaN without trades [EUR/MWh].
    welfare_eur : float
        Sum over trades of (buyer limit - seller limit) * quantity [EUR].
    status : str
        A key of :data:`STATUS_CODES`.
    retail_import_mwh, retail_export_mwh : float
        Unmatched demand bought from / unmatched supply sold to the retailer [MWh].
    """

    trades: np.ndarray
    filled_mwh: np.ndarray
    clearing_price_eur_per_mwh: float
    welfare_eur: float
    status: str
    retail_import_mwh: float = 0.0
    retail_export_mwh: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def traded_mwh(self) -> float:
        """Total matched energy [MWh]."""
        return float(self.trades["quantity_mwh"].sum())


def make_orders(
    agent: np.ndarray,
    side: np.ndarray,
    quantity_mwh: np.ndarray,
    price_eur_per_mwh: np.ndarray,
    bus: np.ndarray | None = None,
    send_ms: np.ndarray | None = None,
    interval_s: int = 0,
) -> np.ndarray:
    """Build an order book from plain arrays.

    Parameters
    ----------
    agent : array of int
        Agent ids.
    side : array of int
        +1 buy, -1 sell.
    quantity_mwh : array of float
        Quantities [MWh].
    price_eur_per_mwh : array of float
        Limit prices [EUR/MWh].
    bus : array of int, optional
        pandapower bus per order (-1 if unknown).
    send_ms : array of int, optional
        Send (and arrival) time [ms]; default: the row order.
    interval_s : int
        Delivery interval start [s].

    Returns
    -------
    numpy.ndarray
        MESSAGE_DTYPE records with ``msg_id`` = row index.
    """
    n = len(agent)
    o = empty(n)
    side = np.asarray(side, dtype=np.int8)
    o["msg_id"] = np.arange(n)
    o["sender"] = agent
    o["side"] = side
    o["kind"] = np.where(side > 0, int(Kind.BID), int(Kind.OFFER))
    o["quantity_mwh"] = quantity_mwh
    o["price_eur_per_mwh"] = price_eur_per_mwh
    o["bus"] = -1 if bus is None else bus
    o["send_ms"] = np.arange(n) if send_ms is None else send_ms
    o["arrival_ms"] = o["send_ms"]
    o["interval_s"] = interval_s
    return o


def validate_orders(orders: np.ndarray) -> None:
    """Raise :class:`OrderBookError` naming the first bad row and field.

    Checks dtype, ``side`` in {+1, -1}, finite non-negative quantity, finite price.
    """
    if orders.dtype != MESSAGE_DTYPE:
        raise OrderBookError("orders must be a MESSAGE_DTYPE array (see simulators.common.messages)")
    checks = (
        ("side", ~np.isin(orders["side"], (1, -1)), "must be +1 (buy) or -1 (sell)"),
        ("quantity_mwh", ~(np.isfinite(orders["quantity_mwh"]) & (orders["quantity_mwh"] >= 0)),
         "must be a finite number >= 0"),
        ("price_eur_per_mwh", ~np.isfinite(orders["price_eur_per_mwh"]), "must be a finite number"),
    )
    for name, bad, allowed in checks:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise OrderBookError(f"order row {row}: field {name}={orders[name][row]!r} {allowed}")


def split_sides(orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the non-zero bids and offers, each in price-time priority.

    Bids by price descending, offers by price ascending; ties broken by
    ``arrival_ms`` then ``msg_id`` (time priority, as in exchange order books).
    """
    q = orders["quantity_mwh"]
    p = orders["price_eur_per_mwh"]
    arr = orders["arrival_ms"]
    mid = orders["msg_id"]
    b = np.flatnonzero((orders["side"] > 0) & (q > 0))
    s = np.flatnonzero((orders["side"] < 0) & (q > 0))
    b = b[np.lexsort((mid[b], arr[b], -p[b]))]
    s = s[np.lexsort((mid[s], arr[s], p[s]))]
    return b, s


def pair_volumes(
    b_idx: np.ndarray, b_fill: np.ndarray, s_idx: np.ndarray, s_fill: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair two equally long filled queues into bilateral trades.

    The filled quantities of the buy queue and the sell queue are laid on one
    energy axis each; every overlap of a buy segment with a sell segment is one
    trade. Vectorised, O((n_b + n_s) log).

    Returns
    -------
    (buy_rows, sell_rows, quantity_mwh)
    """
    keep_b = b_fill > 0
    keep_s = s_fill > 0
    b_idx, b_fill = b_idx[keep_b], b_fill[keep_b]
    s_idx, s_fill = s_idx[keep_s], s_fill[keep_s]
    if not len(b_idx) or not len(s_idx):
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0)
    cb = np.cumsum(b_fill)
    cs = np.cumsum(s_fill)
    total = min(cb[-1], cs[-1])
    pts = np.unique(np.concatenate(([0.0], cb, cs)))
    pts = pts[pts <= total]
    lo, hi = pts[:-1], pts[1:]
    width = hi - lo
    # tiny widths come from float round-off of two cumsums that should meet
    ok = width > 1e-9 * total
    mid = 0.5 * (lo + hi)[ok]
    ib = np.minimum(np.searchsorted(cb, mid), len(cb) - 1)
    js = np.minimum(np.searchsorted(cs, mid), len(cs) - 1)
    return b_idx[ib], s_idx[js], width[ok]


def build_trades(
    orders: np.ndarray,
    buy_rows: np.ndarray,
    sell_rows: np.ndarray,
    qty: np.ndarray,
    buyer_price: np.ndarray | float,
    seller_price: np.ndarray | float | None = None,
) -> np.ndarray:
    """Assemble :data:`TRADE_DTYPE` records from paired order rows."""
    t = np.zeros(len(qty), dtype=TRADE_DTYPE)
    t["buyer"] = orders["sender"][buy_rows]
    t["seller"] = orders["sender"][sell_rows]
    t["buyer_bus"] = orders["bus"][buy_rows]
    t["seller_bus"] = orders["bus"][sell_rows]
    t["quantity_mwh"] = qty
    t["price_eur_per_mwh"] = buyer_price
    t["seller_price_eur_per_mwh"] = buyer_price if seller_price is None else seller_price
    t["buyer_order"] = buy_rows
    t["seller_order"] = sell_rows
    return t


def finish(
    orders: np.ndarray,
    trades: np.ndarray,
    clearing_price: float | None = None,
    status: str | None = None,
) -> ClearingResult:
    """Derive fills, welfare, retail volumes and status from the trades."""
    n = len(orders)
    filled = np.zeros(n)
    np.add.at(filled, trades["buyer_order"], trades["quantity_mwh"])
    np.add.at(filled, trades["seller_order"], trades["quantity_mwh"])
    lim = orders["price_eur_per_mwh"]
    q = trades["quantity_mwh"]
    welfare = float(np.sum((lim[trades["buyer_order"]] - lim[trades["seller_order"]]) * q))
    if clearing_price is None:
        vol = q.sum()
        clearing_price = float(np.sum(q * trades["price_eur_per_mwh"]) / vol) if vol > 0 else np.nan
    rest = orders["quantity_mwh"] - filled
    buy = orders["side"] > 0
    if status is None:
        status = status_of(orders, len(trades))
    return ClearingResult(
        trades=trades,
        filled_mwh=filled,
        clearing_price_eur_per_mwh=float(clearing_price),
        welfare_eur=welfare,
        status=status,
        retail_import_mwh=float(rest[buy].sum()),
        retail_export_mwh=float(rest[~buy].sum()),
    )


def status_of(orders: np.ndarray, n_trades: int) -> str:
    """Status string of a clearing with ``n_trades`` trades."""
    if n_trades:
        return "cleared"
    live = orders["quantity_mwh"] > 0
    nb = int(np.sum(live & (orders["side"] > 0)))
    ns = int(np.sum(live & (orders["side"] < 0)))
    if nb == 0 and ns == 0:
        return "empty"
    if nb == 0 or ns == 0:
        return "one_sided"
    return "no_trade"


def empty_trades() -> np.ndarray:
    """A zero-length trade array."""
    return np.zeros(0, dtype=TRADE_DTYPE)
