"""The one scenario tariff: validation, prices, and the retired per-section keys."""

from __future__ import annotations

import numpy as np
import pytest

from cosim.config import validate
from cosim.errors import ScenarioError
import pandas as pd

from simulators.common.tariffs import (BlockBiller, TariffConfig, block_cost_eur, cpp_event_days,
                                      feed_in_price_eur_per_mwh, import_price_eur_per_mwh,
                                      marginal_import_price_eur_per_mwh)

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


def _ibp(**kw):
    return TariffConfig(kind="ibp", ibp_tiers_kwh=(1.0, 2.0), ibp_prices_eur_per_mwh=(100.0, 200.0, 400.0), **kw)


def test_block_bill_across_a_tier_boundary_and_a_monthly_reset():
    # hand calculation, tiers 0-1 kWh at 100, 1-2 kWh at 200, above at 400 EUR/MWh, monthly;
    # start 2016-01-31 23:30, intervals at 0 and 900 s are in January, 1800 s is 1 February
    b = BlockBiller(_ibp(), "2016-01-31T23:30:00", 2)
    # home 0: 0.8 kWh -> 0.8 * 0.1 = 0.08 EUR; home 1: nothing
    assert np.allclose(b.charge_eur(0, [0.8e-3, 0.0]), [0.08, 0.0], rtol=0, atol=1e-12)
    assert b.marginal_eur_per_mwh(900).tolist() == [100.0, 100.0]
    # home 0: 0.2 kWh at 100 + 0.3 kWh at 200 = 0.08 EUR; home 1: 1 x 100 + 1 x 200 + 0.5 x 400 = 0.5 EUR
    assert np.allclose(b.charge_eur(900, [0.5e-3, 2.5e-3]), [0.08, 0.5], rtol=0, atol=1e-12)
    assert b.marginal_eur_per_mwh(900).tolist() == [200.0, 400.0]
    # February: the counters restart, 0.5 kWh at 100 = 0.05 EUR each
    assert b.marginal_eur_per_mwh(1800).tolist() == [100.0, 100.0]
    assert np.allclose(b.charge_eur(1800, [0.5e-3, 0.5e-3]), [0.05, 0.05], rtol=0, atol=1e-12)
    # a yearly period does not reset on 1 February: home 1 stays in the top tier, 0.5 x 400 = 0.2 EUR
    y = BlockBiller(_ibp(ibp_period="year"), "2016-01-31T23:30:00", 2)
    y.charge_eur(900, [0.0, 2.5e-3])
    assert np.allclose(y.charge_eur(1800, [0.0, 0.5e-3]), [0.0, 0.2], rtol=0, atol=1e-12)


def test_marginal_price_at_the_tier_edges():
    # hand values, tiers 0-1 kWh at 100, 1-2 kWh at 200, above at 400 EUR/MWh: tier i covers
    # (bound[i-1], bound[i]], so a home exactly at a bound has filled that tier and its next kWh
    # costs the next price; exact (prices are set, not computed)
    cum_mwh = [0.0, 0.9999e-3, 1e-3, 1.0001e-3, 1.5e-3, 2e-3, 50e-3]
    got = marginal_import_price_eur_per_mwh(_ibp(), "2016-06-01T00:00:00", 900, cum_mwh)
    assert got.tolist() == [100.0, 100.0, 200.0, 200.0, 200.0, 400.0, 400.0]
    # the BlockBiller of the bills gives the same price from its own counter
    b = BlockBiller(_ibp(), "2016-06-01T00:00:00", 3)
    b.charge_eur(0, [0.9999e-3, 1e-3, 2e-3])
    assert b.marginal_eur_per_mwh(900).tolist() == [100.0, 200.0, 400.0]
    # every other kind: the tariff's price of the interval whatever the cumulative (ToU peak 17-21 h)
    tou = TariffConfig(kind="tou")
    assert marginal_import_price_eur_per_mwh(tou, "2016-06-01T17:00:00", 0, [0.0, 5.0]).tolist() == [350.0, 350.0]


