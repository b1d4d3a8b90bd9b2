"""Tests of the DLMP clearing (simulators.market.dlmp).

Independent references: a finite difference of the same LP re-solved by HiGHS
(the DLMP is by definition d(cost)/d(demand at bus i)), a hand-written
merit-order (uniform-price) clearing, and pandapower's AC power flow.
"""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest

from simulators.common.messages import empty
from simulators.market.dlmp import DlmpLimits, clear_dlmp
from simulators.common.network.linear import linearize


def small_net(line_max_i_ka: float = 0.27, trafo_sn_mva: float = 0.25):
    """Radial 20/0.4 kV net: slack, trafo, 4 LV buses (a branch at bus 2)."""
    net = pp.create_empty_network()
    b0 = pp.create_bus(net, 20.0)
    lv = [pp.create_bus(net, 0.4) for _ in range(4)]
    pp.create_ext_grid(net, b0, vm_pu=1.0)
    pp.create_transformer(net, b0, lv[0], "0.25 MVA 20/0.4 kV")
    net.trafo.sn_mva = trafo_sn_mva
    for f, t, km in [(0, 1, 0.2), (1, 2, 0.15), (1, 3, 0.25)]:
        pp.create_line(net, lv[f], lv[t], km, "NAYY 4x150 SE")
    net.line.max_i_ka = line_max_i_ka
    for b, p in [(lv[1], 0.03), (lv[2], 0.02), (lv[3], 0.025)]:
        pp.create_load(net, b, p_mw=p, q_mvar=0.2 * p)
    pp.create_sgen(net, lv[2], p_mw=0.01)
    return net


def make_orders(rng, buses, n, qmax_mwh=0.01):
    o = empty(n)
    o["side"] = rng.choice([1, -1], n)
    o["bus"] = rng.choice(buses, n)
    o["quantity_mwh"] = rng.uniform(0.1, 1.0, n) * qmax_mwh
    o["price_eur_per_mwh"] = rng.uniform(40.0, 350.0, n)
    return o


@pytest.fixture(scope="module")
def lin_small():
    return linearize(small_net())


def _components_sum(res):
    return (res.energy_eur_per_mwh + res.loss_eur_per_mwh + res.congestion_eur_per_mwh
            + res.voltage_eur_per_mwh)


@pytest.mark.parametrize("case", ["free", "congested", "voltage"])
def test_dlmp_equals_finite_difference_and_components_sum(lin_small, case):
    rng = np.random.default_rng(7)
    lv = lin_small.bus_index[1:]
    orders = make_orders(rng, lv, 40, qmax_mwh=0.02)
    lim = DlmpLimits(ac_check=False)
    if case == "congested":  # heavy demand at the feeder end, tight trafo/line limit
        orders["side"][:25] = 1
        orders["price_eur_per_mwh"][:25] = rng.uniform(310, 400, 25)
        lim = DlmpLimits(ac_check=False, max_loading_percent=60.0)
    if case == "voltage":
        orders["side"][:25] = 1
        orders["price_eur_per_mwh"][:25] = rng.uniform(310, 400, 25)
        lim = DlmpLimits(ac_check=False, vm_min_pu=0.975)
    res = clear_dlmp(orders, lin_small, lim, interval_h=0.25)
    assert res.status == "optimal"
    # decomposition is exact (stationarity of the free bus variable), to round-off
    np.testing.assert_allclose(_components_sum(res), res.dlmp_eur_per_mwh, rtol=0, atol=1e-8)
    if case == "congested":
        assert np.abs(res.congestion_eur_per_mwh).max() > 1.0  # the case really binds
    if case == "voltage":
        assert np.abs(res.voltage_eur_per_mwh).max() > 1.0
    # finite difference of the LP optimum: d cost / d base demand at bus i
    eps = 1e-4  # [MW], small against order sizes (>= 8e-3 MW), keeps the basis
    for i in range(lin_small.n_bus):
        base = lin_small.p0_mw.copy()
        base[i] += eps
        r2 = clear_dlmp(orders, lin_small, lim, interval_h=0.25, base_p_mw=base)
        fd = (r2.objective_eur_per_h - res.objective_eur_per_h) / eps
        assert fd == pytest.approx(res.dlmp_eur_per_mwh[i], rel=1e-6, abs=1e-6)


def merit_order(orders, retail, feed_in, inelastic_mw, dt):
    """Reference uniform-price clearing with an infinite grid supplier/buyer.

    Returns the clearing price and per-order accepted MWh: the price is the one
    candidate price where demand and supply intervals overlap.
    """
    big = 1e6
    q = orders["quantity_mwh"] / dt
    pr = orders["price_eur_per_mwh"]
    buy, sell = orders["side"] > 0, orders["side"] < 0
    bq = np.r_[q[buy], big]
    bp = np.r_[pr[buy], feed_in]
    sq = np.r_[q[sell], big]
    spr = np.r_[pr[sell], retail]
    for c in np.unique(np.r_[bp, spr]):
        d_lo = bq[bp > c].sum() + inelastic_mw
        d_hi = bq[bp >= c].sum() + inelastic_mw
        s_lo, s_hi = sq[spr < c].sum(), sq[spr <= c].sum()
        if max(d_lo, s_lo) <= min(d_hi, s_hi) + 1e-12:
            vol = max(d_lo, s_lo)
            acc = np.zeros(len(orders))
            acc[buy] = np.where(pr[buy] > c, q[buy], 0.0)
            acc[sell] = np.where(pr[sell] < c, q[sell], 0.0)
            # the marginal (price == c) order takes the rest of the volume
            for mask, side_vol in ((buy & (pr == c), vol - inelastic_mw - acc[buy].sum()),
                                   (sell & (pr == c), vol - acc[sell].sum())):
                if mask.any():
                    acc[mask] = side_vol
            return c, acc * dt
    raise AssertionError("no crossing")


