"""The ledger simulator alone, fed with hand-built transactions (no mosaik world)."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.common.dlt import ANSWER_DTYPE, TX_DTYPE, DistributedLedger, preset
from simulators.ledger.errors import LedgerConfigError, LedgerInputError
from simulators.ledger.model import EVENT_LEDGER_DTYPE
from simulators.ledger.mosaik import LedgerSim

OUTPUTS = ["answers_out", "events_ledger", "tx", "tx_not_final", "latency_max_s", "fee_eur", "energy_kwh"]
GATES = {"period_s": 900, "offsets_s": [600]}  # the market's gate closures 300 s before each interval


def started(config, seed=5, gates=GATES, n_steps=4):
    sim = LedgerSim()
    sim.init("L", 0.001, config=config, seed=seed, step_s=900, n_steps=n_steps, gates=gates,
             grid={"simbench": "1-LV-rural1--0-sw"}, start="2016-06-01T00:00:00")
    sim.create(1, "Ledger")
    return sim


def transactions(n, submit_s, deadline_s, first_id=0):
    tx = np.zeros(n, TX_DTYPE)
    tx["trade_id"] = first_id + np.arange(n)
    tx["interval_s"] = 900
    tx["buyer"], tx["seller"] = np.arange(n), np.arange(n) + 100
    tx["quantity_mwh"] = 1e-3 * (1 + np.arange(n))
    tx["submit_s"], tx["deadline_s"] = submit_s, deadline_s
    return tx


def test_confirmation_times_by_hand():
    # fixed 10 s slots, none missed, 3 transactions per block, final one block later (depth 2),
    # 0.1 EUR and 2 kWh per transaction. Five transactions submitted at 100 s: a block at the
    # submission instant cannot hold them, so blocks 110 s (3 tx) and 120 s (2 tx) include them
    # and blocks 120 s and 130 s confirm them. Deadline 125 s: the first three are final.
    cfg = {"preset": "authority", "block_interval_s": 10.0, "block_capacity_tx": 3, "confirmation_depth": 2,
           "fee_eur_per_tx": 0.1, "energy_kwh_per_tx": 2.0}
    sim = started(cfg, gates={"period_s": 100, "offsets_s": [0]})
    assert sim.step(0, {}, None) == 100_000  # self-steps at the declared gate closures
    nxt = sim.step(100_000, {"Ledger": {"transactions_in": {"M.Market": transactions(5, 100.0, 125.0)}}}, None)
    assert nxt == 200_000
    d = sim.get_data({"Ledger": OUTPUTS})["Ledger"]
    ans = d["answers_out"]
    assert ans.dtype == ANSWER_DTYPE
    np.testing.assert_array_equal(ans["trade_id"], np.arange(5))
    np.testing.assert_array_equal(ans["inclusion_s"], [110, 110, 110, 120, 120])  # exact (hand calculation)
    np.testing.assert_array_equal(ans["confirmation_s"], [120, 120, 120, 130, 130])
    np.testing.assert_array_equal(ans["final_in_time"], [1, 1, 1, 0, 0])
    np.testing.assert_allclose(ans["fee_eur"], 0.1, rtol=0, atol=0)
    ev = d["events_ledger"]
    assert ev.dtype == EVENT_LEDGER_DTYPE and len(ev) == 5
    np.testing.assert_array_equal(ev["confirmation_s"], ans["confirmation_s"])
    np.testing.assert_array_equal(ev["buyer"], np.arange(5))
    np.testing.assert_array_equal(ev["deadline_s"], 125.0)
    # series of this gate (hand calculation; fee and energy to round-off, 1e-12 relative)
    assert (d["tx"], d["tx_not_final"], d["latency_max_s"]) == (5, 2, 30.0)
    assert d["fee_eur"] == pytest.approx(0.5, rel=1e-12) and d["energy_kwh"] == pytest.approx(10.0, rel=1e-12)
    # the next gate without trades: per-gate series back to 0, running totals kept, no records
    sim.step(200_000, {}, None)
    d = sim.get_data({"Ledger": OUTPUTS})["Ledger"]
    assert "answers_out" not in d and "events_ledger" not in d
    assert (d["tx"], d["tx_not_final"], d["latency_max_s"]) == (0, 0, 0)
    assert d["fee_eur"] == pytest.approx(0.5, rel=1e-12)


def test_answers_equal_the_model_on_a_random_ledger():
    # proof of work: exponential block times from the seed. The adapter must give exactly
    # what the model gives with the same generator (first child of SeedSequence(seed)).
    sim = started({"preset": "proof_of_work"}, seed=11)
    sim.step(0, {}, None)
    model = DistributedLedger(preset("proof_of_work"), np.random.default_rng(np.random.SeedSequence(11).spawn(1)[0]))
    for gate_s, n in ((600.0, 40), (1500.0, 0), (2400.0, 300)):
        tx = transactions(n, gate_s, gate_s + 300.0)
        inputs = {"transactions_in": {"M.Market": tx}} if n else {}
        sim.step(int(gate_s * 1000), {"Ledger": inputs}, None)
        d = sim.get_data({"Ledger": OUTPUTS})["Ledger"]
        inc, conf = model.submit(tx["submit_s"])
        if not n:
            assert "answers_out" not in d and d["tx"] == 0
            continue
        np.testing.assert_array_equal(d["answers_out"]["inclusion_s"], inc)
        np.testing.assert_array_equal(d["answers_out"]["confirmation_s"], conf)
        np.testing.assert_array_equal(d["answers_out"]["final_in_time"], conf <= gate_s + 300.0)


def test_last_gate_ends_the_schedule():
    sim = started({"preset": "authority"}, n_steps=2)  # gates at 0 and 600 s; the run ends at 1800 s
    assert sim.step(0, {}, None) == 600_000
    assert sim.step(600_000, {}, None) == 1_500_000
    assert sim.step(1_500_000, {}, None) is None


def test_bad_config_and_bad_records_are_typed_errors():
    with pytest.raises(LedgerConfigError, match="market.ledger: .*preset"):
        started({"preset": "proof_of_luck"})
    with pytest.raises(LedgerConfigError, match="block_capacity_tx"):
        started({"preset": "proof_of_work", "block_capacity_tx": 5})  # 5 x (1 - 0.9) leaves no slot
    sim = started({"preset": "authority"})
    sim.step(0, {}, None)
    with pytest.raises(LedgerInputError, match="TX_DTYPE"):
        sim.step(600_000, {"Ledger": {"transactions_in": {"M.Market": np.zeros(2, ANSWER_DTYPE)}}}, None)
    sim.step(600_000, {"Ledger": {"transactions_in": {"M.Market": transactions(2, 600.0, 900.0)}}}, None)
    with pytest.raises(LedgerInputError, match="time order"):
        sim.step(600_000, {"Ledger": {"transactions_in": {"M.Market": transactions(2, 500.0, 900.0)}}}, None)
