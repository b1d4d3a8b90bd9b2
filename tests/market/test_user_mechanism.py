"""A mechanism from a module outside the repository (``market.mechanism: module:function``)."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from simulators.common.auth import KeyRing
from simulators.market import make_orders
from simulators.market.errors import MechanismResultError, UnknownMechanismError
from simulators.market.mechanisms import MECHANISMS, clear, resolve_mechanism
from simulators.market.mosaik import MarketSim
from simulators.market.orders import ClearingContext
from simulators.market.schema import MarketConfig

STEP_MS = 900_000


def _book():
    # 4 bids of 1 kWh at 300 EUR/MWh, 4 offers of 1 kWh at 50 EUR/MWh (as tests/market/test_operator.py)
    n = 4
    return make_orders(np.r_[np.arange(n), np.arange(n)], np.r_[np.ones(n), -np.ones(n)], np.full(2 * n, 1e-3),
                       np.r_[np.full(n, 300.0), np.full(n, 50.0)], interval_s=900)


def test_user_mechanism_clears_with_its_own_price_rule(user_code):
    ctx = ClearingContext(retail_price_eur_per_mwh=287.0, feed_in_price_eur_per_mwh=123.1)
    res = clear(_book(), "usermech:mid_price", ctx)
    # hand calculation: posted price (287 + 123.1) / 2 = 205.05; every bid (300) and offer (50) crosses it
    assert res.clearing_price_eur_per_mwh == pytest.approx(205.05, abs=1e-12)
    assert res.trades["quantity_mwh"].sum() == pytest.approx(4e-3, rel=1e-12)
    assert np.all(res.trades["price_eur_per_mwh"] == res.clearing_price_eur_per_mwh)
    # the built-in uniform auction prices the same book at the midpoint of 50 and 300 (k = 1/2 rule)
    assert clear(_book(), "pay_as_clear", ctx).clearing_price_eur_per_mwh == pytest.approx(175.0, abs=1e-12)


def test_user_mechanism_gets_the_minimum_order_size_of_builtins(user_code):
    book = _book()
    book["quantity_mwh"][0] = 1e-12  # below MIN_ORDER_MWH: not traded, goes to the retailer
    res = clear(book, "usermech:mid_price", ClearingContext())
    assert 0 not in res.trades["buyer_order"]
    assert res.retail_import_mwh >= 1e-12


def test_contract_is_checked_at_every_call(user_code):
    with pytest.raises(MechanismResultError, match="returned dict, not a ClearingResult"):
        clear(_book(), "usermech:not_a_result", ClearingContext())


def test_builtins_resolve_to_the_table_and_network_mechanisms_to_none():
    assert resolve_mechanism("pay_as_clear") is MECHANISMS["pay_as_clear"]
    assert resolve_mechanism("dlmp") is None and resolve_mechanism("lfm") is None
    with pytest.raises(UnknownMechanismError, match="needs the grid"):
        clear(_book(), "dlmp")


@pytest.mark.parametrize("value, fragment", [
    ("barter", "unknown mechanism 'barter'; allowed: pay_as_clear, pay_as_bid"),
    ("usermech:nothing", "has no attribute 'nothing'"),
    ("usermech:constant_need", "wrong signature constant_need(inp)"),
])
def test_schema_refuses_bad_mechanisms_in_one_line(user_code, value, fragment):
    with pytest.raises(ValidationError) as exc:
        MarketConfig(mechanism=value)
    (err,) = exc.value.errors()
    assert err["loc"] == ("mechanism",) and fragment in err["msg"] and "\n" not in err["msg"]


def test_adapter_clears_with_the_user_mechanism(user_code):
    """Through the mosaik adapter, as in a run: the published price is the user rule's."""
    s = MarketSim()
    s.init("M", 0.001, config={"mechanism": "usermech:mid_price"}, grid=None, start="2016-06-01T12:00:00",
           step_s=900, n_steps=3, seed=3, n_agents=4)
    s.create(1, "Market")
    s.step(0, {}, None)
    book = _book()
    book["send_ms"], book["arrival_ms"] = 0, 100
    book = KeyRing(3).sign(book)
    s.step(100, {"Market": {"messages_in": {"ict": book}}}, None)
    s.step(STEP_MS - 300_000, {}, None)  # gate closure of interval 1
    d = s.get_data({"Market": ["traded_mwh", "price_eur_per_mwh", "events_trades"]})["Market"]
    # default tariff: retail 287, feed-in 123.1 EUR/MWh (simulators.common.tariffs) -> 205.05
    assert d["traded_mwh"] == pytest.approx(4e-3, rel=1e-12)
    assert d["price_eur_per_mwh"] == pytest.approx(205.05, abs=1e-9)
    assert np.all(d["events_trades"]["price_eur_per_mwh"] == pytest.approx(205.05, abs=1e-9))
