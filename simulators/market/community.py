"""Community market: a manager nets its members at one internal price.

All members' bids and offers of the interval are pooled. The internally
matched volume is ``min(demand, supply)``; the short side is served in full
and the long side pro rata (every member gets the same internal share). The
community's net position is bought from / sold to the retailer at the tariff
(``retail_import_mwh`` / ``retail_export_mwh``). Members are price takers: their
limit prices are not used.

Internal price rules (``ClearingContext.community_price_rule``):

* ``"sdr"``, supply-demand ratio pricing of Liu et al. (2017), "Energy sharing
  model for the PV prosumers in microgrids", IEEE Trans. Power Syst. 32(4):
  with ``SDR = supply / demand``, ``l_b`` the retail and ``l_s`` the feed-in
  price, the internal price is
  ``l_b * l_s / ((l_b - l_s) * SDR + l_s)`` for ``SDR < 1`` and ``l_s`` for
  ``SDR >= 1``. It falls from ``l_b`` (no local supply) to ``l_s`` (surplus).
* ``"mid_market"``, mid-market rate of Long et al. (2017), "Peer-to-peer energy
  trading in a community microgrid", IEEE PES GM: ``(l_b + l_s) / 2``.

Both rules keep the internal price in ``[l_s, l_b]``, so no member is worse
off than under the tariff.
"""

from __future__ import annotations

import numpy as np

from simulators.market.errors import MarketError
from simulators.market.orders import (
    ClearingContext,
    ClearingResult,
    build_trades,
    empty_trades,
    finish,
    pair_volumes,
)


def internal_price(demand_mwh: float, supply_mwh: float, ctx: ClearingContext) -> float:
    """Internal community price [EUR/MWh] for the pooled demand and supply [MWh]."""
    lb, ls = ctx.retail_price_eur_per_mwh, ctx.feed_in_price_eur_per_mwh
    if ctx.community_price_rule == "mid_market":
        return 0.5 * (lb + ls)
    if ctx.community_price_rule != "sdr":
        raise MarketError(
            f"community_price_rule={ctx.community_price_rule!r} unknown; allowed: 'sdr', 'mid_market'"
        )
    if demand_mwh <= 0:
        return ls
    sdr = supply_mwh / demand_mwh
    if sdr >= 1.0:
        return ls
    return lb * ls / ((lb - ls) * sdr + ls)


def clear_community(orders: np.ndarray, ctx: ClearingContext) -> ClearingResult:
    """Net all members internally at one internal price (see module docstring)."""
    q = orders["quantity_mwh"]
    b = np.flatnonzero((orders["side"] > 0) & (q > 0))
    s = np.flatnonzero((orders["side"] < 0) & (q > 0))
    demand, supply = float(q[b].sum()), float(q[s].sum())
    matched = min(demand, supply)
    if matched <= 0:
        return finish(orders, empty_trades(), np.nan)
    price = internal_price(demand, supply, ctx)
    fb = q[b] * (matched / demand)
    fs = q[s] * (matched / supply)
    rb, rs, qty = pair_volumes(b, fb, s, fs)
    return finish(orders, build_trades(orders, rb, rs, qty, price), price)
