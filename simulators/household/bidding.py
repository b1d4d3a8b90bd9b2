"""Bid curves from household flexibility, and binding dispatch from what was executed.

Every home turns its devices into one net demand curve ``D(p)`` for the next
interval [MWh]: how much it takes from the grid (negative: injects) if the
local price is ``p`` [EUR/MWh]. The curve is built from a fixed set of *slots*
per home (arrays of shape ``(n, N_SLOTS)``, no per-home Python loop):

============  ===========  ===================================  =========================================
slot          kind         quantity [MWh]                        price [EUR/MWh]
============  ===========  ===================================  =========================================
hp_comfort    demand       heat pump from the band floor to      retail import price (comfort is bought at
                           the setpoint                           any price the retailer charges)
hp_preheat    demand       heat pump from the setpoint to the    heat storage value ``v_hp``
                           top of the comfort band
ev_extra      demand       EV charging beyond its must-charge    willingness to pay ``w_ev``, rising as the
                                                                  departure nears
bat_charge    demand       battery charging (beyond a forced     charge valuation ``v_ch``
                           trickle charge)
bat_discharge supply       battery discharging                   discharge valuation ``a_dis``
pv_curtail    demand-like  PV export the home would rather       PV marginal value ``c_pv`` (the feed-in
                           curtail than sell below ``c_pv``       price: the income it can always get)
============  ===========  ===================================  =========================================

Inflexible demand ``r0 = base + EV must + heat pump at the band floor +
trickle charge - PV`` (a forecast) is on top. As the price falls, each slot
adds its quantity at its price (a demand slot switches on, a supply slot
switches off), so ``D(p) = r0 - supply + sum of slots with price >= p`` is
non-increasing in ``p`` by construction.

Orders (the contract with the market): the curve's positive part becomes BID
steps, its negative part OFFER steps. Inflexible demand (``D`` at an infinite
price, if positive) is a BID at the retail import price; every other step is
a BID or OFFER at the price of the slot where ``D`` changes. The market trades
each order locally where it can; what is not traded locally is executed with
the retailer only if its limit crosses the tariff (BID >= retail import price,
OFFER <= feed-in price); the rest is not executed. RESULT messages report
``quantity_mwh`` (local) + ``quantity2_mwh`` (retailer) = executed.

Binding dispatch: the executed net position ``T = sum(side * executed)`` is
placed back on the home's own curve. Slots are filled in order of falling
price (ties: in the slot order of the table) until ``D`` reaches ``T``; a slot
at the marginal price is filled partly. The fill of each slot is the device
setpoint for the delivery interval: unaccepted flexible volume is not
executed (battery idles, EV defers to its must-charge, heat pump stays at the
band floor, unsold PV export is curtailed). A home without a complete set of
RESULTs by its decision time uses :func:`fallback_fill` (see there).

Valuations use no future knowledge: the retail and feed-in prices of the next
interval (a published tariff) and a trailing reference price ``p_ref``
[EUR/MWh] (the model's trailing 24 h mean of the import price, or of the local
price where one cleared). Heterogeneity comes from per-home factors drawn once
from the household simulator's seeded Generator (:func:`draw_valuation_factors`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from simulators.common import messages as msgs

#: Slot names, in tie-break order (see the module docstring).
SLOTS = ("hp_comfort", "hp_preheat", "ev_extra", "bat_charge", "bat_discharge", "pv_curtail")
N_SLOTS = len(SLOTS)
HP_COMFORT, HP_PREHEAT, EV_EXTRA, BAT_CHARGE, BAT_DISCHARGE, PV_CURTAIL = range(N_SLOTS)
#: +1 demand slot (consumes when the price is at or below its price), -1 supply slot.
SLOT_SIGN = np.array([1, 1, 1, 1, -1, 1], dtype=np.int8)

#: EV urgency horizon [h]: the willingness to pay reaches the retail price when
#: the slack before departure (time left minus time needed at full power) falls
#: to zero and the feed-in price when it exceeds this horizon. Assumption: a
#: half-day look-ahead, the span of one evening-to-morning charging session
#: (arrival ~17.6 h, departure ~8.9 h, Qian et al. 2011).
EV_URGENCY_HORIZON_H = 12.0


@dataclass(frozen=True)
class ValuationFactors:
    """Per-home heterogeneity of the valuations (drawn once, seeded).

    All are assumptions (no published distribution of household bidding
    behaviour exists); each is a multiplicative spread of +-20 % around a
    neutral 1, the same order as the spread of battery round-trip
    efficiencies in field data (0.80-0.95, HTW Berlin Stromspeicher-Inspektion).

    Attributes
    ----------
    battery, ev, heat_pump : np.ndarray
        Scale of the price spread ``p_ref - feed_in`` a home values its stored
        energy at (battery), its EV energy at (ev), its stored heat at
        (heat_pump) [1].
    """

    battery: np.ndarray
    ev: np.ndarray
    heat_pump: np.ndarray


def draw_valuation_factors(rng: np.random.Generator, n: int) -> ValuationFactors:
    """Draw the per-home valuation factors, uniform in [0.8, 1.2] (an assumption)."""
    return ValuationFactors(*(rng.uniform(0.8, 1.2, n) for _ in range(3)))


@dataclass(frozen=True)
class FlexState:
    """What the curve of the next interval is built from; arrays per home.

    Powers [MW] over the interval of ``dt_h`` [h]; prices [EUR/MWh].

    Attributes
    ----------
    base_p_mw, pv_p_mw : np.ndarray
        Forecast base load and available PV power.
    ev_must_mw, ev_max_mw : np.ndarray
        EV power it must and may at most take.
    ev_slack_h : np.ndarray
        Time to departure minus time needed to reach the target at full power
        [h] (inf where unplugged).
    hp_lo_mw, hp_set_mw, hp_hi_mw : np.ndarray
        Heat pump power reaching the floor, holding the setpoint, reaching the
        top of the comfort band.
    hp_band_pos : np.ndarray
        Indoor temperature's position in the comfort band, 0 floor .. 1 top [1].
    bat_ch_max_mw, bat_dis_max_mw : np.ndarray
        Battery limits (``bat_dis_max_mw < 0``: forced trickle charge).
    bat_soc_frac : np.ndarray
        Battery state of charge within ``[soc_min, soc_max]``, 0..1 [1].
    eta_round_trip : float
        Battery round-trip efficiency (charge x discharge) [1].
    retail_eur_per_mwh, feed_in_eur_per_mwh, p_ref_eur_per_mwh : float
        Tariff prices of the next interval and the trailing reference price
        (``retail_eur_per_mwh`` per home, shape (n,), under block prices).
    dt_h : float
    """

    base_p_mw: np.ndarray
    pv_p_mw: np.ndarray
    ev_must_mw: np.ndarray
    ev_max_mw: np.ndarray
    ev_slack_h: np.ndarray
    hp_lo_mw: np.ndarray
    hp_set_mw: np.ndarray
    hp_hi_mw: np.ndarray
    hp_band_pos: np.ndarray
    bat_ch_max_mw: np.ndarray
    bat_dis_max_mw: np.ndarray
    bat_soc_frac: np.ndarray
    eta_round_trip: float
    retail_eur_per_mwh: float | np.ndarray
    feed_in_eur_per_mwh: float
    p_ref_eur_per_mwh: float
    dt_h: float


@dataclass(frozen=True)
class BidCurve:
    """A net demand curve per home for one interval.

    Attributes
    ----------
    r0_mwh : np.ndarray
        Inflexible net demand (negative: surplus) [MWh], shape (n,).
    q_mwh : np.ndarray
        Slot quantities, >= 0 [MWh], shape (n, N_SLOTS).
    price_eur_per_mwh : np.ndarray
        Slot prices [EUR/MWh], shape (n, N_SLOTS).
    retail_eur_per_mwh : float or np.ndarray
        Limit price of the inflexible BID (per home under block prices).
    """

    r0_mwh: np.ndarray
    q_mwh: np.ndarray
    price_eur_per_mwh: np.ndarray
    retail_eur_per_mwh: float | np.ndarray

    @cached_property
    def supply_mwh(self) -> np.ndarray:
        """Energy all supply slots inject at a high price [MWh], shape (n,)."""
        return self.q_mwh[:, SLOT_SIGN < 0].sum(axis=1)

    @cached_property
    def d_hi_mwh(self) -> np.ndarray:
        """Net demand at an infinite price: ``r0 - supply`` [MWh]."""
        return self.r0_mwh - self.supply_mwh

    @cached_property
    def d_lo_mwh(self) -> np.ndarray:
        """Net demand at a price below every slot: ``D_hi + sum(q)`` [MWh]."""
        return self.d_hi_mwh + self.q_mwh.sum(axis=1)

    @cached_property
    def sorted_slots(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Slots by falling price: (order, q, price, net demand after each slot), see :func:`_sorted`.

        Computed once per curve: the orders are cut from it at one step and the
        fills at the next.
        """
        order = np.argsort(-self.price_eur_per_mwh, axis=1, kind="stable")
        q = np.take_along_axis(self.q_mwh, order, axis=1)
        price = np.take_along_axis(self.price_eur_per_mwh, order, axis=1)
        d_after = self.d_hi_mwh[:, None] + np.cumsum(q, axis=1)
        return order, q, price, d_after

    def demand_at(self, price_eur_per_mwh: float) -> np.ndarray:
        """``D(p)`` [MWh] per home (a slot at exactly ``p`` counts as filled)."""
        return self.d_hi_mwh + (self.q_mwh * (self.price_eur_per_mwh >= price_eur_per_mwh)).sum(axis=1)


