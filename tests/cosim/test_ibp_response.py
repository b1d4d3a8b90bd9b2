"""Increasing block prices change what flows: a home past a tier imports less.

Coupled 4 h run (grid + households, HEMS ``tariff``) of a January night on
``lv_rural_der`` (all 13 rural loads as homes with PV, batteries, EVs, heat
pumps), once with a flat tariff at 287 EUR/MWh and once with block prices whose
first tier costs the same 287 EUR/MWh up to 2 kWh and 400 EUR/MWh above (tier
and price set for the test so that homes cross it within the run). The ``tariff``
policy compares the home's marginal price with the mean published price of the
24 h around the interval, which under block prices is the first-tier price: in
the first tier price = reference and the home runs self-consumption, exactly as
under the flat tariff; past the tier the next kWh costs more than the reference,
so the heat pump coasts towards the lower comfort bound (20 degC instead of the
21 degC setpoint), the battery is not charged from the grid and the EV takes only
its must-charge. Physically the building stores less heat, so the heat pump
draws less electricity in the run (the building is cooler at its end).
Expectations are properties of the policy, no external figure: identical
decisions before a home crosses (1e-12, round-off), never more import after,
and less import in total for the homes with heat pumps that crossed.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.world import run_scenario

BASE = ["start=2016-01-12T00:00:00", "duration=4h", "households.include=[household, agricultural]",
        "households.policy=tariff"]
FIRST, SECOND = 287.0, 400.0
TARIFFS = {"flat": f"tariff={{kind: flat, retail_eur_per_mwh: {FIRST}}}",
           "ibp": f"tariff={{kind: ibp, ibp_tiers_kwh: [2.0], ibp_prices_eur_per_mwh: [{FIRST}, {SECOND}]}}"}
KEYS = ("p_mw", "energy_import_mwh", "import_price_eur_per_mwh", "hp_p_mw", "battery_p_mw", "indoor_temp_c")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    for name, tariff in TARIFFS.items():
        sc, text = load_scenario("scenarios/lv_rural_der.yaml", [*BASE, tariff])
        path = tmp_path_factory.mktemp("ibp") / f"{name}.h5"
        run_scenario(sc, text, path)
        with h5py.File(path) as f:
            out[name] = {k: f[f"series/household/{k}"][()] for k in KEYS}
    return out


def test_a_home_past_a_tier_imports_less_than_on_the_flat_first_tier_price(runs):
    flat, ibp = runs["flat"], runs["ibp"]
    # import_price_eur_per_mwh of step k is the price the HEMS uses in step k + 1
    seen = np.vstack([np.full((1, flat["p_mw"].shape[1]), FIRST), ibp["import_price_eur_per_mwh"][:-1]])
    assert set(np.unique(seen)) <= {FIRST, SECOND}
    above = seen > FIRST
    crossed = above.any(axis=0)
    has_hp = flat["hp_p_mw"].max(axis=0) > 0
    assert (crossed & has_hp).sum() >= 3  # the comparison is not vacuous
    # in the first tier the decisions are those of the flat tariff at the same price
    assert np.allclose(ibp["p_mw"][~above], flat["p_mw"][~above], rtol=0, atol=1e-12)
    # past the tier: never more import over the run, and no grid charging of batteries
    imp_f, imp_i = flat["energy_import_mwh"][-1], ibp["energy_import_mwh"][-1]
    assert (imp_i <= imp_f + 1e-12).all()
    # (at its minimum state of charge a battery draws ~1e-8 MW against self-discharge: tolerance 1 W)
    assert (ibp["battery_p_mw"][above] <= 1e-6).all()
    sel = crossed & has_hp
    assert imp_i[sel].sum() < imp_f[sel].sum() - 1e-3  # at least 1 kWh less; about 11 kWh here
    assert (ibp["hp_p_mw"][:, sel].sum(axis=0) < flat["hp_p_mw"][:, sel].sum(axis=0)).all()
    # the heat pump coasts within the comfort band: cooler than under the flat tariff, not below 20 degC
    t_f, t_i = flat["indoor_temp_c"][-1, sel], ibp["indoor_temp_c"][-1, sel]
    assert (t_i < t_f).all() and (t_i >= 20.0 - 1e-6).all()
