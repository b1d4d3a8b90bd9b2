"""The batched keyed BLAKE2b against hashlib's (the reference implementation, RFC 7693)."""

import hashlib

import numpy as np
import pytest

from simulators.common import blake2b
from simulators.common import messages as msgs
from simulators.common.auth import _FIELDS, KeyRing, verify


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
    forged, replayed = verify(o, ring, set())
    assert np.flatnonzero(forged).tolist() == [3, 7, 9, 11]
    assert not replayed.any()


def test_replays_rejected_across_and_within_batches():
    # hand-made: same expectations as the per-message loop this replaced
    ring = KeyRing(b"r" * 32)
    o = ring.sign(_orders(6))
    seen: set[int] = set()
    batch = np.concatenate([o[:3], o[1:2]])  # order 1 twice in one batch
    forged, replayed = verify(batch, ring, seen)
    assert not forged.any() and replayed.tolist() == [False, False, False, True]
    again = np.concatenate([o[2:4], o[3:4]])  # order 2 replayed from before, 3 new, then 3 again
    again["quantity_mwh"][2] += 1.0  # the second copy of 3 is altered: forged, not a replay
    forged, replayed = verify(again, ring, seen)
    assert forged.tolist() == [False, False, True] and replayed.tolist() == [True, False, False]
    assert seen == set(o["msg_id"][:4].tolist())