def test_no_binding_network_equals_pay_as_clear():
    """Loose limits and no losses: one price, the merit-order price and volumes."""
    net = small_net(line_max_i_ka=100.0, trafo_sn_mva=100.0)
    lin = linearize(net)
    lim = DlmpLimits(vm_min_pu=0.5, vm_max_pu=1.5, losses=False, ac_check=False)
    for seed in range(5):
        rng = np.random.default_rng(seed)
        orders = make_orders(rng, lin.bus_index[1:], 30)
        res = clear_dlmp(orders, lin, lim, interval_h=0.25)
        assert res.status == "optimal"
        # inelastic demand = base consumption + constant losses of the operating point
        inel = lin.p_slack0_mw
        price, acc = merit_order(orders, lim.retail_price_eur_per_mwh,
                                 lim.feed_in_price_eur_per_mwh, inel, 0.25)
        np.testing.assert_allclose(res.dlmp_eur_per_mwh, price, rtol=0, atol=1e-7)
        np.testing.assert_allclose(res.accepted_mwh, acc, rtol=0, atol=1e-9)


def test_dlmp_close_to_pandapower_opf():
    """DLMPs vs pandapower AC OPF marginal prices (res_bus.lam_p).

    Inelastic loads, two sgens (100 and 350 EUR/MWh) and the grid at 300 EUR/MWh
    import; a tight line limit makes the prices differ by bus. Tolerance 2 %
    (observed max 1.6 %): the LP uses loss factors and sensitivities frozen at
    the operating point without generation (the loss component dominates on
    this heavily loaded LV feeder), the OPF solves the AC problem exactly.
    """
    net = small_net(line_max_i_ka=0.2)
    net.load.p_mw *= 2.0
    net.sgen.drop(net.sgen.index, inplace=True)
    lv = net.bus.index[1:]
    g1 = pp.create_sgen(net, lv[0], p_mw=0.0, min_p_mw=0, max_p_mw=0.05, controllable=True,
                        min_q_mvar=-1e-6, max_q_mvar=1e-6)
    g2 = pp.create_sgen(net, lv[3], p_mw=0.0, min_p_mw=0, max_p_mw=0.05, controllable=True,
                        min_q_mvar=-1e-6, max_q_mvar=1e-6)
    net.ext_grid["min_p_mw"], net.ext_grid["max_p_mw"] = -1.0, 1.0
    net.ext_grid["min_q_mvar"], net.ext_grid["max_q_mvar"] = -1.0, 1.0
    net.bus["min_vm_pu"], net.bus["max_vm_pu"] = 0.9, 1.1
    net.line["max_loading_percent"] = 100.0
    net.trafo["max_loading_percent"] = 100.0
    pp.create_poly_cost(net, 0, "ext_grid", cp1_eur_per_mw=300.0)
    pp.create_poly_cost(net, g1, "sgen", cp1_eur_per_mw=100.0)
    pp.create_poly_cost(net, g2, "sgen", cp1_eur_per_mw=350.0)
    # angles off: the Dyn5 phase shift stops PIPS from converging on this tiny net
    pp.runopp(net, calculate_voltage_angles=False)
    lam = net.res_bus.lam_p.to_numpy()
    # the same problem for the LP: operating point = loads only, sgens as sell orders
    lin = linearize(net)
    orders = empty(2)
    orders["side"] = -1
    orders["bus"] = [lv[0], lv[3]]
    orders["quantity_mwh"] = 0.05 * 0.25
    orders["price_eur_per_mwh"] = [100.0, 350.0]
    res = clear_dlmp(orders, lin, DlmpLimits(feed_in_price_eur_per_mwh=-300.0), interval_h=0.25)
    assert res.status == "optimal"
    assert np.abs(res.congestion_eur_per_mwh).max() > 1.0  # the line limit binds
    np.testing.assert_allclose(res.dlmp_eur_per_mwh, lam, rtol=0.02)


def test_ac_check_reports_small_error_and_infeasible_is_data(lin_small):
    rng = np.random.default_rng(3)
    orders = make_orders(rng, lin_small.bus_index[1:], 30)
    res = clear_dlmp(orders, lin_small, DlmpLimits(), interval_h=0.25)
    assert res.status == "optimal" and res.ac_converged
    # orders move <= 0.12 MW in a 0.25 MVA LV net; first-order error stays small
    assert res.max_dvm_pu < 0.005
    assert res.max_dloading_percent < 5.0
    # an impossible voltage band: status is data, not an exception
    bad = clear_dlmp(orders, lin_small, DlmpLimits(vm_min_pu=1.2, vm_max_pu=1.3))
    assert bad.status == "infeasible"
    assert np.all(bad.accepted_mwh == 0) and np.isnan(bad.dlmp_eur_per_mwh).all()
