"""The one scenario tariff: validation, prices, and the retired per-section keys."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.config import validate
from cosim.errors import ScenarioError
import pandas as pd

from simulators.common.tariffs import (TariffConfig, cpp_event_days, feed_in_price_eur_per_mwh,
                                      import_price_eur_per_mwh)

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


def test_cpp_event_days_and_prices():
    # Explicit event day 2016-01-12 (a Tuesday): 17-21 h at the event price, otherwise flat; exact.
    t = TariffConfig(kind="cpp", cpp_event_days=("2016-01-12",), cpp_event_price_eur_per_mwh=1000.0)
    iv = np.arange(0, 2 * 86400, 3600)  # hourly over 2016-01-11 and -12
    p = import_price_eur_per_mwh(t, "2016-01-11T00:00:00", iv)
    expect = np.full(48, 287.0)
    expect[24 + 17:24 + 21] = 1000.0
    assert np.array_equal(p, expect)
    # drawn days: 12 per year (the default), all weekdays in Dec-Feb, reproducible with the seed
    d = TariffConfig(kind="cpp")
    days = pd.to_datetime(cpp_event_days(d, 2016))
    assert len(days) == 12 and set(days.month) <= {1, 2, 12} and (days.dayofweek < 5).all()
    assert cpp_event_days(d, 2016) == cpp_event_days(d.model_dump(), 2016)
    assert cpp_event_days(d, 2016) != cpp_event_days(TariffConfig(kind="cpp", cpp_seed=1), 2016)
    # hours in events over the year = 12 days x 4 h (hand calculation)
    year = import_price_eur_per_mwh(d, "2016-01-01T00:00:00", np.arange(0, 366 * 86400, 3600))
    assert int((year == 1000.0).sum()) == 48


def test_cpp_validation():
    with pytest.raises(ScenarioError, match="cpp_months"):
        validate(dict(GRID, tariff={"kind": "cpp", "cpp_months": [13]}))
    with pytest.raises(ScenarioError, match="cpp_event_days"):
        validate(dict(GRID, tariff={"kind": "cpp", "cpp_event_days": ["next tuesday"]}))
