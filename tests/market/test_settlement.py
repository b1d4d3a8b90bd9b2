"""The settlement rule by hand: local trades at their prices, the retailer settles the metered residual.

Rule (:func:`simulators.common.tariffs.retail_residual_mwh`), L = bought - sold locally,
b = max(L, 0), s = max(-L, 0):
    import_residual = max(imp - b, 0) + max(s - exp, 0)
    export_residual = max(exp - s, 0) + max(b - imp, 0)
    retail bill = retail * import_residual - feed_in * export_residual
Prices 300 / 100 EUR/MWh (flat) unless stated; energies in kWh (1e-3 MWh). Every
expected value below is computed by hand in its comment; tolerance 1e-12 EUR
(a handful of float products of numbers ~1e-3).
"""

from __future__ import annotations

import numpy as np
import pytest

from simulators.common.messages import Kind
from simulators.common.tariffs import (
    TariffConfig,
    feed_in_price_eur_per_mwh,
    import_price_eur_per_mwh,
    retail_bill_eur,
    retail_residual_mwh,
)
from simulators.market import make_orders
from simulators.market.mechanisms import clear
from simulators.market.settlement import Ledger

KWH = 1e-3
TOL = 1e-12


@pytest.mark.parametrize("imp, exp_, local, res_imp, res_exp, bill", [
    # no trade: the meter itself; 2 kWh x 0.3 = 0.6 EUR; 1 kWh export x 0.1 = -0.1 EUR
    (2, 0, 0, 2, 0, 0.6),
    (0, 1, 0, 0, 1, -0.1),
    # seller shortfall: sold 2 kWh, exported 0.5 -> 1.5 kWh bought back at retail = 0.45 EUR
    (0, 0.5, -2, 1.5, 0, 0.45),
    # buyer surplus: bought 2 kWh, imported 0.5 -> 1.5 kWh sold at feed-in = -0.15 EUR
    (0.5, 0, 2, 0, 1.5, -0.15),
    # sub-steps, import 1 and export 3 kWh in one interval, sold 1 kWh locally:
    # imp_res = max(1-0,0) + max(1-3,0) = 1, exp_res = max(3-1,0) + 0 = 2 -> 0.3 - 0.2 = 0.1 EUR
    (1, 3, -1, 1, 2, 0.1),
    # same meter, bought 2 kWh locally: imp_res = max(1-2,0) + 0 = 0, exp_res = 3 + max(2-1,0) = 4 -> -0.4 EUR
    (1, 3, 2, 0, 4, -0.4),
    # exactly as traded: seller delivered its 2 kWh sale -> nothing with the retailer
    (0, 2, -2, 0, 0, 0.0),
])
def test_retail_residual_by_hand(imp, exp_, local, res_imp, res_exp, bill):
    ri, re_ = retail_residual_mwh(imp * KWH, exp_ * KWH, local * KWH)
    assert ri == pytest.approx(res_imp * KWH, abs=1e-15) and re_ == pytest.approx(res_exp * KWH, abs=1e-15)
    assert retail_bill_eur(imp * KWH, exp_ * KWH, local * KWH, 300.0, 100.0) == pytest.approx(bill, abs=TOL)


def test_without_local_trades_the_rule_is_the_meter_bit_for_bit():
    rng = np.random.default_rng(1)
    imp, exp_ = rng.uniform(0, 1e-2, 100), rng.uniform(0, 1e-2, 100)
    assert np.array_equal(retail_bill_eur(imp, exp_, 0.0, 287.0, 123.1), imp * 287.0 - exp_ * 123.1)


def _meter(senders, imp_kwh, exp_kwh, interval_s=0):
    m = np.zeros(len(senders), dtype=make_orders([0], [1], [1e-3], [1.0]).dtype)
    m["kind"], m["sender"], m["interval_s"] = Kind.METER, senders, interval_s
    m["quantity_mwh"], m["quantity2_mwh"] = np.asarray(imp_kwh) * KWH, np.asarray(exp_kwh) * KWH
    return m


def test_ledger_seller_shortfall_and_buyer_surplus_with_local_trade():
    # agent 0 buys 2 kWh from agent 1 at the uniform price 200 (limits 300 / 100): 0.4 EUR each way
    led = Ledger(3)
    o = make_orders([0, 1], [1, -1], [2 * KWH, 2 * KWH], [300.0, 100.0])
    t = clear(o, "pay_as_clear").trades
    assert t["price_eur_per_mwh"].tolist() == [200.0]
    led.book_clearing(0, o, t, np.zeros(2), 300.0, 100.0)
    assert led.bill_open_eur.tolist() == pytest.approx([0.4, -0.4, 0.0], abs=TOL)
    # meters: buyer imported only 0.5 kWh (surplus 1.5 at feed-in: -0.15), seller exported 0.5 kWh
    # (shortfall 1.5 at retail: +0.45)
    led.settle_meters(_meter([0, 1], [0.5, 0.0], [0.0, 0.5]))
    assert led.bill_eur.tolist() == pytest.approx([0.4 - 0.15, -0.4 + 0.45, 0.0], abs=TOL)
    assert led.bill_open_eur.tolist() == pytest.approx([0.0, 0.0, 0.0], abs=TOL)
    # tariff baseline of the same meters: 0.5 x 0.3 = 0.15, -0.5 x 0.1 = -0.05
    assert led.bill_tariff_eur.tolist() == pytest.approx([0.15, -0.05, 0.0], abs=TOL)
    assert led.imbalance_mwh.tolist() == pytest.approx([-1.5 * KWH, 1.5 * KWH, 0.0], abs=1e-15)
    assert led.bill_eur.sum() == pytest.approx(led.retailer_eur + led.operator_eur, abs=1e-15)
    # a repeated reading is ignored
    led.settle_meters(_meter([0], [9.0], [0.0]))
    assert led.bill_eur[0] == pytest.approx(0.25, abs=TOL) and led.duplicate_meters == 1


