"""TSO need processes from user code (``coordinator.tso.source: module:function``)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from simulators.coordinator import Coordinator, CoordinatorConfig
from simulators.coordinator.errors import TsoProcessError
from simulators.coordinator.tso import GERMAN_PEAK_LOAD_MW, ar1_needs

from tests.coordinator.coord_case import STEP_S, make_net


def test_user_process_sets_need_and_price(user_code):
    cfg = CoordinatorConfig(tso={"source": "usermech:constant_need", "params": {"need_mw": 0.25}})
    c = Coordinator(cfg, make_net(), "2016-06-01T00:00:00", STEP_S, 4, 0)
    np.testing.assert_array_equal(c.tso_need_mw, [0.25] * 4)  # the params given above
    np.testing.assert_array_equal(c.tso_price, [99.0] * 4)  # the function's default price


def test_builtin_ar1_as_a_process_keeps_the_old_draws():
    """ar1 is now a TsoProcess; it must draw the same series from the same seed as ar1_needs did."""
    net = make_net()
    c = Coordinator(CoordinatorConfig(tso={"area_share": 0.5}), net, "2016-06-01T00:00:00", STEP_S, 6, 7)
    ref = 0.5 * ar1_needs(np.random.default_rng(7), 6, STEP_S, mean_mw=0.0, sigma_mw=500.0, phi_15min=0.7)
    np.testing.assert_array_equal(c.tso_need_mw, ref)  # same generator, same order: bit-identical
    np.testing.assert_array_equal(c.tso_price, np.full(6, 150.0))
    assert GERMAN_PEAK_LOAD_MW == 80_000.0


def test_process_output_is_checked(user_code):
    cfg = CoordinatorConfig(tso={"source": "usermech:short_need"})
    with pytest.raises(TsoProcessError, match="returned need_mw with 3 values .* needs 4 finite values"):
        Coordinator(cfg, make_net(), "2016-06-01T00:00:00", STEP_S, 4, 0)


@pytest.mark.parametrize("value, fragment", [
    ("nrv", "unknown TSO process 'nrv'; allowed: ar1, csv"),
    ("usermech:mid_price", "wrong signature mid_price(orders"),
])
def test_schema_refuses_bad_sources(user_code, value, fragment):
    with pytest.raises(ValidationError) as exc:
        CoordinatorConfig(tso={"source": value})
    assert fragment in exc.value.errors()[0]["msg"]
