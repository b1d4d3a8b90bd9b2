"""Tests of the local flexibility market (simulators.market.lfm).

Independent references: exhaustive enumeration of profile acceptance (brute
force, written here), hand calculations for settlement, and the linear
network's own forecast for need detection.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandapower as pp
import pytest

from simulators.market import lfm
from simulators.common.network.linear import linearize


def small_net():
    """Radial 20/0.4 kV net: slack, 0.25 MVA trafo, 4 LV buses (branch at bus 2)."""
    net = pp.create_empty_network()
    b0 = pp.create_bus(net, 20.0)
    lv = [pp.create_bus(net, 0.4) for _ in range(4)]
    pp.create_ext_grid(net, b0, vm_pu=1.0)
    pp.create_transformer(net, b0, lv[0], "0.25 MVA 20/0.4 kV")
    for f, t, km in [(0, 1, 0.2), (1, 2, 0.15), (1, 3, 0.25)]:
        pp.create_line(net, lv[f], lv[t], km, "NAYY 4x150 SE")
    for b, p in [(lv[1], 0.03), (lv[2], 0.02), (lv[3], 0.025)]:
        pp.create_load(net, b, p_mw=p, q_mvar=0.2 * p)
    return net


@pytest.fixture(scope="module")
def lin():
    return linearize(small_net())


def congested_forecast(lin, n_t=3, extra_mw=(0.12, 0.16, 0.08)):
    """Evening peak: extra demand at the two feeder ends, varying per interval."""
    dp = np.zeros((n_t, lin.n_bus))
    for t in range(n_t):
        dp[t, 3] = dp[t, 4] = extra_mw[t] / 2
    return lfm.forecast_grid(lin, dp)


def test_detect_needs_and_traffic_light(lin):
    fc = congested_forecast(lin)
    limits = lfm.LfmLimits()
    reqs = lfm.detect_needs(fc, limits, lin, start_s=900, interval_s=900)
    over = np.flatnonzero((fc["loading_percent"] > 100).any(axis=0))
    assert len(over) >= 1  # the scenario really overloads something
    thermal = [r for r in reqs if r.element != "bus"]
    assert len(thermal) == len(over)
    for r in thermal:
        k = int(np.flatnonzero((lin.branch_element == r.element_index)
                               & (lin.branch_kind == (0 if r.element == "line" else 1)))[0])
        # need = excess loading x rating (hand formula of the docstring)
        exp = np.maximum(fc["loading_percent"][:, k] - 100, 0) / 100 * lin.s_max_mva[2 * k]
        np.testing.assert_allclose(r.need_mw, exp)
        assert r.direction == 1 and r.deadline_s == 0
        # flexibility upstream of the branch does not relieve it
        assert np.all(r.effectiveness[lin.ptdf[k] == 0] < 0.05)
    tl = lfm.traffic_light(fc, lin, limits)
    assert tl.shape == (3, lin.area.max() + 1)
    assert tl.max() == lfm.RED
    calm = lfm.forecast_grid(lin, np.zeros((1, lin.n_bus)))
    assert lfm.traffic_light(calm, lin, limits).max() == lfm.GREEN
    assert lfm.detect_needs(calm, limits, lin) == []


def random_profiles(rng, lin, n_p, n_t, product=None):
    prod = rng.integers(0, 3, n_p) if product is None else np.full(n_p, product)
    up = rng.uniform(0, 0.06, (n_p, n_t))
    dn = rng.uniform(0, 0.03, (n_p, n_t))
    one_way = prod != lfm.CRP2
    is_up = rng.random(n_p) < 0.7
    up[one_way & ~is_up] = 0
    dn[one_way & is_up] = 0
    group = np.where(rng.random(n_p) < 0.3, rng.integers(0, 2, n_p), -1)
    price = rng.uniform(50, 400, n_p)
    return lfm.FlexProfiles(rng.choice(lin.bus_index, n_p), np.zeros(n_p, int), prod, up, dn,
                            price, np.where(prod == lfm.SRP, 0, 0.2 * price), group)


def brute_force(reqs, prof, lin, objective, dt=0.25, penalty=300.0):
    """Reference optimum: enumerate every acceptance vector (minimisation form)."""
    e = lfm.effective_relief(reqs, prof, lin)
    need = np.array([r.need_mw for r in reqs])
    cost = lfm.offer_cost(prof, dt)
    value = np.array([r.value_eur_per_mwh for r in reqs]) * need.sum(axis=1) * dt
    best = np.inf
    for bits in itertools.product((0.0, 1.0), repeat=len(prof)):
        a = np.array(bits)
        g = prof.group[(a > 0) & (prof.group >= 0)]
        if len(g) != len(set(g)):
            continue
        cov = e @ a
        if objective == "welfare":
            obj = cost @ a - value[(cov >= need - 1e-12).all(axis=1)].sum()
        else:
            obj = cost @ a + penalty * dt * np.maximum(need - cov, 0).sum()
        best = min(best, obj)
    return best


@pytest.mark.parametrize("objective", ["welfare", "dso_cost_min"])
@pytest.mark.parametrize("seed", range(6))
def test_milp_equals_brute_force(lin, objective, seed):
    rng = np.random.default_rng(seed)
    fc = congested_forecast(lin, extra_mw=tuple(rng.uniform(0.05, 0.2, 3)))
    reqs = lfm.detect_needs(fc, lfm.LfmLimits(), lin)
    assert reqs
    prof = random_profiles(rng, lin, 9, 3)
    res = lfm.clear_lfm(reqs, prof, lin, objective=objective)
    assert res.status == "optimal"
    ref = brute_force(reqs, prof, lin, objective)
    assert res.objective_eur == pytest.approx(ref, rel=1e-6, abs=1e-6)
    # the reported acceptance reproduces the objective and respects the groups
    g = prof.group[res.accepted & (prof.group >= 0)]
    assert len(g) == len(set(g))
    assert np.all(res.shortfall_mw >= -1e-12)


def test_infeasible_request_is_not_met_with_shortfall(lin):
    fc = congested_forecast(lin, extra_mw=(0.4, 0.5, 0.45))
    reqs = lfm.detect_needs(fc, lfm.LfmLimits(), lin)
    rng = np.random.default_rng(1)
    prof = random_profiles(rng, lin, 4, 3, product=lfm.SRP)
    prof.up_mw *= 0.01  # far too little flexibility
    need = np.array([r.need_mw for r in reqs])
    for objective in ("welfare", "dso_cost_min"):
        res = lfm.clear_lfm(reqs, prof, lin, objective=objective)
        assert res.status == "optimal"
        assert not res.request_met.any()
        assert np.all(res.shortfall_mw > 0) or np.all(res.shortfall_mw[need > 0] > 0)
        if objective == "welfare":  # an unmet request buys nothing: shortfall = need
            np.testing.assert_allclose(res.shortfall_mw, need)
            assert not res.accepted.any()


def test_pricing_rules(lin):
    rng = np.random.default_rng(4)
    fc = congested_forecast(lin)
    reqs = lfm.detect_needs(fc, lfm.LfmLimits(), lin)
    prof = random_profiles(rng, lin, 8, 3, product=lfm.SRP)
    bid = lfm.clear_lfm(reqs, prof, lin, pricing="pay_as_bid")
    clear = lfm.clear_lfm(reqs, prof, lin, pricing="pay_as_clear")
    assert bid.accepted.any()
    np.testing.assert_array_equal(bid.accepted, clear.accepted)
    np.testing.assert_allclose(bid.payment_eur[bid.accepted], bid.offer_cost_eur[bid.accepted])
    # pay-as-clear: highest accepted unit cost x energy, never below the bid
    e = (prof.up_mw + prof.down_mw).sum(axis=1) * 0.25
    unit = bid.offer_cost_eur / e
    assert clear.clearing_price_eur_per_mwh == pytest.approx(unit[bid.accepted].max())
    assert np.all(clear.payment_eur >= bid.payment_eur - 1e-9)


def test_activation_and_settlement_hand_calculation(lin):
    fc = congested_forecast(lin)
    reqs = lfm.detect_needs(fc, lfm.LfmLimits(), lin)
    rng = np.random.default_rng(2)
    prof = random_profiles(rng, lin, 8, 3)
    res = lfm.clear_lfm(reqs, prof, lin)
    act = lfm.activations(res, reqs, prof, lfm.effective_relief(reqs, prof, lin))
    assert np.all(act[~res.accepted] == 0)
    assert np.all(act <= prof.up_mw + 1e-15) and np.all(act >= -prof.down_mw - 1e-15)
    # settlement: profile promised 0.04 MW for 2 intervals, delivered 0.04 and 0.01 MW
    # at 200 EUR/MWh, dt 0.25 h: delivered 0.0125 MWh -> 2.5 EUR paid; shortfall
    # 0.0075 MWh -> penalty 1.0 x 200 x 0.0075 = 1.5 EUR; net 1.0 EUR
    s = lfm.settle_lfm(np.array([[0.04, 0.04]]), np.array([[0.04, 0.01]]), np.array([200.0]))
    assert s["delivered_mwh"][0] == pytest.approx(0.0125)
    assert s["shortfall_mwh"][0] == pytest.approx(0.0075)
    assert s["payment_eur"][0] == pytest.approx(2.5)
    assert s["net_eur"][0] == pytest.approx(1.0)
    # delivery in the wrong direction is worth nothing
    s2 = lfm.settle_lfm(np.array([[-0.02]]), np.array([[0.02]]), np.array([100.0]))
    assert s2["delivered_mwh"][0] == 0 and s2["shortfall_mwh"][0] == pytest.approx(0.005)
