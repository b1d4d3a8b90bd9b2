"""Bad input gives one clear message naming the field, the value and what is allowed."""

import numpy as np
import pytest
from pydantic import ValidationError

from simulators.household import HouseholdConfigError, HouseholdsConfig, build_population


def _err(cfg: dict) -> str:
    with pytest.raises(ValidationError) as ei:
        HouseholdsConfig.model_validate(cfg)
    return str(ei.value)


def test_defaults_are_valid_and_frozen():
    cfg = HouseholdsConfig()
    assert cfg.policy == "none" and cfg.pv.share == 0.0
    with pytest.raises(ValidationError):
        cfg.policy = "market"


def test_share_outside_unit_interval():
    msg = _err({"pv": {"share": 1.5}})
    assert "pv.share" in msg and "1.5" in msg and "[0, 1]" in msg


def test_negative_size():
    msg = _err({"battery": {"share": 0.1, "e_kwh": {"dist": "uniform", "low": -1, "high": 5}}})
    assert "battery.e_kwh" in msg and "-1" in msg and ">= 0" in msg


def test_unknown_policy_and_distribution():
    msg = _err({"policy": "greedy"})
    assert "policy" in msg and "greedy" in msg and "self_consumption" in msg
    msg = _err({"pv": {"kwp": {"dist": "weibull", "value": 3}}})
    assert "pv.kwp.dist" in msg and "weibull" in msg and "'uniform'" in msg


def test_extra_field_rejected():
    assert "unknown_thing" in _err({"unknown_thing": 1})


def test_more_homes_than_exist(rural_net):
    # 1-LV-rural1 has 13 loads at 0.4 kV buses, 3 with household (H0) profiles: 3 homes by default
    cfg = HouseholdsConfig.model_validate({"pv": {"count": 20}})
    with pytest.raises(HouseholdConfigError, match=r"households\.pv\.count: count=20 asks for 20 homes but only 3"):
        build_population(rural_net, cfg, np.random.default_rng(0))
    # all 13 loads as homes; battery needs PV: share 0.5 of 13 -> 7 homes, but only round(0.2*13)=3 have PV
    cfg = HouseholdsConfig.model_validate({"pv": {"share": 0.2}, "battery": {"share": 0.5},
                                           "include": ["household", "commercial", "agricultural"]})
    with pytest.raises(HouseholdConfigError, match=r"households\.battery\.share: share=0.5 asks for 7 homes but only 3"):
        build_population(rural_net, cfg, np.random.default_rng(0))