def valuations(s: FlexState, f: ValuationFactors) -> dict[str, np.ndarray]:
    """Slot prices [EUR/MWh] per home.

    * Stored battery energy is worth ``w = feed_in + spread * (1 - soc_frac)``
      with ``spread = factor * max(p_ref - feed_in, 0)``: an empty battery's
      energy displaces imports later (worth up to ``p_ref``), a full one's is
      likely exported (worth ``feed_in``). Charging pays at most
      ``v_ch = w * eta_round_trip`` (one MWh bought returns ``eta`` MWh later);
      discharging asks ``a_dis = w``. ``v_ch < a_dis``, so a home never buys to
      sell back at a loss.
    * Pre-heating is worth ``v_hp = feed_in + factor * spread * (1 - band_pos)``
      (a warm house stores less; the same reasoning as the battery, with no
      round-trip factor since heat is used, not sold back).
    * EV charging beyond the must-charge: ``w_ev = feed_in + (retail - feed_in)
      * clip(1 - slack / EV_URGENCY_HORIZON_H, 0, 1) ** (1 / factor)``.
    * PV export: ``c_pv = feed_in`` (the income it can always get).
    """
    fi, retail = s.feed_in_eur_per_mwh, s.retail_eur_per_mwh
    gap = max(s.p_ref_eur_per_mwh - fi, 0.0)
    w_bat = fi + f.battery * gap * (1.0 - np.clip(s.bat_soc_frac, 0.0, 1.0))
    v_hp = fi + f.heat_pump * gap * (1.0 - np.clip(s.hp_band_pos, 0.0, 1.0))
    urgency = np.clip(1.0 - s.ev_slack_h / EV_URGENCY_HORIZON_H, 0.0, 1.0)
    w_ev = fi + (retail - fi) * urgency ** (1.0 / f.ev)
    n = len(s.base_p_mw)
    return {"hp_comfort": np.full(n, retail), "hp_preheat": v_hp, "ev_extra": w_ev,
            "bat_charge": w_bat * s.eta_round_trip, "bat_discharge": w_bat, "pv_curtail": np.full(n, fi)}


