"""Clearing mechanisms: pure functions ``clear(orders, ctx) -> ClearingResult``.

All mechanisms take an order book (MESSAGE_DTYPE, see :mod:`.orders`) and a
:class:`~simulators.market.orders.ClearingContext`. Zero-quantity orders never
trade. Volume left unmatched is bought from / sold to the retailer at the
context's tariff (``retail_import_mwh`` / ``retail_export_mwh`` of the result;
the money is booked by :mod:`.settlement`).

Budget balance (what the buyers pay minus what the sellers receive, on the
matched volume):

* ``pay_as_clear``: one price for all trades -> exactly balanced.
* ``pay_as_bid``: buyers pay their bid, sellers receive their offer; the spread
  (>= 0) is the market operator's surplus (weakly budget balanced).
* ``p2p_cda``, ``p2p_bilateral``: one price per trade paid by the buyer and
  received by the seller -> exactly balanced.
* ``community``: one internal price -> exactly balanced internally.
* ``tariff``: no trades.

More mechanisms plug in without editing this module: any function with the
:class:`Mechanism` signature, named in the scenario as
``market.mechanism: package.module:function`` or registered as an entry point
of group ``cosim.mechanisms`` (see :func:`resolve_mechanism` and
``docs/extending.md``).

Price-limit invariants (no buyer above its limit, no seller below its limit)
hold for every mechanism except ``community``, whose members are price takers
of the internal price (which always lies between feed-in and retail price).
"""

from __future__ import annotations

import dataclasses

import heapq
import logging
from typing import Callable, Protocol

import numpy as np

from simulators.common import messages as msgs
from simulators.common.plugins import PluginError, callable_with, resolve
from simulators.market.community import clear_community
from simulators.market.errors import MechanismResultError, UnknownMechanismError
from simulators.market.orders import (
    ClearingContext,
    ClearingResult,
    build_trades,
    empty_trades,
    finish,
    pair_volumes,
    split_sides,
    validate_orders,
)

log = logging.getLogger(__name__)


class Mechanism(Protocol):
    """The signature of a clearing mechanism.

    Parameters
    ----------
    orders : numpy.ndarray
        The order book of one interval: BID and OFFER records of
        :data:`simulators.common.messages.MESSAGE_DTYPE` that arrived by gate
        closure, authenticated and checked (finite price, quantity >= 0,
        side +1 buy / -1 sell). Do not modify it.
    ctx : ClearingContext
        Retail and feed-in price of the interval [EUR/MWh], its start [s].

    Returns
    -------
    ClearingResult
        Trades (:data:`~simulators.market.orders.TRADE_DTYPE`, row numbers of
        the book), matched quantity per order [MWh] (same length as the book),
        price, welfare, status; :func:`~simulators.market.orders.finish`
        fills everything but the trades and the price. Volume not matched goes
        to the retailer at the tariff. The trades are binding: the DSO check
        of ``market.dso_check`` and the settlement apply as to built-ins.
    """

    def __call__(self, orders: np.ndarray, ctx: ClearingContext, /) -> ClearingResult: ...


#: Entry point group of installed mechanisms.
ENTRY_POINT_GROUP = "cosim.mechanisms"
#: Mechanisms the market operator runs with the grid itself
#: (:mod:`simulators.market.flexmarket`), not through a :class:`Mechanism`.
NETWORK_MECHANISMS = ("dlmp", "lfm")


def _welfare_allocation(orders: np.ndarray):
    """Welfare-maximising fills of the merit-order curves.

    Returns sorted bid rows, offer rows, their fills [MWh] and the matched volume.
    Demand price at a point of the energy axis is the limit of the bid covering
    it (bids by descending price), supply price likewise; every segment where the
    demand price >= supply price trades (equality included: zero surplus, more volume).
    """
    b, s = split_sides(orders)
    q = orders["quantity_mwh"]
    p = orders["price_eur_per_mwh"]
    if not len(b) or not len(s):
        return b, s, np.zeros(len(b)), np.zeros(len(s)), 0.0
    qb, qs = q[b], q[s]
    cb, cs = np.cumsum(qb), np.cumsum(qs)
    total = min(cb[-1], cs[-1])
    pts = np.unique(np.concatenate(([0.0], cb, cs)))
    pts = pts[pts <= total]
    mid = 0.5 * (pts[:-1] + pts[1:])
    pd_ = p[b][np.minimum(np.searchsorted(cb, mid), len(b) - 1)]
    ps_ = p[s][np.minimum(np.searchsorted(cs, mid), len(s) - 1)]
    ok = pd_ >= ps_
    n_ok = int(np.argmin(ok)) if not ok.all() else len(ok)  # prefix length
    volume = float(pts[n_ok]) if n_ok else 0.0
    fb = np.clip(volume - (cb - qb), 0.0, qb)
    fs = np.clip(volume - (cs - qs), 0.0, qs)
    return b, s, fb, fs, volume


