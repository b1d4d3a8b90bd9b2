"""The DSO check on coupled runs: its grid state is the recorded one, and ac_check
holds the recorded loading where no check breaks it.

Case: SimBench 1-LV-rural1, a June day around noon, every home with 25-30 kWp
PV (``market_lv_rural.yaml`` with more PV): without a check the recorded
MV/LV transformer loading exceeds the DSO limit of 80 % (90.9 % at 10:00 in
the full-day run of this case).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.world import run_scenario

PV_HEAVY = [
    "households.policy=market",
    "households.pv={share: 1.0, kwp: {dist: uniform, low: 25, high: 30}, sgen_mode: absorb}",
    "market.mechanism=pay_as_clear",
    "market.max_loading_percent=80",
    "market.amber_loading_percent=70",
    "start=2016-06-06T08:30:00",
    "duration=3h",
]
#: Forecast tolerance of the DSO's state [percentage points of loading]: the HEMS
#: forecasts the next interval's profiles; deviations reach the grid as imbalance.
LOADING_TOL_PERCENT = 2.0


def _run(tmp_path_factory, name, extra):
    sc, text = load_scenario("scenarios/market_lv_rural.yaml", [*PV_HEAVY, *extra])
    path = tmp_path_factory.mktemp("dso") / f"{name}.h5"
    run_scenario(sc, text, path)
    with h5py.File(path) as f:
        return {k: f[f"series/{k}"][()] for k in (
            "grid/trafo_loading_percent", "grid/bus_p_mw", "market/dso_forecast_p_mw", "market/curtailed_mwh")
            if f"series/{k}" in f}


@pytest.fixture(scope="module")
def no_check(tmp_path_factory):
    return _run(tmp_path_factory, "none", ["market.dso_check=none"])


@pytest.fixture(scope="module")
def ac(tmp_path_factory):
    return _run(tmp_path_factory, "ac", ["market.dso_check=ac_check"])


def test_checked_state_is_the_recorded_state(tmp_path_factory):
    """With the limit out of reach nothing is curtailed, so the DSO's per-bus state
    must equal the solved bus powers up to the HEMS forecast error: no element
    counted twice (a double count would add a whole household's power, ~10 kW)
    and none missing. Without batteries and with the HEMS's perfect forecast the
    two agree to float round-off (tolerance 1e-9 MW). Row 0 is left out: orders
    for interval k are sent at the start of interval k-1, so none reach interval 0."""
    s = _run(tmp_path_factory, "state", ["market.dso_check=ac_check", "market.max_loading_percent=1000",
                                         "market.amber_loading_percent=900", "households.battery={share: 0.0}",
                                         "households.ev={share: 0.0}"])
    assert s["market/curtailed_mwh"].sum() == 0
    err = np.abs(s["market/dso_forecast_p_mw"] - s["grid/bus_p_mw"])[1:]
    assert np.all(np.isfinite(err)) and err.max() <= 1e-9


def test_without_check_the_limit_breaks(no_check):
    assert np.nanmax(no_check["grid/trafo_loading_percent"]) > 80 + LOADING_TOL_PERCENT


def test_ac_check_holds_the_recorded_loading(ac):
    assert ac["market/curtailed_mwh"].sum() > 0
    assert np.nanmax(ac["grid/trafo_loading_percent"]) <= 80 + LOADING_TOL_PERCENT
