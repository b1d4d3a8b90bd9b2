"""The batched keyed BLAKE2b against hashlib's (the reference implementation, RFC 7693)."""

import hashlib

import numpy as np
import pytest

from simulators.common import blake2b
from simulators.common import messages as msgs
from simulators.common.auth import _FIELDS, KeyRing, SeenIds, verify


def _hashlib_tags(ring: KeyRing, orders: np.ndarray) -> np.ndarray:
    """One hashlib call per message: the construction the batch must reproduce exactly."""
    packed = np.empty(len(orders), dtype=[(f, orders.dtype[f]) for f in _FIELDS])
    for f in _FIELDS:
        packed[f] = orders[f]
    out = np.array([int.from_bytes(hashlib.blake2b(packed[i].tobytes(), key=ring.key(int(s)),
                                                   digest_size=8).digest(), "little")
                    for i, s in enumerate(orders["sender"].tolist())], dtype=np.uint64)
    out[out == 0] = 1
    return out


def _orders(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    o = msgs.empty(n)
    o["sender"] = rng.integers(-120, 300, n)
    o["msg_id"] = msgs.make_ids(o["sender"], np.arange(n))
    o["kind"] = rng.integers(1, 5, n)
    o["bus"] = rng.integers(0, 50, n)
    o["interval_s"] = rng.integers(0, 10**7, n)
    o["side"] = rng.choice([-1, 1], n)
    o["quantity_mwh"] = rng.random(n)
    o["price_eur_per_mwh"] = rng.normal(80, 30, n)
    o["send_ms"] = rng.integers(0, 10**9, n)
    return o


@pytest.mark.parametrize("key_len", [1, 32, 64])
def test_one_block_matches_hashlib(key_len):
    # exact equality with hashlib.blake2b for messages of 1-128 bytes
    rng = np.random.default_rng(key_len)
    key = rng.bytes(key_len)
    states = blake2b.keyed_states([key])
    for size in (1, 50, 127, 128):
        n = 5
        raw = rng.bytes(n * size)
        got = blake2b.tags(states, np.zeros(n, dtype=np.int64), raw, n, size)
        want = [int.from_bytes(hashlib.blake2b(raw[i * size:(i + 1) * size], key=key, digest_size=8).digest(),
                               "little") for i in range(n)]
        assert got.tolist() == want


def test_batch_tags_equal_per_message_hashlib():
    # bit-for-bit: the batch gives hashlib's tags, for senders seen first in later batches too
    ring = KeyRing(b"k" * 32)
    for seed in (1, 2):
        o = _orders(400, seed)
        assert np.array_equal(ring.tags(o), _hashlib_tags(ring, o))


def test_altered_or_foreign_order_is_rejected():
    ring, other = KeyRing(b"a" * 32), KeyRing(b"b" * 32)
    o = ring.sign(_orders(200))
    o["quantity_mwh"][3] += 1e-12  # one altered field
    o["tag"][7] = other.tags(o[7:8])[0]  # signed with a foreign key
    o["tag"][9] = 0  # unsigned
    o["sender"][11] = o["sender"][11] + 1  # posing as another agent
    forged, replayed = verify(o, ring, SeenIds())
    assert np.flatnonzero(forged).tolist() == [3, 7, 9, 11]
    assert not replayed.any()


def test_replays_rejected_across_and_within_batches():
    # hand-made: same expectations as the per-message loop this replaced
    ring = KeyRing(b"r" * 32)
    o = ring.sign(_orders(6))
    seen = SeenIds()
    batch = np.concatenate([o[:3], o[1:2]])  # order 1 twice in one batch
    forged, replayed = verify(batch, ring, seen)
    assert not forged.any() and replayed.tolist() == [False, False, False, True]
    again = np.concatenate([o[2:4], o[3:4]])  # order 2 replayed from before, 3 new, then 3 again
    again["quantity_mwh"][2] += 1.0  # the second copy of 3 is altered: forged, not a replay
    forged, replayed = verify(again, ring, seen)
    assert forged.tolist() == [False, False, True] and replayed.tolist() == [True, False, False]
    assert seen.to_set() == set(o["msg_id"][:4].tolist())


def test_strided_records_and_wide_sender_range_match_hashlib():
    # a field view of wider records (as the inbox hands messages over) is tagged like a packed copy;
    # a sender set wider than the lookup table's span takes the binary search, same tags
    from simulators.common.inbox import handover_records

    o = _orders(300, seed=3)
    view = handover_records(o, np.zeros(len(o), dtype=np.int64))["msg"]
    assert not view.flags.c_contiguous
    ring = KeyRing(b"s" * 32)
    assert np.array_equal(ring.tags(view), _hashlib_tags(ring, o))
    wide = KeyRing(b"s" * 32)
    wide.TABLE_SPAN = 100  # the test senders span 420 ids
    assert np.array_equal(wide.tags(o), _hashlib_tags(ring, o))
    assert len(wide._table) == 0


def _verify_with_set(orders, ring, seen: set):
    """The per-message reference: a Python set of accepted ids, batch order decides duplicates."""
    good = orders["tag"] == ring.tags(orders)
    replayed = np.zeros(len(orders), dtype=bool)
    for i in np.flatnonzero(good):
        m = int(orders["msg_id"][i])
        replayed[i] = m in seen
        seen.add(m)
    return ~good, replayed


def test_seen_ids_equal_a_python_set_over_many_batches():
    # random batches with replays from earlier batches, duplicates within a batch and forged copies;
    # 40 batches make the sorted runs merge several times
    rng = np.random.default_rng(7)
    ring = KeyRing(b"q" * 32)
    pool = ring.sign(_orders(3000, seed=5))
    seen, ref = SeenIds(), set()
    for _ in range(40):
        batch = pool[rng.integers(0, len(pool), rng.integers(0, 200))].copy()
        batch["tag"][rng.random(len(batch)) < 0.05] ^= np.uint64(1)
        got, want = verify(batch, ring, seen), _verify_with_set(batch, ring, ref)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        assert len(seen) == len(ref)
    assert seen.to_set() == ref
    runs = [len(r) for r in seen._runs]  # each run more than twice the next: at most log2(N) + 1 runs
    assert all(a > 2 * b for a, b in zip(runs, runs[1:])) and len(runs) <= np.log2(len(ref)) + 1
    some = next(iter(ref))
    assert some in seen and -5 not in seen


def test_seen_ids_answer_as_a_python_set_does():
    # reference: a Python set; ids shaped as make_ids makes them (sender-major blocks), plus
    # random ones, queries sorted, unsorted and with duplicates, runs merged as the set grows
    from simulators.common.messages import make_ids

    rng = np.random.default_rng(8)
    seen, ref = SeenIds(), set()
    for gate in range(60):
        n = int(rng.integers(0, 400))
        fresh = make_ids(rng.integers(-3, 300, n), gate * 10 + rng.integers(0, 10, n))
        fresh = np.concatenate([fresh, rng.integers(-(1 << 62), 1 << 62, int(rng.integers(0, 5)))])
        query = np.concatenate([fresh, rng.choice(np.array(sorted(ref) or [0], dtype=np.int64), 50)])
        if gate % 3:
            query = np.sort(query)
        expect = np.array([q in ref for q in query.tolist()], dtype=bool)
        assert np.array_equal(seen.contains(query), expect)
        new = np.unique(fresh[~np.isin(fresh, np.array(sorted(ref), dtype=np.int64))])
        seen.add_sorted(new)
        ref |= set(new.tolist())
        assert seen.to_set() == ref
        assert all(np.all(r[1:] > r[:-1]) for r in seen._runs)
    assert len(seen._runs) <= int(np.log2(len(ref))) + 1


@pytest.mark.parametrize("window", [1, 2, 5])
def test_seen_ids_with_a_window_answer_as_the_set_of_the_last_batches(window):
    # reference: a Python set of the ids of the last `window` batches added (brute force);
    # queries mix ids of recent batches, of batches that fell out of the window, and new ones
    from simulators.common.messages import make_ids

    rng = np.random.default_rng(9 + window)
    seen, batches = SeenIds(window=window), []
    for gate in range(40):
        added = set().union(*batches[-window:]) if batches else set()
        older = set().union(*batches[:-window]) if len(batches) > window else set()
        fresh = np.unique(make_ids(rng.integers(0, 500, int(rng.integers(0, 300))), gate))
        pool = np.array(sorted(added | older) or [0], dtype=np.int64)
        query = np.concatenate([fresh, rng.choice(pool, 80)])
        expect = np.array([q in added for q in query.tolist()], dtype=bool)
        assert np.array_equal(seen.contains(query), expect), gate
        new = fresh[~np.isin(fresh, np.array(sorted(added), dtype=np.int64))]
        seen.add_sorted(new)
        if len(new):
            batches.append(set(new.tolist()))
        assert seen.to_set() == (set().union(*batches[-window:]) if batches else set())
        assert len(seen._runs) <= window


def test_seen_ids_window_must_be_positive():
    with pytest.raises(ValueError, match="window must be at least 1"):
        SeenIds(window=0)