def build_curve(s: FlexState, f: ValuationFactors) -> BidCurve:
    """The net demand curve of every home for the next interval (see the module docstring)."""
    dt = s.dt_h
    trickle = np.maximum(-s.bat_dis_max_mw, 0.0)
    r0 = (s.base_p_mw + s.ev_must_mw + s.hp_lo_mw + trickle - s.pv_p_mw) * dt
    q = np.zeros((len(r0), N_SLOTS))
    q[:, HP_COMFORT] = np.maximum(s.hp_set_mw - s.hp_lo_mw, 0.0) * dt
    q[:, HP_PREHEAT] = np.maximum(s.hp_hi_mw - np.maximum(s.hp_set_mw, s.hp_lo_mw), 0.0) * dt
    q[:, EV_EXTRA] = np.maximum(s.ev_max_mw - s.ev_must_mw, 0.0) * dt
    q[:, BAT_CHARGE] = np.maximum(s.bat_ch_max_mw - trickle, 0.0) * dt
    q[:, BAT_DISCHARGE] = np.maximum(s.bat_dis_max_mw, 0.0) * dt
    v = valuations(s, f)
    price = np.stack([v[name] for name in SLOTS], axis=1)
    # PV curtailment only ever removes export: at most the surplus left when
    # every other demand slot is on (so curtailment never creates a purchase)
    d_lo_without = r0 - q[:, BAT_DISCHARGE] + q.sum(axis=1)
    q[:, PV_CURTAIL] = np.minimum(np.maximum(-d_lo_without, 0.0), np.maximum(s.pv_p_mw, 0.0) * dt)
    retail = s.retail_eur_per_mwh  # a scalar, or per home under block prices
    return BidCurve(r0, q, price, float(retail) if np.ndim(retail) == 0 else np.asarray(retail, dtype=float))


