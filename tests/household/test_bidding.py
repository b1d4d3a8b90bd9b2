"""Bid curves from flexibility and binding dispatch (:mod:`simulators.household.bidding`).

Hand-computed cases use one home with PV and a battery; every expectation is
derived in the comments from the rules of the module docstring; tolerance
1e-12 MWh (sums of a few floats).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators.common import messages as M
from simulators.household import HouseholdModel, HouseholdsConfig
from simulators.household import bidding as B

ONE = B.ValuationFactors(np.ones(1), np.ones(1), np.ones(1))
Z1 = np.zeros(1)


def _state(**kw) -> B.FlexState:
    # home: base 1 kW, PV 3 kW, battery may charge 2 kW / discharge 1 kW, half full;
    # no EV, no heat pump; tariff 300 / 100 EUR/MWh, reference 300; 15 min
    d = dict(base_p_mw=np.array([1e-3]), pv_p_mw=np.array([3e-3]), ev_must_mw=Z1, ev_max_mw=Z1,
             ev_slack_h=np.array([np.inf]), hp_lo_mw=Z1, hp_set_mw=Z1, hp_hi_mw=Z1, hp_band_pos=np.ones(1),
             bat_ch_max_mw=np.array([2e-3]), bat_dis_max_mw=np.array([1e-3]), bat_soc_frac=np.array([0.5]),
             eta_round_trip=0.9, retail_eur_per_mwh=300.0, feed_in_eur_per_mwh=100.0,
             p_ref_eur_per_mwh=300.0, dt_h=0.25)
    d.update(kw)
    return B.FlexState(**d)


def _execute(steps: B.OrderSteps, n: int, local_price: float, retail: float, feed_in: float) -> np.ndarray:
    """Executed net position per home: locally where the limit crosses ``local_price``,
    else with the retailer where it crosses the tariff (the contract's backstop rule)."""
    buy = steps.side > 0
    local = np.where(buy, steps.price_eur_per_mwh >= local_price, steps.price_eur_per_mwh <= local_price)
    retail_ok = np.where(buy, steps.price_eur_per_mwh >= retail, steps.price_eur_per_mwh <= feed_in)
    ex = np.where(local | retail_ok, steps.quantity_mwh, 0.0) * steps.side
    out = np.zeros(n)
    np.add.at(out, steps.home, ex)
    return out


def test_curve_and_orders_by_hand():
    c = B.build_curve(_state(), ONE)
    # r0 = (1 - 3 kW) * 0.25 h = -0.5 kWh; charge 2 kW -> 0.5 kWh; discharge 1 kW -> 0.25 kWh
    assert c.r0_mwh[0] == pytest.approx(-0.5e-3, abs=1e-12)
    assert c.q_mwh[0, B.BAT_CHARGE] == pytest.approx(0.5e-3, abs=1e-12)
    assert c.q_mwh[0, B.BAT_DISCHARGE] == pytest.approx(0.25e-3, abs=1e-12)
    # stored energy w = 100 + (300 - 100) * (1 - 0.5) = 200; charge bid 200 * 0.9 = 180; ask 200
    assert c.price_eur_per_mwh[0, B.BAT_CHARGE] == pytest.approx(180.0)
    assert c.price_eur_per_mwh[0, B.BAT_DISCHARGE] == pytest.approx(200.0)
    # r0 + charge = 0: no surplus left to curtail
    assert c.q_mwh[0, B.PV_CURTAIL] == pytest.approx(0.0, abs=1e-12)
    s = B.order_steps(c)
    # D(inf) = -0.75 kWh; below 200 the discharge stops (-0.5), below 180 the battery charges (0):
    # OFFER 0.25 kWh at 200, OFFER 0.5 kWh at 180, no BID
    got = sorted(zip(s.side.tolist(), np.round(s.quantity_mwh * 1e3, 12).tolist(), s.price_eur_per_mwh.tolist()))
    assert got == [(-1, 0.25, 200.0), (-1, 0.5, 180.0)]


@pytest.mark.parametrize("local_price, bat_kw", [
    (None, 2.0),   # nothing traded, neither offer crosses the feed-in price: PV into the battery
    (190.0, 0.0),  # the 180 offer sold (0.5 kWh): the battery idles
    (210.0, -1.0),  # both offers sold (0.75 kWh): the battery discharges at 1 kW
])
def test_binding_battery_setpoint_by_hand(local_price, bat_kw):
    c = B.build_curve(_state(), ONE)
    s = B.order_steps(c)
    ex = _execute(s, 1, np.inf if local_price is None else local_price, 300.0, 100.0) if local_price else np.zeros(1)
    sp = B.setpoints(c, B.fill(c, ex), 0.25)
    assert sp.bat_mw[0] * 1e3 == pytest.approx(bat_kw, abs=1e-9)
    assert sp.pv_curtail_mw[0] == pytest.approx(0.0, abs=1e-12)


def test_unsold_pv_export_is_curtailed_and_inflexible_bid_at_retail():
    # battery full (charge 0); EV plugged with 2 kW extra and a slack of 6 h: w_ev = 100 + 200 * 0.5 = 200
    st_ = _state(bat_ch_max_mw=Z1, bat_soc_frac=np.ones(1), ev_max_mw=np.array([2e-3]),
                 ev_slack_h=np.array([6.0]))
    c = B.build_curve(st_, ONE)
    assert c.price_eur_per_mwh[0, B.EV_EXTRA] == pytest.approx(200.0)
    # surplus 2 kW - EV 2 kW = 0 left when everything is on -> nothing to curtail
    assert c.q_mwh[0, B.PV_CURTAIL] == pytest.approx(0.0, abs=1e-12)
    # without the EV: 2 kW surplus, curtailable at the feed-in price
    c = B.build_curve(_state(bat_ch_max_mw=Z1, bat_soc_frac=np.ones(1), bat_dis_max_mw=Z1), ONE)
    assert c.q_mwh[0, B.PV_CURTAIL] == pytest.approx(0.5e-3, abs=1e-12)
    # a DSO curtails the whole export (executed 0): the PV slot takes it, 2 kW curtailed
    sp = B.setpoints(c, B.fill(c, np.zeros(1)), 0.25)
    assert sp.pv_curtail_mw[0] == pytest.approx(2e-3, abs=1e-12)
    # a deficit home: its inflexible demand is one BID at the retail price
    s = B.order_steps(B.build_curve(_state(pv_p_mw=Z1, bat_ch_max_mw=Z1, bat_dis_max_mw=Z1), ONE))
    assert s.side.tolist() == [1] and s.price_eur_per_mwh.tolist() == [300.0]
    assert s.quantity_mwh[0] == pytest.approx(0.25e-3, abs=1e-12)


def test_fallback_idles_the_battery_and_holds_the_setpoint():
    st_ = _state(hp_lo_mw=np.array([0.5e-3]), hp_set_mw=np.array([1e-3]), hp_hi_mw=np.array([2e-3]),
                 hp_band_pos=np.array([0.3]), ev_max_mw=np.array([2e-3]), ev_slack_h=np.array([1.0]))
    c = B.build_curve(st_, ONE)
    sp = B.setpoints(c, B.fallback_fill(c), 0.25)
    # heat pump at the setpoint: 0.5 kW above the floor; EV at its must-charge; battery idle; no curtailment
    assert sp.hp_extra_mw[0] == pytest.approx(0.5e-3, abs=1e-12)
    assert sp.ev_extra_mw[0] == 0.0 and sp.pv_curtail_mw[0] == 0.0
    assert sp.bat_mw[0] == pytest.approx(0.0, abs=1e-12)


def _population(seed: int, n: int = 200):
    rng = np.random.default_rng(seed)
    u = lambda lo, hi: rng.uniform(lo, hi, n)
    has = lambda share: rng.random(n) < share
    hp_lo = u(0, 1e-3) * has(0.5)
    ev_max = u(0, 11e-3) * has(0.4)
    st_ = B.FlexState(
        base_p_mw=u(0.1e-3, 2e-3), pv_p_mw=u(0, 8e-3) * has(0.7), ev_must_mw=ev_max * u(0, 0.5),
        ev_max_mw=ev_max, ev_slack_h=u(-1, 20), hp_lo_mw=hp_lo, hp_set_mw=hp_lo + u(0, 1e-3) * (hp_lo > 0),
        hp_hi_mw=hp_lo + u(1e-3, 3e-3) * (hp_lo > 0), hp_band_pos=u(0, 1), bat_ch_max_mw=u(0, 5e-3) * has(0.5),
        bat_dis_max_mw=u(-0.01e-3, 5e-3), bat_soc_frac=u(0, 1), eta_round_trip=0.9025,
        retail_eur_per_mwh=287.0, feed_in_eur_per_mwh=123.1, p_ref_eur_per_mwh=float(u(150, 400)[0]), dt_h=0.25)
    return st_, B.draw_valuation_factors(rng, n)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), p1=st.floats(0.0, 500.0), p2=st.floats(0.0, 500.0))