def pay_as_clear(orders: np.ndarray, ctx: ClearingContext) -> ClearingResult:
    """Uniform-price double auction (call market) for one interval.

    Matched volume maximises welfare (equal to the LP optimum). Ties at the
    margin are broken by time priority (``arrival_ms``, then ``msg_id``).

    Price rule: every price in ``[lo, hi]`` clears the market, with
    ``lo = max(marginal accepted offer, best rejected bid)`` and
    ``hi = min(marginal accepted bid, best rejected offer)`` (a partially filled
    order counts as both accepted and rejected, so a *horizontal* overlap makes
    ``lo = hi`` = that order's price). At a *vertical* overlap the interval is
    wide and the price is its midpoint, the k = 1/2 rule of the k-double auction
    (Satterthwaite & Williams 1989, Rev. Econ. Stud. 56(4)). The price always
    lies between the marginal accepted offer and bid.
    """
    b, s, fb, fs, volume = _welfare_allocation(orders)
    p = orders["price_eur_per_mwh"]
    if volume <= 0:
        return finish(orders, empty_trades(), np.nan)
    q = orders["quantity_mwh"]
    tol = 1e-9 * volume
    # float round-off of two cumulative sums can leave ~1e-19 MWh fills: not an acceptance
    acc_b = np.flatnonzero(fb > tol)
    acc_s = np.flatnonzero(fs > tol)
    rej_b = np.flatnonzero(fb < q[b] - tol)
    rej_s = np.flatnonzero(fs < q[s] - tol)
    b_m, s_m = p[b[acc_b[-1]]], p[s[acc_s[-1]]]
    b_r = p[b[rej_b[0]]] if len(rej_b) else -np.inf
    s_r = p[s[rej_s[0]]] if len(rej_s) else np.inf
    lo, hi = max(s_m, b_r), min(b_m, s_r)
    price = float(np.clip(0.5 * (lo + hi), s_m, b_m))
    rb, rs, qty = pair_volumes(b, fb, s, fs)
    return finish(orders, build_trades(orders, rb, rs, qty, price), price)


def pay_as_bid(orders: np.ndarray, ctx: ClearingContext) -> ClearingResult:
    """Discriminatory double auction: same welfare-maximising matching as
    :func:`pay_as_clear`; each buyer pays its own bid and each seller receives
    its own offer (the spread is the operator's surplus). The reported clearing
    price is the volume-weighted mean buyer price.
    """
    b, s, fb, fs, volume = _welfare_allocation(orders)
    if volume <= 0:
        return finish(orders, empty_trades(), np.nan)
    p = orders["price_eur_per_mwh"]
    rb, rs, qty = pair_volumes(b, fb, s, fs)
    return finish(orders, build_trades(orders, rb, rs, qty, p[rb], p[rs]))


def _arrival_order(orders: np.ndarray) -> np.ndarray:
    """Rows of non-zero orders sorted by arrival time, send time, msg_id."""
    live = np.flatnonzero(orders["quantity_mwh"] > 0)
    key = np.lexsort((orders["msg_id"][live], orders["send_ms"][live], orders["arrival_ms"][live]))
    return live[key]


