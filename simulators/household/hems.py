"""Home energy manager: dispatch rules and the messages it exchanges.

Policies (``households.policy``)
--------------------------------
``none``
    Baseline: PV at maximum, battery idle, EV per its mode (``uncontrolled``
    charges at full power on arrival, ``smart``/``v2g`` as late as possible),
    heat pump holds the setpoint.
``self_consumption``
    PV surplus goes first to the EV (smart/v2g: beyond its must-charge), then
    to pre-heating up to the top of the comfort band, then into the battery;
    a deficit is covered by the battery, then by V2G.
``tariff``
    Price below its reference: battery charges at full power, EV and heat pump
    take all they may. Price above it: heat pump coasts to the lower comfort
    bound, EV charges only what it must, battery covers the deficit. Otherwise
    (and always for a flat tariff) self-consumption. The reference is the
    mean published import price over the 24 h centred on the interval
    ([t - 12 h, t + 12 h)). It uses only published prices: retail tariffs
    publish their schedule, day-ahead prices and critical-peak events are
    published by noon of the day before, and t + 12 h never reaches past the
    end of the day after the last noon. This lets a home pre-charge its battery
    ahead of a critical-peak event and discharge during it. Under block prices
    (``ibp``) the price is the home's marginal tier price
    (:func:`simulators.common.tariffs.marginal_import_price_eur_per_mwh`) and the
    reference the published first-tier price: in the first tier the home runs
    self-consumption, past it the minimum (heat pump towards the lower comfort
    bound, no grid charging of the battery, EV at its must-charge).
``market``
    Bid curves from flexibility (:mod:`.bidding`): at every step each home
    sends the BID / OFFER steps of its net demand curve for the next interval
    (forecast per ``households.forecast``; devices' state after the current
    interval). Outcomes are binding: the executed quantities of the RESULTs
    (local + retailer) are placed on the home's own curve and become the
    setpoints of the battery, EV, heat pump and PV curtailment; flexible
    volume not executed is not delivered. A home without a RESULT for every
    order it sent (lost or late messages, and the first interval) uses the
    safe default of :func:`.bidding.fallback_fill` (inflexible demand and PV,
    battery idle, EV at its must-charge, heat pump at the setpoint); the
    household series ``hems_fallback`` records it per home and step (0 in the
    first interval, when no RESULT was expected).
``market_fixed``
    The fixed-price bids kept for comparison: self-consumption, plus at every
    step one bid (net demand) or offer (net surplus) for the next interval
    from the forecast, limit price = retail import price (bids) or feed-in
    price (offers). When RESULTs arrived, the battery follows the executed
    position ``side * (quantity + quantity2) / dt`` as far as its limits
    allow; deviations are metered.
``flex``
    Self-consumption, plus FLEX_OFFER messages with the battery's headroom
    around its forecast self-consumption plan for the next interval:
    ``quantity_mwh`` = upward flexibility (less net consumption: discharge
    more / charge less), ``quantity2_mwh`` = downward (more consumption). An
    ACTIVATION (side -1 upward, +1 downward, as for orders: -1 = inject /
    consume less; quantity [MWh] over the interval given by ``interval_s``)
    shifts the battery by ``side * quantity / dt``.

Your own policy
---------------
``households.policy`` also takes an entry point of group
``cosim.hems_policies`` or a ``package.module:name`` reference (imported: it
runs user code, see ``docs/extending.md``). The object is a :class:`Policy`,
or a function ``dispatch(DispatchInput) -> Dispatch`` (a policy that sends no
messages); :func:`resolve_policy` checks it.

Inbound message semantics (receiver = household row)
----------------------------------------------------
RESULT: one per order; executed energy = ``quantity_mwh`` (local) +
``quantity2_mwh`` (with the retailer), ``side`` +1 bought / -1 sold.
ACTIVATION: as above. SETPOINT: ``side = -1`` caps PV active power at
``quantity_mwh / dt`` MW from ``interval_s`` on; ``side = 0`` releases the cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from simulators.common import messages as msgs
from simulators.common.plugins import PluginError, check_callable, resolve

from .bidding import Setpoints


@dataclass(frozen=True)
class DispatchInput:
    """What a policy decides the devices' power from, for one interval.

    Arrays have one entry per household [MW] unless noted.

    Attributes
    ----------
    base_p_mw, pv_p_mw : np.ndarray
        Base load and available PV active power.
    ev_must_mw, ev_max_mw, ev_min_mw : np.ndarray
        EV power it must, may at most and may at least take (negative = V2G).
    hp_set_mw, hp_hi_mw, hp_lo_mw : np.ndarray
        Heat pump power holding the setpoint, reaching the top and the bottom
        of the comfort band.
    bat_ch_max_mw, bat_dis_max_mw : np.ndarray
        Battery charge / discharge limits.
    price_eur_per_mwh, price_ref_eur_per_mwh : float
        Retail price of the interval and its reference (mean published import
        price over [t - 12 h, t + 12 h), see the ``tariff`` policy) [EUR/MWh].
        Under block prices ``price_eur_per_mwh`` is each home's marginal tier
        price, shape (n,), and the reference the first-tier price.
    dt_h : float
        Interval length [h].
    result_mwh, activation_mwh : np.ndarray or None
        Cleared position / activated flexibility for this interval [MWh],
        ``side * quantity`` (NaN: none for that household; None: none at all).
    curve_setpoints : bidding.Setpoints or None
        Setpoints from the executed bid curve (``market``); None: no curve was
        sent for this interval.
    """

    base_p_mw: np.ndarray
    pv_p_mw: np.ndarray
    ev_must_mw: np.ndarray
    ev_max_mw: np.ndarray
    ev_min_mw: np.ndarray
    hp_set_mw: np.ndarray
    hp_hi_mw: np.ndarray
    hp_lo_mw: np.ndarray
    bat_ch_max_mw: np.ndarray
    bat_dis_max_mw: np.ndarray
    price_eur_per_mwh: float | np.ndarray
    price_ref_eur_per_mwh: float
    dt_h: float
    result_mwh: np.ndarray | None = None
    activation_mwh: np.ndarray | None = None
    curve_setpoints: Setpoints | None = None


#: A policy's decision: EV power, heat pump power, requested battery power [MW]
#: and, optionally, PV power to curtail [MW].
Dispatch = tuple[np.ndarray, ...]


@dataclass(frozen=True)
class OfferInput:
    """What a policy builds its messages for interval ``k + 1`` from.

    Attributes
    ----------
    net_mw, bat_mw : np.ndarray
        Forecast net demand and battery plan under self-consumption [MW].
    bat_ch_max_mw, bat_dis_max_mw : np.ndarray
        Battery limits at the current state of charge [MW].
    dt_h : float
        Interval length [h].
    sender, bus : np.ndarray
        Household ids and their buses.
    interval_s, send_ms : int
        Start of the interval offered [s]; send time [ms].
    buy_price_eur_per_mwh, sell_price_eur_per_mwh, flex_price_eur_per_mwh : float
        Limit prices of bids, offers and flexibility offers [EUR/MWh]
        (``buy_price_eur_per_mwh`` per home, shape (n,), under block prices).
    flex_receiver : int
        Receiver of flexibility offers (market or aggregator id).
    counter : np.ndarray
        Per-household message counters (advanced in place).
    """

    net_mw: np.ndarray
    bat_mw: np.ndarray
    bat_ch_max_mw: np.ndarray
    bat_dis_max_mw: np.ndarray
    dt_h: float
    sender: np.ndarray
    bus: np.ndarray
    interval_s: int
    send_ms: int
    buy_price_eur_per_mwh: float | np.ndarray
    sell_price_eur_per_mwh: float
    flex_price_eur_per_mwh: float
    flex_receiver: int
    counter: np.ndarray


class Policy(NamedTuple):
    """A home energy management policy.

    ``dispatch`` decides the devices' power, ``offers`` builds its messages
    (None: nothing); ``curve`` policies send bid curves built by the model
    with :mod:`.bidding` and dispatch from their execution.
    """

    dispatch: Callable[[DispatchInput], Dispatch]
    offers: Callable[[OfferInput], np.ndarray] | None = None
    curve: bool = False


def self_consumption(residual_mw, ev_must, ev_max, ev_min, hp_extra_max_mw, bat_ch_max, bat_dis_max):
    """Self-consumption dispatch.

    Parameters
    ----------
    residual_mw : np.ndarray
        Net demand with EV at ``ev_must``, heat pump at setpoint, battery idle [MW].

    Returns
    -------
    ev_mw, hp_extra_mw, bat_req_mw : np.ndarray
    """
    surplus = np.maximum(-residual_mw, 0.0)
    ev_extra = np.minimum(surplus, ev_max - ev_must)
    surplus = surplus - ev_extra
    hp_extra = np.minimum(surplus, hp_extra_max_mw)
    rest = residual_mw + ev_extra + hp_extra
    bat = np.clip(-rest, -bat_dis_max, bat_ch_max)
    deficit = np.maximum(rest + bat, 0.0)
    ev_mw = ev_must + ev_extra - np.minimum(deficit, np.maximum(ev_must - ev_min, 0.0))
    return ev_mw, hp_extra, bat


def build_orders(net_mwh, sender, bus, interval_s, send_ms, buy_price, sell_price, counter):
    """BID (net demand > 0) / OFFER (< 0) messages to the market operator."""
    nz = np.flatnonzero(np.abs(net_mwh) > 1e-12)
    m = msgs.empty(len(nz))
    q = net_mwh[nz]
    buy = q > 0
    m["kind"] = np.where(buy, msgs.Kind.BID, msgs.Kind.OFFER)
    m["side"] = np.where(buy, 1, -1)
    m["quantity_mwh"] = np.abs(q)
    if np.ndim(buy_price):  # per home (block prices: each home's marginal tier price)
        buy_price = np.asarray(buy_price)[nz]
    m["price_eur_per_mwh"] = np.where(buy, buy_price, sell_price)
    return _address(m, nz, sender, bus, msgs.MARKET, interval_s, send_ms, counter)


def build_flex_offers(up_mwh, down_mwh, sender, bus, receiver, interval_s, send_ms, price, counter):
    """FLEX_OFFER messages (upward part in quantity_mwh, downward in quantity2_mwh)."""
    nz = np.flatnonzero((up_mwh > 1e-12) | (down_mwh > 1e-12))
    m = msgs.empty(len(nz))
    m["kind"] = msgs.Kind.FLEX_OFFER
    m["quantity_mwh"] = up_mwh[nz]
    m["quantity2_mwh"] = down_mwh[nz]
    m["price_eur_per_mwh"] = price
    return _address(m, nz, sender, bus, receiver, interval_s, send_ms, counter)


def build_meter(import_mwh, export_mwh, sender, bus, interval_s, send_ms, counter):
    """METER messages: consumed energy in quantity_mwh, injected in quantity2_mwh."""
    nz = np.arange(len(sender))
    m = msgs.empty(len(nz))
    m["kind"] = msgs.Kind.METER
    m["quantity_mwh"] = import_mwh
    m["quantity2_mwh"] = export_mwh
    return _address(m, nz, sender, bus, msgs.MARKET, interval_s, send_ms, counter)


def _address(m, rows, sender, bus, receiver, interval_s, send_ms, counter):
    m["sender"] = sender[rows]
    m["receiver"] = receiver
    m["bus"] = bus[rows]
    m["interval_s"] = interval_s
    m["send_ms"] = send_ms
    m["msg_id"] = msgs.make_ids(sender[rows], counter[rows])
    counter[rows] += 1
    return m


# ------------------------------------------------------------------ policies
def dispatch_none(d: DispatchInput) -> Dispatch:
    """PV at maximum, battery idle, EV per its mode, heat pump at the setpoint."""
    return d.ev_must_mw, d.hp_set_mw, np.zeros(len(d.base_p_mw))


def dispatch_self_consumption(d: DispatchInput) -> Dispatch:
    """Surplus to EV, pre-heating, then battery; deficit from battery, then V2G."""
    residual = d.base_p_mw + d.ev_must_mw + d.hp_set_mw - d.pv_p_mw
    ev_p, hp_x, bat_req = self_consumption(residual, d.ev_must_mw, d.ev_max_mw, d.ev_min_mw,
                                           np.maximum(d.hp_hi_mw - d.hp_set_mw, 0.0),
                                           d.bat_ch_max_mw, d.bat_dis_max_mw)
    return ev_p, d.hp_set_mw + hp_x, bat_req


def dispatch_tariff(d: DispatchInput) -> Dispatch:
    """Take all below the reference price, the minimum above it, else self-consumption."""
    ev_p, hp_p, bat_req = dispatch_self_consumption(d)
    price, mean = d.price_eur_per_mwh, d.price_ref_eur_per_mwh
    if np.ndim(price):  # per home (block prices): each home compares its own marginal price
        low, high = price < mean - 1e-9, price > mean + 1e-9
        hp_min = d.hp_lo_mw
        rest = d.base_p_mw + d.ev_must_mw + hp_min - d.pv_p_mw
        bat_min = np.clip(-rest, -d.bat_dis_max_mw, 0.0)
        ev_min = d.ev_must_mw - np.minimum(np.maximum(rest + bat_min, 0.0), d.ev_must_mw - d.ev_min_mw)
        pick = lambda lo_v, hi_v, mid: np.where(low, lo_v, np.where(high, hi_v, mid))
        return (pick(d.ev_max_mw, ev_min, ev_p), pick(d.hp_hi_mw, hp_min, hp_p),
                pick(d.bat_ch_max_mw, bat_min, bat_req))
    if price < mean - 1e-9:
        return d.ev_max_mw, d.hp_hi_mw, d.bat_ch_max_mw
    if price > mean + 1e-9:
        hp_p = d.hp_lo_mw
        rest = d.base_p_mw + d.ev_must_mw + hp_p - d.pv_p_mw
        bat_req = np.clip(-rest, -d.bat_dis_max_mw, 0.0)
        ev_p = d.ev_must_mw - np.minimum(np.maximum(rest + bat_req, 0.0), d.ev_must_mw - d.ev_min_mw)
    return ev_p, hp_p, bat_req


def dispatch_market_fixed(d: DispatchInput) -> Dispatch:
    """Self-consumption; the battery follows the executed position where there is one."""
    ev_p, hp_p, bat_req = dispatch_self_consumption(d)
    target = d.result_mwh
    if target is not None:
        follow = target / d.dt_h - (d.base_p_mw + ev_p + hp_p - d.pv_p_mw)
        bat_req = np.where(np.isnan(target), bat_req, follow)
    return ev_p, hp_p, bat_req


def dispatch_market_curve(d: DispatchInput) -> Dispatch:
    """Setpoints from the executed bid curve; without a curve the fallback of :mod:`.bidding`.

    Returns EV, heat pump and battery power and the PV power to curtail [MW],
    clipped to the devices' actual bounds of the interval (a forecast error
    shows up in the meter, which the retailer settles after the local trades,
    :func:`simulators.common.tariffs.retail_bill_eur`).
    """
    trickle = np.maximum(-d.bat_dis_max_mw, 0.0)
    sp = d.curve_setpoints
    if sp is None:
        return d.ev_must_mw, d.hp_set_mw, trickle, np.zeros(len(d.base_p_mw))
    hp = np.clip(d.hp_lo_mw + sp.hp_extra_mw, d.hp_lo_mw, np.maximum(d.hp_hi_mw, d.hp_lo_mw))
    ev = np.clip(d.ev_must_mw + sp.ev_extra_mw, d.ev_min_mw, d.ev_max_mw)
    bat = trickle + sp.bat_mw
    return ev, hp, bat, np.clip(sp.pv_curtail_mw, 0.0, d.pv_p_mw)


def dispatch_flex(d: DispatchInput) -> Dispatch:
    """Self-consumption; an activation shifts the battery (side -1 upward, +1 downward)."""
    ev_p, hp_p, bat_req = dispatch_self_consumption(d)
    act = d.activation_mwh
    if act is not None:
        bat_req = np.where(np.isnan(act), bat_req, bat_req + np.nan_to_num(act) / d.dt_h)
    return ev_p, hp_p, bat_req


def offers_market_fixed(o: OfferInput) -> np.ndarray:
    """Bids (net demand) / offers (net surplus) for the next interval."""
    return build_orders(o.net_mw * o.dt_h, o.sender, o.bus, o.interval_s, o.send_ms,
                        o.buy_price_eur_per_mwh, o.sell_price_eur_per_mwh, o.counter)


def offers_flex(o: OfferInput) -> np.ndarray:
    """The battery's headroom around its self-consumption plan, up and down."""
    up, down = (o.bat_mw + o.bat_dis_max_mw) * o.dt_h, (o.bat_ch_max_mw - o.bat_mw) * o.dt_h
    return build_flex_offers(np.maximum(up, 0), np.maximum(down, 0), o.sender, o.bus, o.flex_receiver,
                             o.interval_s, o.send_ms, o.flex_price_eur_per_mwh, o.counter)


