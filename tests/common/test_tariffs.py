"""The one scenario tariff: validation, prices, and the retired per-section keys."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.config import validate
from cosim.errors import ScenarioError
from simulators.common.tariffs import TariffConfig, feed_in_price_eur_per_mwh, import_price_eur_per_mwh

GRID = {"grid": {"simbench": "1-LV-rural1--0-sw"}}


@pytest.mark.parametrize("section", ["households", "market"])
def test_old_tariff_keys_say_where_the_tariff_lives(section):
    with pytest.raises(ScenarioError) as ei:
        validate(dict(GRID, **{section: {"tariff": {"kind": "flat"}}}))
    text = str(ei.value)
    assert f"{section}.tariff is no longer accepted" in text
    assert "top-level 'tariff:' section" in text


def test_scenario_tariff_section_is_validated_once():
    sc = validate(dict(GRID, tariff={"kind": "tou", "tou_peak_eur_per_mwh": 500.0}))
    assert sc.tariff.kind == "tou" and sc.tariff.tou_peak_eur_per_mwh == 500.0
    with pytest.raises(ScenarioError, match="24 hourly prices"):
        validate(dict(GRID, tariff={"kind": "rtp"}))
    with pytest.raises(ScenarioError, match="tariff.retail_eur_per_mwh"):
        validate(dict(GRID, tariff={"retail_eur_per_mwh": -1.0}))


def test_tou_prices_by_local_hour():
    # hand calculation: start 2016-06-06 16:00, intervals at 0, 3600, 18000 s
    # -> local hours 16 (off-peak), 17 (peak, [17, 21)), 21 (off-peak); exact.
    t = TariffConfig(kind="tou", tou_peak_eur_per_mwh=350.0, tou_offpeak_eur_per_mwh=220.0)
    p = import_price_eur_per_mwh(t, "2016-06-06T16:00:00", np.array([0, 3600, 18000]))
    assert p.tolist() == [220.0, 350.0, 220.0]
    assert feed_in_price_eur_per_mwh(t, "2016-06-06T16:00:00", 0).tolist() == [123.1]


def test_dict_and_model_give_the_same_prices():
    t = TariffConfig(kind="rtp", rtp_hourly_wholesale_eur_per_mwh=tuple(range(24)), rtp_adder_eur_per_mwh=200.0)
    iv = np.arange(0, 86400, 900)
    assert np.array_equal(import_price_eur_per_mwh(t, "2016-01-01", iv),
                          import_price_eur_per_mwh(t.model_dump(), "2016-01-01", iv))