def p2p_cda(orders: np.ndarray, ctx: ClearingContext) -> ClearingResult:
    """Continuous double auction: orders are processed in *arrival* order.

    An incoming order trades against the best resting orders of the other side
    whose limits cross (best price first, then earliest); each trade is priced
    at the resting order's limit (the standard CDA rule, e.g. Friedman 1991,
    "The double auction market institution: a survey"). Remainders rest in
    the book until the interval's gate closure, then go to the retailer.
    """
    rows = _arrival_order(orders)
    side = orders["side"][rows].tolist()
    price = orders["price_eur_per_mwh"][rows].tolist()
    qty = orders["quantity_mwh"][rows].tolist()
    rows_l = rows.tolist()
    bids: list = []  # (-price, seq, row, remaining-as-list-cell)
    asks: list = []
    tb, ts, tq, tp = [], [], [], []
    for seq, (r, sd, pr, qq) in enumerate(zip(rows_l, side, price, qty)):
        rem = qq
        if sd > 0:
            while rem > 0 and asks and asks[0][0] <= pr:
                top = asks[0]
                take = min(rem, top[3][0])
                tb.append(r), ts.append(top[2]), tq.append(take), tp.append(top[0])
                rem -= take
                top[3][0] -= take
                if top[3][0] <= 0:
                    heapq.heappop(asks)
            if rem > 0:
                heapq.heappush(bids, (-pr, seq, r, [rem]))
        else:
            while rem > 0 and bids and -bids[0][0] >= pr:
                top = bids[0]
                take = min(rem, top[3][0])
                tb.append(top[2]), ts.append(r), tq.append(take), tp.append(-top[0])
                rem -= take
                top[3][0] -= take
                if top[3][0] <= 0:
                    heapq.heappop(bids)
            if rem > 0:
                heapq.heappush(asks, (pr, seq, r, [rem]))
    trades = build_trades(
        orders, np.asarray(tb, dtype=np.int64), np.asarray(ts, dtype=np.int64),
        np.asarray(tq, dtype=float), np.asarray(tp, dtype=float),
    )
    return finish(orders, trades)


def p2p_bilateral(orders: np.ndarray, ctx: ClearingContext) -> ClearingResult:
    """Posted-offer bilateral process (BEYOND D1.2; Stekli et al. 2022).

    1. *Registration*: each agent is registered for the period on the side of
       its earliest-arriving order; its orders on the other side are ignored
       (left to the retailer).
    2. *Public offers*: the sellers' offers are posted, cheapest first (time
       priority at equal price).
    3. *Proposal*: buyers, in arrival order, propose to the cheapest posted
       offer with remaining energy at its posted price, as long as that price
       does not exceed their limit.
    4. *Acceptance*: the seller accepts any proposal at its posted price (up
       to its remaining energy).
    5. *DSO approval* happens after clearing with the scenario's
       ``market.dso_check``, which approves, curtails or cancels each trade.
    """
    rows = _arrival_order(orders)
    agents = orders["sender"][rows]
    _, first = np.unique(agents, return_index=True)
    reg_side = dict(zip(agents[first].tolist(), orders["side"][rows[first]].tolist()))
    ok = np.fromiter((reg_side[a] == s for a, s in zip(agents.tolist(), orders["side"][rows].tolist())),
                     dtype=bool, count=len(rows))
    rows = rows[ok]
    p = orders["price_eur_per_mwh"]
    buyers = rows[orders["side"][rows] > 0]
    sellers = rows[orders["side"][rows] < 0]
    sellers = sellers[np.argsort(p[sellers], kind="stable")]  # stable keeps arrival order at ties
    s_rem = orders["quantity_mwh"][sellers].tolist()
    s_price = p[sellers].tolist()
    s_rows = sellers.tolist()
    k, ns = 0, len(s_rows)
    tb, ts, tq = [], [], []
    for r, lim, qq in zip(buyers.tolist(), p[buyers].tolist(), orders["quantity_mwh"][buyers].tolist()):
        rem = qq
        while rem > 0 and k < ns and s_price[k] <= lim:
            take = min(rem, s_rem[k])
            tb.append(r), ts.append(s_rows[k]), tq.append(take)
            rem -= take
            s_rem[k] -= take
            if s_rem[k] <= 0:
                k += 1
    ts_a = np.asarray(ts, dtype=np.int64)
    trades = build_trades(orders, np.asarray(tb, dtype=np.int64), ts_a, np.asarray(tq, dtype=float), p[ts_a])
    return finish(orders, trades)


def tariff(orders: np.ndarray, ctx: ClearingContext) -> ClearingResult:
    """No market: every order is served by / sold to the retailer at the tariff."""
    return finish(orders, empty_trades(), np.nan, status="no_market")


