"""HEMS policies from user code (``households.policy: module:name``)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from simulators.household import HouseholdModel, HouseholdsConfig, hems
from simulators.common.plugins import PluginError


def test_a_dispatch_function_becomes_a_policy(user_code):
    p = hems.resolve_policy("usermech:idle_dispatch")
    assert isinstance(p, hems.Policy) and p.offers is None and not p.curve


def test_a_policy_object_is_taken_as_is():
    assert hems.resolve_policy("market") is hems.POLICIES["market"]


def test_user_policy_dispatches_like_the_builtin_it_copies(user_code, rural_net):
    """usermech:idle_dispatch restates the built-in 'none' rule, so the model's outputs are equal."""
    cfg = {"pv": {"share": 0.8}, "battery": {"share": 0.6}, "ev": {"share": 0.6}}
    out = {}
    for policy in ("none", "usermech:idle_dispatch"):
        m = HouseholdModel(rural_net, HouseholdsConfig.model_validate(dict(cfg, policy=policy)),
                           "2016-06-06T10:00:00", 900, 4, 1)
        out[policy] = [m.step(k)[0] for k in range(4)]
    for a, b in zip(out["none"], out["usermech:idle_dispatch"]):
        for key in a:
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


@pytest.mark.parametrize("value, fragment", [
    ("magic", "unknown policy 'magic'; allowed: none, self_consumption"),
    ("usermech:mid_price", "wrong signature mid_price(orders"),
])
def test_schema_refuses_bad_policies(user_code, value, fragment):
    with pytest.raises(ValidationError) as exc:
        HouseholdsConfig(policy=value)
    assert fragment in exc.value.errors()[0]["msg"]


def test_policy_with_a_bad_offers_function(monkeypatch, user_code):
    import usermech

    monkeypatch.setattr(usermech, "BAD", hems.Policy(usermech.idle_dispatch, usermech.mid_price), raising=False)
    with pytest.raises(PluginError, match="offers has the wrong signature"):
        hems.resolve_policy("usermech:BAD")