#: Every policy by its name in ``households.policy``.
POLICIES: dict[str, Policy] = {
    "none": Policy(dispatch_none),
    "self_consumption": Policy(dispatch_self_consumption),
    "tariff": Policy(dispatch_tariff),
    "market": Policy(dispatch_market_curve, curve=True),
    "market_fixed": Policy(dispatch_market_fixed, offers_market_fixed),
    "flex": Policy(dispatch_flex, offers_flex),
}

#: Entry point group of installed policies.
ENTRY_POINT_GROUP = "cosim.hems_policies"


def _adapt_policy(obj) -> Policy:
    """A :class:`Policy` from a loaded object (a Policy, or a dispatch function)."""
    if isinstance(obj, Policy):
        for part, fn, n, sig in (("dispatch", obj.dispatch, 1, "(DispatchInput) -> Dispatch"),
                                 ("offers", obj.offers, 1, "(OfferInput) -> messages")):
            problem = None if fn is None else check_callable(fn, n, sig)
            if problem:
                raise PluginError(f"{part} {problem}")
        return obj
    problem = check_callable(obj, 1, "dispatch(DispatchInput) -> Dispatch, or a Policy")
    if problem:
        raise PluginError(problem)
    return Policy(obj)


def resolve_policy(name: str) -> Policy:
    """The :class:`Policy` of ``households.policy``.

    A built-in name of :data:`POLICIES`, an entry point of group
    ``cosim.hems_policies`` or ``package.module:name``; the object is a
    :class:`Policy` or a function ``dispatch(DispatchInput) -> Dispatch``.

    Raises
    ------
    simulators.common.plugins.PluginError
        Unknown name (lists the allowed ones), a reference that does not
        import, or an object with the wrong signature.
    """
    return resolve(name, builtins=POLICIES, group=ENTRY_POINT_GROUP, kind="policy", adapt=_adapt_policy)