def _sorted(curve: BidCurve):
    """Slots by falling price (stable: ties keep the slot order); cumulative net demand after each.

    The arrays are the curve's cached :attr:`BidCurve.sorted_slots`: read only.
    """
    return curve.sorted_slots


@dataclass(frozen=True)
class OrderSteps:
    """Order steps of a set of curves (flat arrays, one entry per order).

    Attributes
    ----------
    home : np.ndarray
        Row of the home.
    side : np.ndarray
        +1 BID, -1 OFFER.
    quantity_mwh, price_eur_per_mwh : np.ndarray
        Quantity [MWh] and limit price [EUR/MWh].
    """

    home: np.ndarray
    side: np.ndarray
    quantity_mwh: np.ndarray
    price_eur_per_mwh: np.ndarray


def order_steps(curve: BidCurve, min_mwh: float = msgs.MIN_ORDER_MWH) -> OrderSteps:
    """Split every curve into BID / OFFER steps (steps below ``min_mwh`` are dropped).

    Steps of one home with the same side and limit price are merged into one
    order. Orders come grouped by home (as households send them).

    The inflexible BID is ``max(D_hi, 0)`` at the retail price; at each slot
    (falling price) the bought quantity grows by ``max(D_after, 0) -
    max(D_before, 0)`` (a BID at the slot price) and the sold quantity shrinks
    by ``max(-D_before, 0) - max(-D_after, 0)`` (an OFFER at the slot price).
    """
    n = len(curve.r0_mwh)
    _, _, price, d_after = _sorted(curve)
    d_before = np.concatenate([curve.d_hi_mwh[:, None], d_after[:, :-1]], axis=1)
    buy = np.maximum(d_after, 0.0) - np.maximum(d_before, 0.0)
    sell = np.maximum(-d_before, 0.0) - np.maximum(-d_after, 0.0)
    homes = np.repeat(np.arange(n), N_SLOTS).reshape(n, N_SLOTS)
    inflex = np.maximum(curve.d_hi_mwh, 0.0)
    home = np.concatenate([np.arange(n), homes.ravel(), homes.ravel()])
    side = np.concatenate([np.ones(n), np.ones(n * N_SLOTS), -np.ones(n * N_SLOTS)]).astype(np.int8)
    qty = np.concatenate([inflex, buy.ravel(), sell.ravel()])
    lim = np.concatenate([np.full(n, curve.retail_eur_per_mwh), price.ravel(), price.ravel()])
    # steps of one home, side and limit price are one order (e.g. inflexible demand
    # and the heat pump's comfort step, both at the retail price): fewer messages
    idx = _step_order(price, curve.retail_eur_per_mwh, qty > 0)
    h, sd, pr = home[idx], side[idx], lim[idx]
    new = np.r_[True, (h[1:] != h[:-1]) | (sd[1:] != sd[:-1]) | (pr[1:] != pr[:-1])] if len(idx) else np.zeros(0, bool)
    start = np.flatnonzero(new)
    total = np.add.reduceat(qty[idx], start) if len(start) else np.zeros(0)
    keep = total >= min_mwh
    first = idx[start][keep]
    return OrderSteps(home[first], side[first], total[keep], lim[first])


def _step_order(price: np.ndarray, retail, live: np.ndarray) -> np.ndarray:
    """Indices of the live steps of :func:`order_steps` by home, side (OFFER first), falling price.

    The same as ``live_idx[np.lexsort((-lim[live_idx], side[live_idx], home[live_idx]))]``
    over the step arrays of :func:`order_steps` (``live_idx = np.flatnonzero(live)``), ties
    in step order, built without a sort: ``price`` (n, N_SLOTS) is each home's
    slot prices already by falling price (NaN last), so a home's OFFER and BID slot
    steps are in order, and its inflexible BID (limit ``retail``) goes before the
    first BID slot whose price does not sort before it.
    """
    n, n_slots = price.shape
    key, key_r = -price, -np.broadcast_to(np.asarray(retail, dtype=float), (n,))
    # slots that sort strictly before the inflexible BID (NaN sorts last)
    before = key < key_r[:, None]
    nan_r = np.isnan(key_r)
    if nan_r.any():
        before[nan_r] = ~np.isnan(key[nan_r])
    pos = np.count_nonzero(before, axis=1)
    homes = np.arange(n)
    first = n + homes[:, None] * n_slots  # step index of each home's first BID slot
    col = np.arange(n_slots + 1)[None, :]
    bids = first + col - (col > pos[:, None])
    bids[homes, pos] = homes  # the inflexible BID
    offers = first + n * n_slots + np.arange(n_slots)[None, :]
    steps = np.concatenate([offers, bids], axis=1).ravel()
    return steps[live[steps]]


