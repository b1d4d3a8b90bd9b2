"""The distributed-ledger model against a brute-force queue and hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.common.dlt import DistributedLedger, LedgerParams, preset, settle_in_time


def brute_force(block_s, free, depth, arrivals):
    """Per-transaction FIFO reference: each tx takes the first block after its arrival with room."""
    used = np.zeros(len(block_s), dtype=int)
    inc, conf = [], []
    k0 = 0
    for a in arrivals:
        k = max(k0, int(np.searchsorted(block_s, a, side="right")))
        while used[k] >= free:
            k += 1
        used[k] += 1
        k0 = k  # FIFO: a later transaction never goes into an earlier block
        inc.append(block_s[k])
        conf.append(block_s[k + depth - 1])
    return np.array(inc), np.array(conf)


@pytest.mark.parametrize("law", ["fixed", "exponential"])
def test_batches_equal_brute_force_fifo(law):
    # Independent reference: the per-transaction loop above; must agree exactly.
    p = LedgerParams(block_interval_s=7.0, interval_law=law, missed_slot_prob=0.2 if law == "fixed" else 0.0,
                     block_capacity_tx=10, background_share=0.35, confirmation_depth=3)
    led = DistributedLedger(p, np.random.default_rng(4))
    rng = np.random.default_rng(9)
    t, got_inc, got_conf, arr = 0.0, [], [], []
    for _ in range(40):
        t += rng.exponential(20.0)
        batch = np.sort(t + rng.uniform(0, 5, rng.integers(0, 30)))
        if len(batch):
            t = float(batch[-1])
        i, c = led.submit(batch)
        got_inc.append(i), got_conf.append(c), arr.append(batch)
    arr = np.concatenate(arr)
    ref_inc, ref_conf = brute_force(led.block_s, p.free_slots, 3, arr)
    np.testing.assert_array_equal(np.concatenate(got_inc), ref_inc)
    np.testing.assert_array_equal(np.concatenate(got_conf), ref_conf)


def test_authority_hand_calculation():
    # Hand calculation: 2 s slots, 500 tx per block, depth 1. 1,200 transactions submitted at t = 10 s
    # go into the blocks after it: 12 s (500), 14 s (500) and 16 s (200).
    led = DistributedLedger(preset("authority"), np.random.default_rng(0))
    inc, conf = led.submit(np.full(1200, 10.0))
    assert np.array_equal(np.unique(inc, return_counts=True)[1], [500, 500, 200])
    assert np.array_equal(np.unique(inc), [12.0, 14.0, 16.0])
    assert np.array_equal(inc, conf)
    # a later batch at 15 s: block 16 s has 300 free slots left
    inc2, _ = led.submit(np.full(400, 15.0))
    assert np.array_equal(np.unique(inc2, return_counts=True)[1], [300, 100])
    assert np.array_equal(np.unique(inc2), [16.0, 18.0])


def test_proof_of_work_latency_statistics():
    # Poisson block arrivals (Nakamoto 2008, sec. 11): a transaction arriving at a random time waits an
    # exponential residual with mean 600 s for its block (memorylessness), then 5 more blocks for depth 6:
    # mean confirmation latency 6 x 600 = 3,600 s. Capacity never binds here (one tx per 10 000 s).
    # Tolerance: 4,000 samples, sd of the mean = sqrt(6) x 600 / sqrt(4000) = 23 s; 5 sd = 116 s.
    led = DistributedLedger(preset("proof_of_work"), np.random.default_rng(1))
    a = np.arange(4000) * 10_000.0
    _, conf = led.submit(a)
    assert abs((conf - a).mean() - 3600.0) < 116.0
    # a 15-minute market cannot settle on it in time: P(6 blocks within 900 s) = P(Poisson(1.5) >= 6) = 0.45 %
    assert settle_in_time(conf, a + 900.0).mean() < 0.02


def test_missed_slots_and_validation():
    # 1 % missed slots (fixed law): share of produced blocks per slot = 0.99 +- 5 sd (sd = sqrt(.99*.01/n)).
    led = DistributedLedger(preset("proof_of_stake"), np.random.default_rng(2))
    led._block_after(12.0 * 200_000)
    n_slots = led._slot
    assert abs(len(led.block_s) / n_slots - 0.99) < 5 * np.sqrt(0.99 * 0.01 / n_slots)
    with pytest.raises(ValueError, match="time order"):
        DistributedLedger(preset("authority"), np.random.default_rng(0)).submit(np.array([5.0, 1.0]))
    with pytest.raises(ValueError, match="no slot"):
        LedgerParams(block_interval_s=1.0, block_capacity_tx=1, background_share=0.5)
    with pytest.raises(ValueError, match="unknown"):
        preset("proof_of_space")
