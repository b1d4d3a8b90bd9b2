"""One tariff, end to end: households and market price energy with the same section.

A 2-hour run of ``market_lv_rural`` under the ``tariff`` mechanism (no local
trading). Meter readings of interval k reach the market's ledger two records
later (sent at the start of k+1, settled at the next gate), so the market's
running totals at the last record cover the households' totals two records
earlier. Tolerance 1e-6 EUR per agent (the issue's acceptance figure; both
sides sum the same products of floats).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.world import run_scenario

REPO = Path(__file__).resolve().parents[2]
LAG = 2  # records between a household's interval and its settlement by the market


@pytest.fixture(scope="module")
def tariff_run(tmp_path_factory):
    sc, text = load_scenario(REPO / "scenarios" / "market_lv_rural.yaml",
                             ["market.mechanism=tariff", "market.dso_check=none", "duration=2h",
                              "start=2016-06-06T10:00:00"])
    out = tmp_path_factory.mktemp("one_tariff") / "tariff.h5"
    run_scenario(sc, text, out)
    with h5py.File(out) as h:
        return {k: h[f"/series/{k}"][()] for k in ("household/bill_eur", "market/bill_eur", "market/bill_tariff_eur")}


def test_market_tariff_baseline_equals_household_bills(tariff_run):
    hh = tariff_run["household/bill_eur"][-1 - LAG]
    market_tariff = tariff_run["market/bill_tariff_eur"][-1]
    assert np.abs(hh).sum() > 0.1  # the comparison is not between zeros
    assert np.allclose(market_tariff, hh, rtol=0, atol=1e-6)


@pytest.mark.xfail(strict=True, reason="known gap: the ledger prices a deviation from the executed schedule "
                                        "as a shortfall at retail / surplus at feed-in, so a forecast error that "
                                        "crosses zero, or a home with both a bid and an offer executed, bills "
                                        "differently from the household meter; remove when settlement is fixed")
def test_market_bills_under_the_tariff_mechanism_equal_household_bills(tariff_run):
    hh = tariff_run["household/bill_eur"][-1 - LAG]
    assert np.allclose(tariff_run["market/bill_eur"][-1], hh, rtol=0, atol=1e-6)
