"""The market's side of ledger settlement: submit at gate closure, settle on the ledger's answer.

The two adapters are stepped by hand in the order mosaik steps them at one
gate closure (market, ledger, market again through the weak connection).
"""

from __future__ import annotations

import numpy as np
import pytest

from simulators.common.auth import KeyRing
from simulators.common.dlt import TX_DTYPE
from simulators.ledger.mosaik import LedgerSim
from simulators.market.errors import LedgerAnswerError
from simulators.market.mosaik import MarketSim
from simulators.market.operator import LEDGER_NOT_FINAL
from tests.market.test_operator import signed_book

GATE_MS = 600_000  # gate closure of interval 1: 900 s - 300 s
#: authority ledger slowed down by hand: one transaction per 100 s block, final with it, 0.4 EUR each
LEDGER = {"preset": "authority", "block_interval_s": 100.0, "block_capacity_tx": 1, "fee_eur_per_tx": 0.4}
MARKET_OUT = ["messages_out", "events_trades", "transactions_out", "traded_mwh", "bill_eur", "operator_eur",
              "retailer_eur"]


def pair(ledger=LEDGER):
    m = MarketSim()
    m.init("M", 0.001, config={"mechanism": "p2p_cda", "ledger": ledger}, grid=None,
           start="2016-06-01T12:00:00", step_s=900, n_steps=3, seed=3, n_agents=4)
    m.create(1, "Market")
    led = LedgerSim()
    led.init("L", 0.001, config=ledger, seed=3, step_s=900, n_steps=3, gates=m.decision_schedule())
    led.create(1, "Ledger")
    return m, led


def test_gate_waits_for_the_ledger_and_drops_what_is_not_final():
    m, led = pair()
    m.step(0, {}, None)
    led.step(0, {}, None)
    book = signed_book(KeyRing(3), 1)  # 4 buyers (limit 300) and 4 sellers (limit 50), 1 kWh each
    m.step(100, {"Market": {"messages_in": {"ict": book}}}, None)
    m.get_data({"Market": MARKET_OUT})
    # step 1 at gate closure: clear and submit, publish nothing yet
    m.step(GATE_MS, {}, None)
    d = m.get_data({"Market": MARKET_OUT})["Market"]
    tx = d["transactions_out"]
    assert tx.dtype == TX_DTYPE and len(tx) >= 4 and "messages_out" not in d and "events_trades" not in d
    np.testing.assert_array_equal(tx["submit_s"], 600.0)
    np.testing.assert_array_equal(tx["deadline_s"], 900.0)  # delivery_start of interval 1
    # the ledger at the same instant: blocks at 700, 800, 900, ... s hold one transaction each,
    # so exactly the first three are final by 900 s (hand calculation)
    led.step(GATE_MS, {"Ledger": {"transactions_in": {"M.Market": tx}}}, None)
    ans = led.get_data({"Ledger": ["answers_out", "fee_eur"]})["Ledger"]
    np.testing.assert_array_equal(ans["answers_out"]["final_in_time"], np.arange(len(tx)) < 3)
    # step 2 at the same instant (weak connection): settle, execute, publish
    m.step(GATE_MS, {"Market": {"ledger_in": {"L.Ledger": ans["answers_out"]}}}, None)
    d = m.get_data({"Market": MARKET_OUT})["Market"]
    assert len(d["messages_out"]) == len(book)  # one RESULT per order, with finality known
    ev = d["events_trades"]
    assert len(ev) == len(tx)
    np.testing.assert_array_equal(ev["reason"] == LEDGER_NOT_FINAL, np.arange(len(tx)) >= 3)
    np.testing.assert_array_equal(ev["quantity_mwh"][3:], 0.0)
    np.testing.assert_allclose(ev["curtailed_mwh"][3:], tx["quantity_mwh"][3:], rtol=0, atol=0)
    assert d["traded_mwh"] == pytest.approx(tx["quantity_mwh"][:3].sum(), rel=1e-12)
    # every fee is booked, final or not: bills = retailer + operator + ledger fees (1e-12 relative)
    assert ans["fee_eur"] == pytest.approx(0.4 * len(tx), rel=1e-12)
    assert d["bill_eur"].sum() == pytest.approx(d["retailer_eur"] + d["operator_eur"] + ans["fee_eur"], rel=1e-12)


def test_a_gate_without_an_answer_is_an_error_at_the_next_gate():
    m, _ = pair()
    m.step(0, {}, None)
    m.step(100, {"Market": {"messages_in": {"ict": signed_book(KeyRing(3), 1)}}}, None)
    m.step(GATE_MS, {}, None)
    with pytest.raises(LedgerAnswerError, match="interval 1: the ledger did not answer"):
        m.step(GATE_MS + 900_000, {}, None)
