"""Accuracy of the linearised power flow against pandapower's AC power flow."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pytest
import simbench

from simulators.common.network.linear import linearize


@pytest.fixture(scope="module")
def rural():
    net = simbench.get_simbench_net("1-LV-rural1--0-sw")
    return net, linearize(net)


def _delta_per_bus(lin, net, fl, fs):
    pos = {b: i for i, b in enumerate(lin.bus_index)}
    dp, dq = np.zeros(lin.n_bus), np.zeros(lin.n_bus)
    for b, p, q in zip(net.load.bus, net.load.p_mw * (fl - 1), net.load.q_mvar * (fl - 1)):
        dp[pos[b]] += p
        dq[pos[b]] += q
    for b, p in zip(net.sgen.bus, net.sgen.p_mw * (fs - 1)):
        dp[pos[b]] -= p  # generation is negative consumption
    return dp, dq


def test_operating_point_is_reproduced(rural):
    net, lin = rural
    n2 = copy.deepcopy(net)
    pp.runpp(n2)
    pred = lin.predict(np.zeros(lin.n_bus))
    np.testing.assert_allclose(pred["vm_pu"], n2.res_bus.vm_pu.loc[lin.bus_index], atol=1e-9)
    ac = np.r_[n2.res_line.loading_percent, n2.res_trafo.loading_percent]
    np.testing.assert_allclose(pred["loading_percent"], ac, atol=1e-6)
    assert pred["p_slack_mw"] == pytest.approx(n2.res_ext_grid.p_mw.iloc[0], abs=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_accuracy_within_50_percent_of_operating_point(rural, seed):
    """Every load/sgen scaled by U[0.5, 1.5]; tolerance |dvm| <= 0.005 pu,
    |dloading| <= 5 percentage points, |dP_slack| <= 2 % of the load (first-order
    Taylor expansion; the neglected term is quadratic in the change)."""
    net, lin = rural
    rng = np.random.default_rng(seed)
    n2 = copy.deepcopy(net)
    fl = rng.uniform(0.5, 1.5, len(n2.load))
    fs = rng.uniform(0.5, 1.5, len(n2.sgen))
    n2.load.p_mw *= fl
    n2.load.q_mvar *= fl
    n2.sgen.p_mw *= fs
    pp.runpp(n2)
    pred = lin.predict(*_delta_per_bus(lin, net, fl, fs))
    assert np.abs(pred["vm_pu"] - n2.res_bus.vm_pu.loc[lin.bus_index].to_numpy()).max() <= 0.005
    ac = np.r_[n2.res_line.loading_percent, n2.res_trafo.loading_percent]
    assert np.abs(pred["loading_percent"] - ac).max() <= 5.0
    assert abs(pred["p_slack_mw"] - n2.res_ext_grid.p_mw.iloc[0]) <= 0.02 * n2.load.p_mw.sum()


def test_ac_check_equals_pandapower(rural):
    """ac_check's AC state for a schedule change equals pandapower.runpp on the
    changed net (loads and sgens scaled by U[0.5, 1.5]); tolerance 1e-7 pu and
    1e-5 % (both solve to about 1e-8)."""
    net, lin = rural
    rng = np.random.default_rng(7)
    n2 = copy.deepcopy(net)
    fl = rng.uniform(0.5, 1.5, len(n2.load))
    fs = rng.uniform(0.5, 1.5, len(n2.sgen))
    n2.load.p_mw *= fl
    n2.load.q_mvar *= fl
    n2.sgen.p_mw *= fs
    pp.runpp(n2, tolerance_mva=1e-10)
    chk = lin.ac_check(*_delta_per_bus(lin, net, fl, fs))
    assert chk["converged"]
    np.testing.assert_allclose(chk["vm_pu"], n2.res_bus.vm_pu.loc[lin.bus_index], atol=1e-7, rtol=0)
    ac = np.r_[n2.res_line.loading_percent, n2.res_trafo.loading_percent]
    np.testing.assert_allclose(chk["loading_percent"], ac, atol=1e-5, rtol=0)


def test_sensitivities_match_finite_difference_of_ac_pf(rural):
    """dv/dp and loss factor vs a 1 kW AC perturbation at the feeder-end bus."""
    net, lin = rural
    i = int(np.argmin(lin.vm0_pu))
    n2 = copy.deepcopy(net)
    pp.create_load(n2, lin.bus_index[i], p_mw=1e-3)
    pp.runpp(n2)
    dv = (n2.res_bus.vm_pu.loc[lin.bus_index].to_numpy() - lin.vm0_pu) / 1e-3
    # first-order agreement: error O(1 kW) relative to the 1 kW step
    np.testing.assert_allclose(dv, lin.dv_dp[:, i], rtol=0.02, atol=1e-4)
    dps = (n2.res_ext_grid.p_mw.iloc[0] - lin.p_slack0_mw) / 1e-3
    assert dps == pytest.approx(lin.dpslack_dp[i], rel=1e-3)


def test_topological_ptdf_is_downstream_indicator(rural):
    """Radial net: the sign of the loss-aware branch flow sensitivity agrees
    with the topological PTDF (1 downstream, 0 elsewhere) and its magnitude is
    close to it (losses change it by a few %)."""
    _, lin = rural
    dpf = lin.dpe_dp[0::2]  # flow into the branch at the from/hv end
    np.testing.assert_allclose(np.abs(dpf), lin.ptdf, atol=0.05)
    assert set(np.unique(lin.ptdf)) <= {0.0, 1.0}
    assert lin.area[lin.slack_pos] == 0 and lin.area.max() >= 1
