"""The three DSO models of the reviews: what each sets, and that money stays conserved.

Coupled runs of the congested midday hours of a June day on 1-LV-rural1 with
pay-as-bid where the model allows it (so the operator keeps a spread to pass on).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.errors import ScenarioError
from cosim.world import run_scenario

BASE = [
    "households.include=[household, agricultural]", "households.policy=market",
    "households.pv={share: 0.8, kwp: {dist: uniform, low: 5, high: 10}, sgen_mode: absorb}",
    "households.battery={share: 0.6}",
    "start=2016-06-06T09:00:00",
    "duration=3h",
]


def _run(tmp_path, model, mech):
    sets = [*BASE, f"market.dso_model={model}"] + ([f"market.mechanism={mech}"] if mech else [])
    sc, text = load_scenario(None, sets)
    path = tmp_path / f"{model}.h5"
    run_scenario(sc, text, path)
    with h5py.File(path) as f:
        return sc.market, {f"{s}/{a}": f[f"series/{s}/{a}"][()] for s in ("market",) for a in f[f"series/{s}"]}


@pytest.mark.parametrize("model,mech,check,rent", [
    ("total", None, "none", "dso_eur"),
    ("minimal", "pay_as_bid", "caps", None),
    ("independent", "pay_as_bid", "ac_check", "returned_eur"),
])
def test_model_sets_design_and_routes_surplus(tmp_path, model, mech, check, rent):
    cfg, s = _run(tmp_path, model, mech)
    assert cfg.dso_check == check
    assert cfg.mechanism == (mech or "dlmp")
    bills = s["market/bill_eur"].sum(axis=1)
    res = bills - s["market/retailer_eur"] - s["market/operator_eur"] - s.get("market/dso_eur", 0.0)
    # every EUR paid is received by someone (1e-9 relative to the gross bills: float round-off)
    assert np.abs(res).max() <= 1e-9 * max(np.abs(s["market/bill_eur"]).sum(axis=1).max(), 1e-12)
    if rent == "dso_eur":  # the DSO is the operator: it keeps the whole surplus
        assert np.abs(s["market/operator_eur"]).max() <= 1e-9
    if rent == "returned_eur":  # non-profit: the pay-as-bid spread goes back to the traders
        assert s["market/returned_eur"][-1] > 0
        assert np.abs(s["market/operator_eur"]).max() <= 1e-9
    if rent is None:  # third-party operator keeps the pay-as-bid spread
        assert s["market/operator_eur"][-1] > 0


@pytest.mark.parametrize("sets,needle", [
    (["market.dso_model=total", "market.mechanism=p2p_cda"], "contradicts market.dso_model='total'"),
    (["market.dso_model=independent", "market.dso_check=none"], "contradicts market.dso_model='independent'"),
    (["market.dso_model=federal"], "dso_model"),
])
def test_contradictions_are_refused(sets, needle):
    with pytest.raises(ScenarioError, match=needle):
        load_scenario(None, ["households.policy=market", *sets])