def _min_size(fn: Callable[[np.ndarray, ClearingContext], ClearingResult]):
    """Run ``fn`` on a book in which orders below the minimum order size are zero
    (:data:`simulators.common.messages.MIN_ORDER_MWH`, shared with the households)."""

    def run(orders: np.ndarray, ctx: ClearingContext) -> ClearingResult:
        q = orders["quantity_mwh"]
        tiny = (q > 0) & (q < msgs.MIN_ORDER_MWH)
        if not tiny.any():
            return fn(orders, ctx)
        book = orders.copy()
        book["quantity_mwh"][tiny] = 0.0
        res = fn(book, ctx)
        # not matched locally: like any unmatched rest, served by / sold to the retailer
        buy = orders["side"] > 0
        return dataclasses.replace(
            res, retail_import_mwh=res.retail_import_mwh + float(q[tiny & buy].sum()),
            retail_export_mwh=res.retail_export_mwh + float(q[tiny & ~buy].sum()))

    run.__name__, run.__doc__, run.__wrapped__ = fn.__name__, fn.__doc__, fn
    return run


MECHANISMS: dict[str, Callable[[np.ndarray, ClearingContext], ClearingResult]] = {
    name: _min_size(fn) for name, fn in (
        ("pay_as_clear", pay_as_clear),
        ("pay_as_bid", pay_as_bid),
        ("p2p_cda", p2p_cda),
        ("p2p_bilateral", p2p_bilateral),
        ("community", clear_community),
        ("tariff", tariff),
    )
}


def _checked(fn: Callable, name: str) -> Mechanism:
    """A user mechanism whose result is checked against the :class:`Mechanism` contract."""

    def run(orders: np.ndarray, ctx: ClearingContext) -> ClearingResult:
        res = fn(orders, ctx)
        if not isinstance(res, ClearingResult):
            raise MechanismResultError(
                f"mechanism {name!r} returned {type(res).__name__}, not a ClearingResult "
                "(build it with simulators.market.orders.finish)")
        if len(res.filled_mwh) != len(orders):
            raise MechanismResultError(
                f"mechanism {name!r} returned filled_mwh of length {len(res.filled_mwh)} "
                f"for a book of {len(orders)} orders")
        return res

    run.__name__, run.__doc__, run.__wrapped__ = getattr(fn, "__name__", name), fn.__doc__, fn
    return run


def resolve_mechanism(name: str) -> Mechanism | None:
    """The clearing function of ``market.mechanism``.

    Built-ins come from :data:`MECHANISMS`; ``dlmp`` and ``lfm`` return None
    (the operator runs them with the grid); any other name is an entry point of
    group ``cosim.mechanisms`` or a ``package.module:function`` reference,
    whose function must accept ``(orders, ctx)`` (:class:`Mechanism`). User
    mechanisms get the same minimum order size as built-ins and their result
    is checked at every call.

    Raises
    ------
    UnknownMechanismError
        Unknown name (lists the available ones), a reference that does not
        import, or a function with the wrong signature.
    """

    adapt = callable_with(2, "(orders, ctx) -> ClearingResult", lambda obj: _min_size(_checked(obj, name)))
    builtins = {**MECHANISMS, **dict.fromkeys(NETWORK_MECHANISMS)}
    try:
        return resolve(name, builtins=builtins, group=ENTRY_POINT_GROUP, kind="mechanism", adapt=adapt)
    except PluginError as exc:
        raise UnknownMechanismError(str(exc)) from None


def clear(
    orders: np.ndarray,
    mechanism: str,
    ctx: ClearingContext | None = None,
    validate: bool = True,
) -> ClearingResult:
    """Validate an order book and clear it with the named mechanism.

    ``mechanism`` is a key of :data:`MECHANISMS`, an entry point of group
    ``cosim.mechanisms`` or a ``package.module:function`` (:func:`resolve_mechanism`).

    Raises
    ------
    UnknownMechanismError
        If ``mechanism`` cannot be resolved, or names a network mechanism
        (``dlmp``, ``lfm``), which needs the grid and the market operator.
    OrderBookError
        If an order is malformed (nothing is cleared then).
    """
    fn = resolve_mechanism(mechanism)
    if fn is None:
        raise UnknownMechanismError(
            f"mechanism {mechanism!r} needs the grid; it runs only inside a scenario; "
            f"allowed here: {', '.join(sorted(MECHANISMS))}"
        )
    if validate:
        validate_orders(orders)
    return fn(orders, ctx or ClearingContext())