def test_block_counter_starts_at_ibp_start_kwh_in_the_first_period_only():
    # hand calculation, tiers as _ibp(); 1.5 kWh imported before the start (31 Jan 23:30):
    # next kWh at 200; 1 kWh = 0.5 kWh at 200 + 0.5 kWh at 400 = 0.3 EUR; February starts at zero
    b = BlockBiller(_ibp(ibp_start_kwh=1.5), "2016-01-31T23:30:00", 2)
    assert b.marginal_eur_per_mwh(0).tolist() == [200.0, 200.0]
    assert np.allclose(b.charge_eur(900, [1e-3, 0.0]), [0.3, 0.0], rtol=0, atol=1e-12)
    assert b.marginal_eur_per_mwh(1800).tolist() == [100.0, 100.0]
    assert marginal_import_price_eur_per_mwh(_ibp(ibp_start_kwh=1.5), "2016-01-31T23:30:00", 0,
                                             b.cumulative_mwh(0)).tolist() == [400.0, 200.0]


def test_block_bill_prices_the_residual_and_pays_feed_in_flat():
    # hand calculation: import 1.5 kWh, export 0, bought 0.5 kWh locally -> retail residual 1 kWh,
    # all in tier 1: 0.1 EUR; home 1 exports 2 kWh at 123.1 EUR/MWh: -0.2462 EUR
    b = BlockBiller(_ibp(), "2016-06-01T00:00:00", 2)
    bill = b.retail_bill_eur(0, [1.5e-3, 0.0], [0.0, 2e-3], [0.5e-3, 0.0], 123.1)
    assert np.allclose(bill, [0.1, -0.2462], rtol=0, atol=1e-12)
    assert b.cumulative_mwh(0).tolist() == [1e-3, 0.0]
    # only the distinct agents given are charged: home 0 from 1 kWh, 1 x 200 + 0.5 x 400 = 0.4 EUR
    assert np.allclose(b.charge_eur(0, [1.5e-3], agents=[0]), [0.4], rtol=0, atol=1e-12)
    assert b.cumulative_mwh(0).tolist() == [2.5e-3, 0.0]


def test_ibp_published_price_is_the_first_block_and_defaults_are_consistent():
    d = TariffConfig(kind="ibp")
    assert d.ibp_tiers_kwh == (240.0, 400.0) and d.ibp_prices_eur_per_mwh == (287.0, 316.4, 463.3)
    assert import_price_eur_per_mwh(d, "2016-06-01T00:00:00", np.arange(3) * 900).tolist() == [287.0] * 3
    # the integral of the tiers equals a hand sum: 240 x 287 + 160 x 316.4 + 100 x 463.3 [EUR/MWh x kWh]
    cost = block_cost_eur(0.0, 0.5, np.array([0.24, 0.4]), np.array([287.0, 316.4, 463.3]))
    assert abs(cost - (0.24 * 287.0 + 0.16 * 316.4 + 0.1 * 463.3)) < 1e-9


@pytest.mark.parametrize("override, field, fragment", [
    ("tariff.ibp_prices_eur_per_mwh=[300, 200, 400]", "tariff.ibp_prices_eur_per_mwh", "strictly increasing"),
    ("tariff.ibp_prices_eur_per_mwh=[300, 300, 400]", "tariff.ibp_prices_eur_per_mwh", "strictly increasing"),
    ("tariff.ibp_tiers_kwh=[400, 240]", "tariff.ibp_tiers_kwh", "strictly increasing"),
    ("tariff.ibp_start_kwh=-1", "tariff.ibp_start_kwh", "greater than or equal to 0"),
    ("tariff.ibp_prices_eur_per_mwh=[300, 400]", "tariff", "len(ibp_tiers_kwh) + 1 = 3 values (got 2)"),
])
def test_ibp_validation_is_one_line_with_exit_2(override, field, fragment, capsys):
    from cosim.cli import main
    rc = main(["run", "--set", "tariff.kind=ibp", "--set", override, "-q", "-o", "unused.h5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1, err
    assert err[0].startswith(f"error: {field}:") and fragment in err[0]
