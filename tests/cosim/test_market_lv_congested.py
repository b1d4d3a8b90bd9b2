"""The shipped congested LV market (scenarios/market_lv_congested.yaml) on its
congested hours: the DSO check binds physically and the mechanism moves the
recorded power flow.

Window 10:00-14:00 of 2016-07-23: in the full-day run without a check the
recorded MV/LV transformer loading passes the DSO limit of 100 % from 11:00
(peak 105.5 %).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.world import run_scenario

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "scenarios" / "market_lv_congested.yaml"
WINDOW = ["start=2016-07-23T10:00:00", "duration=4h"]
#: The scenario's DSO limit (market.max_loading_percent) [percent].
LIMIT_PERCENT = 100.0
#: Tolerance between the DSO's checked state and the recorded one [percentage
#: points of loading], as in tests/cosim/test_dso_grid_state.py. The full-day run
#: lands up to 0.4 points above the limit although the DSO's active-power state
#: equals the recorded bus powers; the checked state lacks the homes' reactive power.
LOADING_TOL_PERCENT = 2.0


def _run(tmp_path_factory, name, extra):
    sc, text = load_scenario(SCENARIO, [*WINDOW, *extra])
    assert sc.market.max_loading_percent == LIMIT_PERCENT
    path = tmp_path_factory.mktemp("congested") / f"{name}.h5"
    run_scenario(sc, text, path)
    with h5py.File(path) as f:
        s = f["series"]
        pcc = s["grid/ext_grid_p_mw"][()].sum(axis=1)  # + = import [MW]
        return {"trafo": s["grid/trafo_loading_percent"][()].max(axis=1),
                "line": np.nanmax(s["grid/line_loading_percent"][()], axis=1),
                "export_mwh": float(np.maximum(-pcc, 0).sum() * 0.25),
                "import_mwh": float(np.maximum(pcc, 0).sum() * 0.25),
                "curtailed_mwh": float(np.nansum(s["market/curtailed_mwh"][()]))}


@pytest.fixture(scope="module")
def none(tmp_path_factory):
    return _run(tmp_path_factory, "none", ["market.dso_check=none"])


@pytest.fixture(scope="module")
def ac(tmp_path_factory):
    return _run(tmp_path_factory, "ac", ["market.dso_check=ac_check"])


@pytest.fixture(scope="module")
def tariff(tmp_path_factory):
    return _run(tmp_path_factory, "tariff", ["market.dso_check=none", "market.mechanism=tariff"])


def test_without_check_the_recorded_loading_breaks_the_limit(none):
    assert none["trafo"].max() > LIMIT_PERCENT + LOADING_TOL_PERCENT


def test_ac_check_holds_the_recorded_loading(none, ac):
    assert ac["curtailed_mwh"] > 0
    assert ac["trafo"].max() <= LIMIT_PERCENT + LOADING_TOL_PERCENT
    assert ac["line"].max() <= LIMIT_PERCENT + LOADING_TOL_PERCENT
    # what was curtailed is gone from the grid: less export than without the check
    assert ac["export_mwh"] < none["export_mwh"]


def test_the_mechanism_changes_the_recorded_power_flow(none, tariff):
    """pay_as_clear against the plain tariff, both without a DSO check: under the
    tariff, flexible volume is only executed against the retail prices, under
    pay_as_clear batteries also charge from neighbours' PV. Threshold 1 % of the
    tariff run's export (far above the power flow's tolerance, 1e-8 pu; the design
    study in README shows the size of the difference)."""
    d_export = abs(none["export_mwh"] - tariff["export_mwh"])
    d_import = abs(none["import_mwh"] - tariff["import_mwh"])
    d_peak = abs(none["trafo"].max() - tariff["trafo"].max())
    assert d_export > 0.01 * tariff["export_mwh"] or d_import > 0.01 * max(tariff["import_mwh"], 1e-3) \
        or d_peak > 1.0, (d_export, d_import, d_peak)