def build_curve_orders(steps: OrderSteps, sender, bus, interval_s: int, send_ms: int, counter) -> np.ndarray:
    """BID / OFFER messages of the order steps, addressed to the market operator.

    ``counter`` (per-home message counters) is advanced in place, one id per order.
    """
    m = msgs.empty(len(steps.home))
    m["kind"] = np.where(steps.side > 0, msgs.Kind.BID, msgs.Kind.OFFER)
    m["side"] = steps.side
    m["quantity_mwh"] = steps.quantity_mwh
    m["price_eur_per_mwh"] = steps.price_eur_per_mwh
    m["sender"] = sender[steps.home]
    m["receiver"] = msgs.MARKET
    m["bus"] = bus[steps.home]
    m["interval_s"] = interval_s
    m["send_ms"] = send_ms
    # k-th order of a home gets counter + k
    first = np.r_[True, steps.home[1:] != steps.home[:-1]] if len(steps.home) else np.zeros(0, bool)
    start = np.flatnonzero(first)
    rank = np.arange(len(steps.home)) - np.repeat(start, np.diff(np.r_[start, len(steps.home)]))
    m["msg_id"] = msgs.make_ids(sender[steps.home], counter[steps.home] + rank)
    np.add.at(counter, steps.home, 1)
    return m


def fill(curve: BidCurve, executed_mwh: np.ndarray) -> np.ndarray:
    """Fill of each slot [MWh] that places every home at its executed net position.

    Parameters
    ----------
    curve : BidCurve
    executed_mwh : np.ndarray
        Executed net position per home, ``sum(side * (quantity + quantity2))``
        of its RESULTs [MWh]; clipped to ``[D_hi, D_lo]``.

    Returns
    -------
    np.ndarray
        Shape (n, N_SLOTS), in slot order: energy by which each slot moved
        towards "on" (demand slots: energy consumed; the supply slot: energy
        *not* injected) [MWh], ``0 <= fill <= q``.
    """
    order, q, _, d_after = _sorted(curve)
    target = np.clip(executed_mwh, curve.d_hi_mwh, curve.d_lo_mwh)
    need = (target - curve.d_hi_mwh)[:, None]
    before = d_after - q - curve.d_hi_mwh[:, None]
    got = np.clip(need - before, 0.0, q)
    out = np.empty_like(got)
    np.put_along_axis(out, order, got, axis=1)
    return out


def fallback_fill(curve: BidCurve) -> np.ndarray:
    """Safe default when a home has no complete result in time [MWh per slot].

    Inflexible demand and PV only: the heat pump holds its setpoint (the
    comfort slot is on), the EV takes only its must-charge, the battery idles
    (no charge, the supply slot fully "not injected"), no PV is curtailed.
    """
    out = np.zeros_like(curve.q_mwh)
    out[:, HP_COMFORT] = curve.q_mwh[:, HP_COMFORT]
    out[:, BAT_DISCHARGE] = curve.q_mwh[:, BAT_DISCHARGE]
    return out


@dataclass(frozen=True)
class Setpoints:
    """Device setpoints of the delivery interval [MW] from slot fills."""

    hp_extra_mw: np.ndarray  # above the band floor
    ev_extra_mw: np.ndarray  # above the must-charge
    bat_mw: np.ndarray  # beyond the trickle charge, positive = charging
    pv_curtail_mw: np.ndarray


def setpoints(curve: BidCurve, fills: np.ndarray, dt_h: float) -> Setpoints:
    """Convert slot fills [MWh] into device setpoints [MW]."""
    hp = (fills[:, HP_COMFORT] + fills[:, HP_PREHEAT]) / dt_h
    bat = (fills[:, BAT_CHARGE] - (curve.q_mwh[:, BAT_DISCHARGE] - fills[:, BAT_DISCHARGE])) / dt_h
    return Setpoints(hp, fills[:, EV_EXTRA] / dt_h, bat, fills[:, PV_CURTAIL] / dt_h)
