"""The HEMS policies as functions keyed by name (:data:`simulators.household.hems.POLICIES`).

Expected values follow the rules in the :mod:`simulators.household.hems`
docstring, computed by hand on three homes; exact (the rules are sums and clips).
"""

import numpy as np
import pytest

from simulators.household import hems
from simulators.household.schema import POLICIES as SCHEMA_POLICIES

Z = np.zeros(3)


def _input(price=100.0, mean=100.0, result=None, activation=None):
    # home 0: 2 kW deficit; home 1: 3 kW PV surplus; home 2: balanced
    return hems.DispatchInput(
        base_p_mw=np.array([2e-3, 1e-3, 1e-3]), pv_p_mw=np.array([0.0, 4e-3, 1e-3]),
        ev_must_mw=Z, ev_max_mw=Z, ev_min_mw=Z, hp_set_mw=Z, hp_hi_mw=Z, hp_lo_mw=Z,
        bat_ch_max_mw=np.full(3, 5e-3), bat_dis_max_mw=np.full(3, 1e-3),
        price_eur_per_mwh=price, price_ref_eur_per_mwh=mean, dt_h=0.25,
        result_mwh=result, activation_mwh=activation)


def test_every_schema_policy_has_one_function():
    assert set(hems.POLICIES) == set(SCHEMA_POLICIES)
    senders = {name for name, p in hems.POLICIES.items() if p.offers is not None or p.curve}
    assert senders == {"market", "market_fixed", "flex"}


def test_none_keeps_the_battery_idle():
    _, _, bat = hems.POLICIES["none"].dispatch(_input())
    assert bat.tolist() == [0.0, 0.0, 0.0]


def test_self_consumption_stores_surplus_and_covers_deficit_within_limits():
    _, _, bat = hems.POLICIES["self_consumption"].dispatch(_input())
    # deficit 2 kW capped at the 1 kW discharge limit; surplus 3 kW charged
    assert bat.tolist() == pytest.approx([-1e-3, 3e-3, 0.0], abs=1e-15)


def test_tariff_charges_fully_below_the_average_price():
    _, _, bat = hems.POLICIES["tariff"].dispatch(_input(price=50.0, mean=100.0))
    assert bat.tolist() == [5e-3, 5e-3, 5e-3]
    _, _, bat = hems.POLICIES["tariff"].dispatch(_input(price=150.0, mean=100.0))
    assert bat.tolist() == pytest.approx([-1e-3, 0.0, 0.0], abs=1e-15)  # above: never charges


def test_tariff_with_per_home_prices_decides_per_home_as_with_one_price():
    # block prices give every home its own marginal price; expectation: home i decides exactly as
    # the scalar policy does at price[i] (below / above / at the reference), exact equality
    price = np.array([50.0, 150.0, 100.0])
    got = hems.POLICIES["tariff"].dispatch(_input(price=price, mean=100.0))
    for i, p in enumerate(price):
        want = hems.POLICIES["tariff"].dispatch(_input(price=float(p), mean=100.0))
        assert [float(np.broadcast_to(g, (3,))[i]) for g in got] == [float(np.broadcast_to(w, (3,))[i]) for w in want]


def test_market_fixed_follows_the_executed_position_where_there_is_one():
    # home 0 bought 0.5 kWh over 15 min -> net 2 kW -> battery 0; home 1: no result
    res = np.array([0.5e-3, np.nan, 0.0])
    _, _, bat = hems.POLICIES["market_fixed"].dispatch(_input(result=res))
    assert bat.tolist() == pytest.approx([0.0, 3e-3, 0.0], abs=1e-15)


def test_flex_activation_shifts_the_battery():
    act = np.array([-0.25e-3, np.nan, 0.25e-3])  # 1 kW up, none, 1 kW down
    _, _, bat = hems.POLICIES["flex"].dispatch(_input(activation=act))
    assert bat.tolist() == pytest.approx([-2e-3, 3e-3, 1e-3], abs=1e-15)
