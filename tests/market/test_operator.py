"""Authenticity, gate closure, settlement and the mosaik adapter."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.common.messages import Kind
from simulators.market import make_orders
from simulators.common.auth import KeyRing, SeenIds, verify
from simulators.market.mosaik import META, MarketSim
from simulators.market.settlement import Ledger

STEP_MS = 900_000


def signed_book(ring, k, n=4, start_id=0, arrival_ms=None):
    o = make_orders(np.r_[np.arange(n), np.arange(n)], np.r_[np.ones(n), -np.ones(n)], np.full(2 * n, 1e-3),
                    np.r_[np.full(n, 300.0), np.full(n, 50.0)], interval_s=k * 900)
    o["msg_id"] += start_id
    o["send_ms"] = (k - 1) * STEP_MS
    o["arrival_ms"] = o["send_ms"] + 100 if arrival_ms is None else arrival_ms
    return ring.sign(o)


def test_forged_and_replayed_rejected():
    ring = KeyRing(1)
    o = signed_book(ring, 1)
    seen = SeenIds()
    forged, replayed = verify(o, ring, seen)
    assert not forged.any() and not replayed.any()
    forged, replayed = verify(o, ring, seen)  # same batch again: all replays
    assert replayed.all()
    o2 = signed_book(ring, 1, start_id=100)
    o2["price_eur_per_mwh"][0] = 1e4  # altered after signing
    o2["tag"][1] ^= np.uint64(1)  # bad tag
    other = signed_book(KeyRing(2), 1, start_id=200)  # wrong key
    f, r = verify(o2, ring, seen)
    assert f[:2].all() and not f[2:].any()
    assert verify(other, ring, seen)[0].all()


def make_sim(**cfg):
    s = MarketSim()
    config = {"mechanism": "pay_as_clear", **cfg}
    s.init("M", 0.001, config=config, grid=None, start="2016-06-01T12:00:00", step_s=900, n_steps=3,
           seed=3, n_agents=4)
    s.create(1, "Market")
    return s


ATTRS = ["messages_out", "events_trades", "traded_mwh", "orders_received", "orders_rejected_auth",
         "orders_late", "market_status", "bill_eur", "price_eur_per_mwh"]


def test_adapter_gate_closure_late_and_attacks():
    s = make_sim(attack={"forged_orders_per_interval": 5, "replayed_orders_per_interval": 2})
    assert s.step(0, {}, None) == STEP_MS - 300_000  # gate of interval 1 at T_1 - 300 s
    ring = KeyRing(3)
    book = signed_book(ring, 1)
    late = signed_book(ring, 1, start_id=50, arrival_ms=STEP_MS - 299_000)  # after gate closure
    s.step(100, {"Market": {"messages_in": {"ict": book}}}, None)
    assert s.step(STEP_MS - 300_000, {}, None) == 2 * STEP_MS - 300_000
    s.step(STEP_MS - 299_000, {"Market": {"messages_in": {"ict": late}}}, None)
    d = s.get_data({"Market": ATTRS})["Market"]
    assert d["orders_rejected_auth"] == 5  # forged (no accepted orders to replay yet)
    assert d["traded_mwh"] == pytest.approx(4e-3)  # only the 8 honest orders clear
    assert set(d["events_trades"]["buyer"]) <= {0, 1, 2, 3}
    res = d["messages_out"]
    assert len(res) == 8 and np.all(res["kind"] == Kind.RESULT)
    assert set(res["ref_id"]) == set(book["msg_id"])
    # interval 2: no honest orders; the 2 replays and 5 forged orders are rejected, the late ones counted
    s.step(2 * STEP_MS - 300_000, {}, None)
    d = s.get_data({"Market": ATTRS})["Market"]
    assert d["orders_rejected_auth"] == 7 and d["traded_mwh"] == 0 and d["orders_late"] == 8
    assert d["market_status"] == 2
    # bills: each agent bought 1 kWh and sold 1 kWh at the same uniform price -> 0 EUR
    np.testing.assert_allclose(d["bill_eur"], 0.0, atol=1e-12)


def test_settlement_imbalance():
    # agent 0 bought 1 kWh at 200 EUR/MWh (0.2 EUR); meter: 1.5 kWh import -> 0.5 kWh shortfall at retail
    # 400 EUR/MWh = 0.2 EUR; total 0.4 EUR. Tariff baseline: 1.5 kWh * 400 = 0.6 EUR.
    led = Ledger(2)
    o = make_orders([0, 1], [1, -1], [1e-3, 1e-3], [300, 100])
    from simulators.market.mechanisms import clear

    t = clear(o, "pay_as_clear").trades
    led.book_clearing(0, o, t, np.zeros(2), 400.0, 82.0)  # fully matched: nothing to the retailer
    m = np.zeros(2, dtype=o.dtype)
    m["kind"], m["sender"], m["quantity_mwh"], m["quantity2_mwh"] = Kind.METER, [0, 1], [1.5e-3, 0], [0, 0.5e-3]
    led.settle_meters(m)
    assert led.bill_eur[0] == pytest.approx(0.4, rel=1e-12)
    # agent 1 sold 1 kWh at 200 (-0.2 EUR), delivered only 0.5 kWh: buys 0.5 kWh back at retail (+0.2)
    assert led.bill_eur[1] == pytest.approx(0.0, abs=1e-12)
    assert led.bill_tariff_eur.tolist() == pytest.approx([0.6, -0.041], rel=1e-12)
    # money conservation: what the agents paid went to the retailer or the operator
    assert led.bill_eur.sum() == pytest.approx(led.retailer_eur + led.operator_eur, abs=1e-15)


def test_meta_and_extra_methods():
    s = make_sim()
    assert META["type"] == "hybrid" and "messages_in" in META["models"]["Market"]["trigger"]
    meta = s.series_meta()
    assert meta["bill_eur"]["entities"] == [f"agent_{i}" for i in range(4)]
    assert "agents" in s.static_tables()


def test_gate_closure_must_be_before_delivery():
    from simulators.market.errors import MarketConfigError

    with pytest.raises(MarketConfigError, match="gate_closure_s"):
        make_sim(gate_closure_s=900)


def test_replays_from_any_earlier_gate_stay_refused_with_the_replay_window():
    """The operator keeps the accepted msg_ids of the last REPLAY_WINDOW gates only. Over 30
    gates: every honest book clears; copies of orders from 1, 2 and 5 gates back, sent again
    before the gate, are counted late (their interval is cleared) and never accepted; the
    attack's re-sent orders of the previous gate are rejected at every gate."""
    from simulators.market.operator import REPLAY_WINDOW

    n = 30
    s = MarketSim()
    s.init("M", 0.001, config={"mechanism": "pay_as_clear", "attack": {"replayed_orders_per_interval": 3}},
           grid=None, start="2016-06-01T12:00:00", step_s=900, n_steps=n + 1, seed=3, n_agents=4)
    s.create(1, "Market")
    ring = KeyRing(3)
    books = {k: signed_book(ring, k, start_id=1000 * k) for k in range(1, n + 1)}
    t = s.step(0, {}, None)
    for k in range(1, n + 1):
        old = [books[k - d].copy() for d in (1, 2, 5) if k - d >= 1]
        for o in old:
            o["arrival_ms"] = (k - 1) * STEP_MS + 200
        batch = np.concatenate([books[k], *old])
        s.step((k - 1) * STEP_MS + 100, {"Market": {"messages_in": {"ict": batch}}}, None)
        assert t == k * STEP_MS - 300_000
        t = s.step(t, {}, None)
        d = s.get_data({"Market": ATTRS})["Market"]
        assert d["traded_mwh"] == pytest.approx(4e-3), k  # the 8 honest orders, nothing more
        assert d["orders_late"] == sum(len(o) for o in old), k
        assert d["orders_rejected_auth"] == (3 if k > 1 else 0), k
    assert len(s.op.seen._runs) <= REPLAY_WINDOW