def test_aggregate_flexible_demand_falls_as_the_local_price_rises(seed, p1, p2):
    """Property: with every order executed where its limit crosses the local price, the
    population's flexible demand (heat pump above its floor + EV above its must-charge +
    battery, minus nothing; PV curtailment counted as demand) is non-increasing in the price.
    Tolerance 1e-12 MWh per home (float sums)."""
    lo, hi = sorted((p1, p2))
    st_, f = _population(seed)
    c = B.build_curve(st_, f)
    s = B.order_steps(c)
    n = len(st_.base_p_mw)

    def flex_mwh(price):
        ex = np.zeros(n)
        buy = s.side > 0
        local = np.where(buy, s.price_eur_per_mwh >= price, s.price_eur_per_mwh <= price)
        np.add.at(ex, s.home, np.where(local, s.quantity_mwh, 0.0) * s.side)
        sp = B.setpoints(c, B.fill(c, ex), st_.dt_h)
        return (sp.hp_extra_mw + sp.ev_extra_mw + sp.bat_mw + sp.pv_curtail_mw) * st_.dt_h

    f_lo, f_hi = flex_mwh(lo), flex_mwh(hi)
    assert f_hi.sum() <= f_lo.sum() + 1e-12 * n
    assert np.all(f_hi <= f_lo + 1e-12)  # per home too: each curve is monotone
    # and the net position follows the home's own curve D(p)
    assert np.all(c.demand_at(hi) <= c.demand_at(lo) + 1e-15)


