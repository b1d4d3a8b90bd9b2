"""Money and energy conservation on coupled runs (grid + households + market).

Money: per recorded step, the households' running bills sum to what the
retailer received plus what the market operator kept (``retailer_eur``,
``operator_eur``); no DSO payments flow in these mechanisms. Tolerance 1e-9
relative to the total bills (float round-off of a few hundred additions).

Energy: per step, the PCC import equals the sum of the solved bus powers plus
the losses. Tolerance: the power flow's Newton-Raphson tolerance (1e-10 pu on
the net's 1 MVA base, ``simulators.common.network.acmodel.NR_TOL_PU``) per bus,
i.e. 1e-10 MW x number of buses, and 1e-9 relative to the gross bus power.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.world import run_scenario

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
        return {k: f[f"series/{k}"][()] for k in (
            "market/bill_eur", "market/retailer_eur", "market/operator_eur", "market/traded_mwh",
            "grid/ext_grid_p_mw", "grid/bus_p_mw", "grid/pl_mw")}, request.param


def test_money_sums_to_zero_every_step(coupled):
    s, mech = coupled
    bills = s["market/bill_eur"].sum(axis=1)
    res = bills - s["market/retailer_eur"] - s["market/operator_eur"]
    scale = max(np.abs(s["market/bill_eur"]).sum(axis=1).max(), 1e-12)
    assert np.abs(res).max() <= 1e-9 * scale
    assert s["market/traded_mwh"].sum() > 0  # the local market really traded
    if mech == "pay_as_clear":  # one price for both sides: the operator keeps nothing
        assert np.abs(s["market/operator_eur"]).max() <= 1e-9 * scale


def test_energy_balances_every_step(coupled):
    s, _ = coupled
    bus = s["grid/bus_p_mw"]
    res = s["grid/ext_grid_p_mw"].sum(axis=1) - bus.sum(axis=1) - s["grid/pl_mw"]
    gross = np.abs(bus).sum(axis=1) + s["grid/pl_mw"]
    assert np.all(np.abs(res) <= np.maximum(1e-10 * bus.shape[1], 1e-9 * gross))
