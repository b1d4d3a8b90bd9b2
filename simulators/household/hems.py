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
    Price below the run-average price: battery charges at full power, EV and
    heat pump take all they may. Price above average: heat pump coasts to the
    lower comfort bound, EV charges only what it must, battery covers the
    deficit. Otherwise (and always for a flat tariff) self-consumption.
``market``
    Self-consumption, plus: at every step bids (net demand) or offers (net
    surplus) for the next interval from a forecast (``perfect``: the next
    interval's profiles; ``persistence``: the current interval repeated),
    limit price = retail import price (bids) or feed-in tariff (offers). When a
    RESULT for the interval arrived, the battery follows the cleared position
    ``side * quantity / dt`` as far as its limits allow; deviations are metered.
``flex``
    Self-consumption, plus FLEX_OFFER messages with the battery's headroom
    around its forecast self-consumption plan for the next interval:
    ``quantity_mwh`` = upward flexibility (less net consumption: discharge
    more / charge less), ``quantity2_mwh`` = downward (more consumption). An
    ACTIVATION (side -1 upward, +1 downward, as for orders: -1 = inject /
    consume less; quantity [MWh] over the interval given by ``interval_s``)
    shifts the battery by ``side * quantity / dt``.

Inbound message semantics (receiver = household row)
----------------------------------------------------
RESULT: cleared energy for the agent, ``side`` +1 bought / -1 sold.
ACTIVATION: as above. SETPOINT: ``side = -1`` caps PV active power at
``quantity_mwh / dt`` MW from ``interval_s`` on; ``side = 0`` releases the cap.
"""

from __future__ import annotations

import numpy as np

from simulators.common import messages as M


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
    m = M.empty(len(nz))
    q = net_mwh[nz]
    buy = q > 0
    m["kind"] = np.where(buy, M.Kind.BID, M.Kind.OFFER)
    m["side"] = np.where(buy, 1, -1)
    m["quantity_mwh"] = np.abs(q)
    m["price_eur_per_mwh"] = np.where(buy, buy_price, sell_price)
    return _address(m, nz, sender, bus, M.MARKET, interval_s, send_ms, counter)


def build_flex_offers(up_mwh, down_mwh, sender, bus, receiver, interval_s, send_ms, price, counter):
    """FLEX_OFFER messages (upward part in quantity_mwh, downward in quantity2_mwh)."""
    nz = np.flatnonzero((up_mwh > 1e-12) | (down_mwh > 1e-12))
    m = M.empty(len(nz))
    m["kind"] = M.Kind.FLEX_OFFER
    m["quantity_mwh"] = up_mwh[nz]
    m["quantity2_mwh"] = down_mwh[nz]
    m["price_eur_per_mwh"] = price
    return _address(m, nz, sender, bus, receiver, interval_s, send_ms, counter)


def build_meter(import_mwh, export_mwh, sender, bus, interval_s, send_ms, counter):
    """METER messages: consumed energy in quantity_mwh, injected in quantity2_mwh."""
    nz = np.arange(len(sender))
    m = M.empty(len(nz))
    m["kind"] = M.Kind.METER
    m["quantity_mwh"] = import_mwh
    m["quantity2_mwh"] = export_mwh
    return _address(m, nz, sender, bus, M.MARKET, interval_s, send_ms, counter)


def _address(m, rows, sender, bus, receiver, interval_s, send_ms, counter):
    m["sender"] = sender[rows]
    m["receiver"] = receiver
    m["bus"] = bus[rows]
    m["interval_s"] = interval_s
    m["send_ms"] = send_ms
    m["msg_id"] = M.make_ids(sender[rows], counter[rows])
    counter[rows] += 1
    return m