def test_orders_have_unique_ids_and_respect_the_minimum(rural_net):
    cfg = {"pv": {"share": 0.8}, "battery": {"share": 0.6}, "ev": {"share": 0.6, "mode": "smart"},
           "heat_pump": {"share": 0.6}, "policy": "market"}
    m = HouseholdModel(rural_net, HouseholdsConfig.model_validate(cfg), "2016-01-11T00:00:00", 900, 4, 1)
    _, out = m.step(0)
    assert len(out) and set(np.unique(out["kind"])) <= {M.Kind.BID, M.Kind.OFFER}
    assert np.all((out["kind"] == M.Kind.BID) == (out["side"] == 1))
    assert np.all(out["quantity_mwh"] >= M.MIN_ORDER_MWH) and np.all(out["interval_s"] == 900)
    assert len(np.unique(out["msg_id"])) == len(out)
    _, out2 = m.step(1)
    orders2 = out2[np.isin(out2["kind"], (M.Kind.BID, M.Kind.OFFER))]
    assert not set(orders2["msg_id"]) & set(out["msg_id"])


def _results(orders: np.ndarray, executed_fraction: float, local: bool = False) -> np.ndarray:
    r = M.empty(len(orders))
    r["kind"], r["receiver"], r["interval_s"], r["side"] = M.Kind.RESULT, orders["sender"], orders["interval_s"], orders["side"]
    r["quantity_mwh" if local else "quantity2_mwh"] = orders["quantity_mwh"] * executed_fraction
    r["ref_id"] = orders["msg_id"]
    return r


