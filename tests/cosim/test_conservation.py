"""Money and energy conservation on coupled runs (grid + households + market).

Money, per interval: what the households' bills changed by equals what the
retailer received plus what the market operator kept in that interval
(increments of ``bill_eur``, ``retailer_eur``, ``operator_eur``; no DSO
payments flow in these mechanisms), and the running totals agree at every
step. Tolerance 1e-9 relative to the money moved in the interval (the sums are
the same floats added in a different order: round-off of running totals of a
few hundred EUR is ~1e-13 EUR).

Energy, per step: PCC import = sum of the solved bus powers + losses. The
losses come from the same Newton-Raphson solution as the slack exchange
(branch flows of the solved voltages; the net has no shunts), so the residual is the solver's
remaining active-power mismatch summed over the non-slack buses: each is below
the Newton-Raphson tolerance (``NR_TOL_PU`` = 1e-10 pu on the net's MVA base,
:mod:`simulators.common.network.acmodel`), so the bound is
``(n_bus - 1) * NR_TOL_PU * sn_mva`` [MW]. Measured on this run: at most
6.3e-11 MW against 0.02-0.4 MW of gross bus power, i.e. up to 1.6e-9 relative
-- the 1e-9 relative target is not reachable with a 1e-10 pu tolerance on a net
whose smallest gross power is 0.02 MW; the bound is the solver's, not chosen.
``test_energy_residual_is_the_solver_mismatch`` shows the residual is that
mismatch, recomputed from the recorded voltages.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.world import run_scenario
from simulators.common.netdata import load_net
from simulators.common.network.acmodel import NR_TOL_PU, AcModel

COUPLED = [
    "households.policy=market",
    "households.pv={share: 0.8, kwp: {dist: uniform, low: 5, high: 10}, sgen_mode: absorb}",
    "households.battery={share: 0.6}",
    "market.dso_check=ac_check",
    "market.max_loading_percent=80",
    "market.amber_loading_percent=70",
    "start=2016-06-06T08:00:00",
    "duration=8h",
]


@pytest.fixture(scope="module", params=["pay_as_bid", "pay_as_clear"])
def coupled(request, tmp_path_factory):
    sc, text = load_scenario(None, [*COUPLED, f"market.mechanism={request.param}"])
    path = tmp_path_factory.mktemp("cons") / f"{request.param}.h5"
    run_scenario(sc, text, path)
    with h5py.File(path) as f:
        s = {k: f[f"series/{k}"][()] for k in (
            "market/bill_eur", "market/retailer_eur", "market/operator_eur", "market/traded_mwh",
            "grid/ext_grid_p_mw", "grid/bus_p_mw", "grid/pl_mw", "grid/vm_pu", "grid/va_degree")}
    s["net"] = load_net(sc.grid.spec())
    s["sn_mva"] = float(s["net"].sn_mva)
    return s, request.param


def test_money_sums_to_zero_every_interval(coupled):
    s, mech = coupled
    bills = s["market/bill_eur"]
    res = bills.sum(axis=1) - s["market/retailer_eur"] - s["market/operator_eur"]
    scale = max(np.abs(bills).sum(axis=1).max(), 1e-12)
    assert np.abs(res).max() <= 1e-9 * scale  # running totals
    d_bill = np.diff(bills, axis=0, prepend=0.0)
    d_ret = np.diff(s["market/retailer_eur"], prepend=0.0)
    d_op = np.diff(s["market/operator_eur"], prepend=0.0)
    moved = np.abs(d_bill).sum(axis=1) + np.abs(d_ret) + np.abs(d_op)
    assert np.all(np.abs(d_bill.sum(axis=1) - d_ret - d_op) <= 1e-9 * moved)
    assert moved[1:].min() > 0  # money moves in every interval after the first record: not vacuous
    assert s["market/traded_mwh"].sum() > 0  # the local market really traded
    if mech == "pay_as_clear":  # one price for both sides: the operator keeps nothing
        assert np.abs(s["market/operator_eur"]).max() <= 1e-9 * scale


def test_energy_balances_every_step(coupled):
    s, _ = coupled
    bus = s["grid/bus_p_mw"]
    res = s["grid/ext_grid_p_mw"].sum(axis=1) - bus.sum(axis=1) - s["grid/pl_mw"]
    bound_mw = (bus.shape[1] - 1) * NR_TOL_PU * s["sn_mva"]
    assert np.all(np.abs(res) <= bound_mw)
    # the bound discriminates: leaving out the losses, or one home's 1 W, breaks it
    assert bound_mw < 1e-3 * s["grid/pl_mw"].min() and bound_mw < 1e-6


def test_energy_residual_is_the_solver_mismatch(coupled):
    """Why the residual is not 0: it is minus the active-power mismatch of the non-slack buses,
    recomputed here from the recorded voltages with the network core's admittance matrix
    (V * conj(Ybus V) against the recorded bus powers). Agreement within 1e-12 MW: the
    recorded voltages are float64, the recomputation differs from the solver's last
    evaluation by round-off only (measured 1e-13 MW)."""
    s, _ = coupled
    m = AcModel(s["net"], elements=False)
    ok = m.bus_lookup >= 0
    nonslack = np.setdiff1d(np.arange(m.n_ppci_bus), m.ref)
    res = s["grid/ext_grid_p_mw"].sum(axis=1) - s["grid/bus_p_mw"].sum(axis=1) - s["grid/pl_mw"]
    for t in range(len(res)):
        V = np.zeros(m.n_ppci_bus, complex)
        V[m.bus_lookup[ok]] = (s["grid/vm_pu"][t] * np.exp(1j * np.deg2rad(s["grid/va_degree"][t])))[ok]
        spec = np.zeros(m.n_ppci_bus)
        np.add.at(spec, m.bus_lookup[ok], -s["grid/bus_p_mw"][t][ok])  # generator reference
        mismatch = (V * np.conj(m.Ybus @ V)).real * m.base_mva - spec
        assert res[t] == pytest.approx(-mismatch[nonslack].sum(), abs=1e-12)
