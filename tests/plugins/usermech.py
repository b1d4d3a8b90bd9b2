"""A clearing mechanism written outside the market package, as a user would.

Imported by the tests only as ``usermech:mid_price`` (the folder is put on
``sys.path``), exactly like a module of the user's own project.
"""

from __future__ import annotations

import numpy as np

from simulators.market.orders import ClearingContext, ClearingResult, build_trades, finish, pair_volumes, split_sides


def mid_price(orders: np.ndarray, ctx: ClearingContext) -> ClearingResult:
    """All trades at one posted price, the midpoint of retail and feed-in price.

    Bids at or above it and offers at or below it trade, in price-time
    priority, up to the smaller side; the rest goes to the retailer.
    """
    price = 0.5 * (ctx.retail_price_eur_per_mwh + ctx.feed_in_price_eur_per_mwh)
    b, s = split_sides(orders)
    q, p = orders["quantity_mwh"], orders["price_eur_per_mwh"]
    qb = np.where(p[b] >= price, q[b], 0.0)
    qs = np.where(p[s] <= price, q[s], 0.0)
    volume = min(qb.sum(), qs.sum())
    if volume <= 0:
        return finish(orders, build_trades(orders, *(np.zeros(0, np.int64),) * 2, np.zeros(0), price), np.nan)
    fb = np.clip(volume - (np.cumsum(qb) - qb), 0.0, qb)
    fs = np.clip(volume - (np.cumsum(qs) - qs), 0.0, qs)
    rb, rs, qty = pair_volumes(b, fb, s, fs)
    return finish(orders, build_trades(orders, rb, rs, qty, price), price)


def not_a_result(orders, ctx):
    """Breaks the contract: returns a dict."""
    return {"price": 1.0}


def constant_need(inp):
    """TSO process: a constant need from ``coordinator.tso.params``, a constant price."""
    par = inp.config.get("params", {})
    return (np.full(inp.n_steps, float(par.get("need_mw", 0.1))),
            np.full(inp.n_steps, float(par.get("price_eur_per_mwh", 99.0))))


def short_need(inp):
    """TSO process that breaks the contract: one value too few."""
    return np.zeros(inp.n_steps - 1), np.zeros(inp.n_steps - 1)


def idle_dispatch(d):
    """HEMS policy as a bare dispatch function: battery idle, EV at its must, heat pump at the setpoint."""
    return d.ev_must_mw, d.hp_set_mw, np.zeros(len(d.base_p_mw))