def test_ledger_replaces_provisional_retail_money_and_keeps_it_without_a_meter():
    # agents 0 and 1 each bid 1 kWh at 400 >= retail: no seller, both served by the retailer at clearing
    # (provisional 1 x 0.3 = 0.3 EUR each). Agent 0's meter shows 1.5 kWh import and 0.5 kWh export in
    # sub-steps: 1.5 x 0.3 - 0.5 x 0.1 = 0.4 EUR; agent 1 sends no reading and keeps 0.3 EUR.
    led = Ledger(2)
    o = make_orders([0, 1], [1, 1], [KWH, KWH], [400.0, 400.0])
    led.book_clearing(0, o, clear(o, "tariff").trades, np.array([KWH, KWH]), 300.0, 100.0)
    assert led.bill_eur.tolist() == pytest.approx([0.3, 0.3], abs=TOL)
    led.settle_meters(_meter([0], [1.5], [0.5]))
    assert led.bill_eur.tolist() == pytest.approx([0.4, 0.3], abs=TOL)
    assert led.bill_open_eur.tolist() == pytest.approx([0.0, 0.3], abs=TOL)
    assert led.bill_eur.sum() == pytest.approx(led.retailer_eur + led.operator_eur, abs=1e-15)


def test_ledger_penalty_on_the_deviation():
    # penalty 50 EUR/MWh; scheduled +1 kWh, metered import 1.5 -> |dev| 0.5 kWh x 50 = 0.025 EUR on top of
    # 1.5 x 0.3 = 0.45 EUR
    led = Ledger(1, "penalty", 50.0)
    o = make_orders([0], [1], [KWH], [400.0])
    led.book_clearing(0, o, clear(o, "tariff").trades, np.array([KWH]), 300.0, 100.0)
    led.settle_meters(_meter([0], [1.5], [0.0]))
    assert led.bill_eur[0] == pytest.approx(0.475, abs=TOL)


def test_ledger_tou_prices_of_each_interval():
    # ToU 350 peak [17, 21) h / 220 off-peak; start 16:45: interval 0 off-peak, interval 900 s peak.
    # 1 kWh scheduled in each, no trade; metered 2 kWh then 1 kWh: 2 x 0.22 + 1 x 0.35 = 0.79 EUR
    tou = TariffConfig(kind="tou", tou_peak_eur_per_mwh=350.0, tou_offpeak_eur_per_mwh=220.0)
    start = "2016-06-06T16:45:00"
    led = Ledger(1)
    for iv in (0, 900):
        retail = float(import_price_eur_per_mwh(tou, start, iv)[0])
        feed_in = float(feed_in_price_eur_per_mwh(tou, start, iv)[0])
        o = make_orders([0], [1], [KWH], [400.0], interval_s=iv)
        led.book_clearing(iv, o, clear(o, "tariff").trades, np.array([KWH]), retail, feed_in)
    led.settle_meters(_meter([0], [2.0], [0.0], 0))
    assert led.bill_eur[0] == pytest.approx(0.44 + 0.35, abs=TOL)  # interval 900 still provisional at 350
    assert led.bill_open_eur[0] == pytest.approx(0.35, abs=TOL)
    led.settle_meters(_meter([0], [1.0], [0.0], 900))
    assert led.bill_eur[0] == pytest.approx(0.79, abs=TOL) and led.bill_open_eur[0] == pytest.approx(0.0, abs=TOL)


def test_block_import_estimate_is_settled_meters_plus_open_schedules():
    # hand values. Block prices (tiers 1 / 2 kWh, monthly); two agents, 15-min intervals.
    # Interval 0: both buy 1 kWh from the retailer; metered: agent 0 imported 1.2 kWh, agent 1 none
    # arrived. Interval 900: agent 0 buys 2 kWh locally from agent 1 and 0.5 kWh at retail (scheduled
    # residual 0.5 kWh), not metered yet. Estimate before interval 1800: agent 0 = 1.2 (meter) +
    # 0.5 (schedule) = 1.7 kWh; agent 1 = 1 (schedule of interval 0) + 0 (seller) = 1 kWh.
    t = TariffConfig(kind="ibp", ibp_tiers_kwh=(1.0, 2.0), ibp_prices_eur_per_mwh=(100.0, 200.0, 400.0))
    led = Ledger(2, tariff=t, start="2016-06-01T00:00:00")
    o = make_orders([0, 1], [1, 1], [KWH, KWH], [400.0, 400.0])
    led.book_clearing(0, o, clear(o, "tariff").trades, np.array([KWH, KWH]), 100.0, 50.0)
    led.settle_meters(_meter([0], [1.2], [0.0]))
    o = make_orders([0, 1, 2], [1, -1, 1], [2 * KWH, 2 * KWH, 0.5 * KWH], [300.0, 60.0, 400.0], interval_s=900)
    o["sender"][2] = 0  # agent 0's second order, served by the retailer
    tr = clear(o[:2], "pay_as_clear").trades
    led.book_clearing(900, o, tr, np.array([0.0, 0.0, 0.5 * KWH]), 100.0, 50.0)
    assert led.block_import_mwh(1800) == pytest.approx([1.7 * KWH, 1.0 * KWH], abs=1e-15)
    # only earlier intervals count: before 900 the estimate is agent 0's meter and agent 1's schedule
    assert led.block_import_mwh(900) == pytest.approx([1.2 * KWH, 1.0 * KWH], abs=1e-15)