def test_binding_in_the_model_and_fallback_on_missing_results(rural_net):
    """Same seed, three runs of interval 1: every order executed, none executed, no RESULT.

    Expected (module rules): with nothing executed, the net position of a home is 0
    where its curve allows it; without RESULTs the battery idles (only a trickle charge)
    and the heat pump holds its setpoint."""
    cfg = {"pv": {"share": 0.8}, "battery": {"share": 0.6}, "heat_pump": {"share": 0.6}, "policy": "market"}
    runs = {}
    for case in ("all", "none", "lost"):
        m = HouseholdModel(rural_net, HouseholdsConfig.model_validate(cfg), "2016-06-06T10:00:00", 900, 3, 1)
        _, orders = m.step(0)
        if case != "lost":
            m.receive(_results(orders, 1.0 if case == "all" else 0.0, local=True))
        curve, _ = m.curves[900]
        out, _ = m.step(1)
        runs[case] = (out, curve, m, orders)
    out_all, curve, m, orders = runs["all"]
    out_none = runs["none"][0]
    out_lost = runs["lost"][0]
    assert runs["lost"][2].n_fallback > 0 and runs["all"][2].n_fallback == 0
    bat = m.pop.has_battery
    # every order traded locally: the metered net equals the executed position
    # sum(side * quantity) (perfect forecast of the next interval: tolerance 1e-9 MWh)
    d_hi, d_lo = curve.d_hi_mwh, curve.d_lo_mwh
    executed = np.zeros(m.pop.n)
    np.add.at(executed, orders["sender"], orders["quantity_mwh"] * orders["side"])
    assert np.allclose(out_all["p_mw"] * 0.25, executed, atol=1e-9)
    # executed nothing: every home sits at 0 where 0 lies on its curve
    on_curve = (d_hi <= 0) & (d_lo >= 0)
    assert np.allclose(out_none["p_mw"][on_curve], 0.0, atol=1e-9)
    # accepted vs rejected steps change the battery of the PV+battery homes at noon
    assert np.abs(out_all["battery_p_mw"][bat] - out_none["battery_p_mw"][bat]).max() > 1e-4
    # lost: the devices do what policy "none" does (battery idle, EV at its must-charge,
    # heat pump at the setpoint, PV uncurtailed); same seed, same homes; exact
    ref = HouseholdModel(rural_net, HouseholdsConfig.model_validate(dict(cfg, policy="none")),
                         "2016-06-06T10:00:00", 900, 3, 1)
    ref.step(0)
    out_ref, _ = ref.step(1)
    for key in ("battery_p_mw", "hp_p_mw", "ev_p_mw", "pv_p_mw", "p_mw"):
        assert np.allclose(out_lost[key], out_ref[key], atol=1e-12), key


def test_retail_quantity_of_an_order_below_the_tariff_is_not_delivered(rural_net):
    """The backstop rule on the home's side: a RESULT that reports a retail quantity
    for an order whose limit does not cross the tariff is treated as not executed
    (identical to a RESULT with quantity2 = 0); exact."""
    cfg = {"pv": {"share": 0.8}, "battery": {"share": 0.6}, "policy": "market"}
    outs = []
    for fraction_for_non_crossing in (1.0, 0.0):
        m = HouseholdModel(rural_net, HouseholdsConfig.model_validate(cfg), "2016-06-06T10:00:00", 900, 3, 1)
        _, orders = m.step(0)
        r = _results(orders, 1.0)
        lim, buy = orders["price_eur_per_mwh"], orders["side"] > 0
        crosses = np.where(buy, lim >= m.price[1], lim <= m.feed_in[1])
        assert (~crosses).any()  # the noon curves hold battery steps between the two prices
        r["quantity2_mwh"] = np.where(crosses, r["quantity2_mwh"], r["quantity2_mwh"] * fraction_for_non_crossing)
        m.receive(r)
        outs.append(m.step(1)[0])
    assert np.array_equal(outs[0]["p_mw"], outs[1]["p_mw"])


def test_step_order_equals_the_lexsort_of_the_steps():
    # the sort-free step order against np.lexsort (the code it replaced) on slot prices with
    # many ties, NaN, -0.0 and limits equal to the retail price; scalar and per-home retail
    rng = np.random.default_rng(5)
    n, s = 400, B.N_SLOTS
    raw = rng.choice([np.nan, -0.0, 0.0, 20.0, 80.0, 300.0, np.inf], size=(n, s))
    some = rng.random((n, s)) < 0.5
    raw[some] = rng.integers(0, 5, (n, s))[some] * 40.0  # more ties, with the retail prices too
    price = np.take_along_axis(raw, np.argsort(-raw, axis=1, kind="stable"), axis=1)  # as sorted_slots
    for retail in (80.0, rng.choice([np.nan, 0.0, 40.0, 80.0, 300.0], n)):
        live = rng.random(n + 2 * n * s) < 0.7
        home = np.concatenate([np.arange(n), np.repeat(np.arange(n), s), np.repeat(np.arange(n), s)])
        side = np.concatenate([np.ones(n), np.ones(n * s), -np.ones(n * s)]).astype(np.int8)
        lim = np.concatenate([np.broadcast_to(retail, (n,)), price.ravel(), price.ravel()])
        idx = np.flatnonzero(live)
        want = idx[np.lexsort((-lim[idx], side[idx], home[idx]))]
        assert np.array_equal(B._step_order(price, retail, live), want)
