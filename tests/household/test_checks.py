"""Checks of the households section against the net, before anything is built.

They must give exactly the verdict and message that building the population
gives (the sweep planner relies on it to refuse a variant before any run).
"""

from __future__ import annotations

import numpy as np
import pytest

from simulators.household import HouseholdConfigError, HouseholdsConfig, build_population
from simulators.household.checks import device_problems, household_loads, load_classes, net_problems

#: every load of 1-LV-rural1 becomes a home (13), as the counts in the comments assume
ALL = ["household", "commercial", "agricultural"]
CASES = [dict(c, include=ALL) for c in [
    {"pv": {"count": 20}},                                              # 20 > 13 homes
    {"pv": {"share": 0.2}, "battery": {"share": 0.5}},                  # 7 battery homes, 3 with PV
    {"pv": {"share": 0.2}, "battery": {"share": 0.5, "requires_pv": False}},   # fits
    {"pv": {"share": 1.0}, "battery": {"share": 1.0}, "ev": {"count": 13}, "heat_pump": {"count": 14}},
    {"pv": {"share": 0.0}, "battery": {"count": 0}},                    # fits: no battery asked for
]]


def test_households_of_rural1(rural_net):
    # 1-LV-rural1 has 13 loads, all at 0.4 kV buses; their SimBench profiles (net.load.profile of
    # 1-LV-rural1--0-sw): H0-A, H0-B, H0-C once each, L1-A and L2-A five times each
    assert sorted(rural_net.load.profile) == ["H0-A", "H0-B", "H0-C"] + ["L1-A"] * 5 + ["L2-A"] * 5
    mask, aggregated = household_loads(rural_net)
    assert mask.sum() == 3 and not aggregated
    assert all(p.startswith("H0") for p in rural_net.load.profile[mask])
    mask, _ = household_loads(rural_net, ALL)
    assert mask.sum() == 13


def test_load_classes_follow_the_standard_load_profile_letters():
    """H0 household, G0-G6 commercial, L0-L2 agricultural (BDEW standard load profiles, as SimBench names them)."""
    import pandas as pd
    from types import SimpleNamespace

    names = ["H0-A", "G1-B", "G6-A", "L2-A", "L0-A", "lv_rural1", "BL-H", "WB-H", None, "Air_Parallel_1"]
    net = SimpleNamespace(load=pd.DataFrame({"profile": names}))
    assert list(load_classes(net)) == ["household", "commercial", "commercial", "agricultural", "agricultural",
                                       "other", "other", "other", "unclassified", "other"]
    assert list(load_classes(SimpleNamespace(load=pd.DataFrame({"p_mw": [0.1]})))) == ["unclassified"]


@pytest.mark.parametrize("section", CASES)
def test_check_agrees_with_building_the_population(rural_net, section):
    cfg = HouseholdsConfig.model_validate(section)
    problems = net_problems(cfg, rural_net)
    try:
        build_population(rural_net, cfg, np.random.default_rng(0))
    except HouseholdConfigError as exc:
        assert problems and problems[0] == str(exc)  # the build stops at the first problem
    else:
        assert problems == []


def test_every_problem_is_listed():
    # PV on round(0.2 x 41) = 8 homes; batteries asked for round(0.6 x 41) = 25 (0.6 x 41 = 24.6);
    # EVs for 50 of 41 homes
    cfg = HouseholdsConfig.model_validate({"pv": {"share": 0.2}, "battery": {"share": 0.6}, "ev": {"count": 50}})
    assert device_problems(cfg, 41) == [
        "households.battery.share: share=0.6 asks for 25 homes but only 8 homes have PV "
        "(battery.requires_pv is true) in this grid; use at most 8",
        "households.ev.count: count=50 asks for 50 homes but only 41 households exist in this grid; use at most 41",
    ]
