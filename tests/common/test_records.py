"""Raw-byte copies of record arrays (simulators/common/records.py).

Expected values: numpy's own structured-array operations on the same input
(copy, ``np.concatenate``, boolean and index selection); the comparison is
exact, byte for byte, and includes the dtype.
"""

from __future__ import annotations

import numpy as np

from simulators.common import records
from simulators.common.inbox import HANDOVER_DTYPE, handover_records
from simulators.common.messages import MESSAGE_DTYPE, concat, empty
from simulators.ict.handover import LOG_DTYPE, log_records


def _messages(n, seed=0):
    rng = np.random.default_rng(seed)
    m = empty(n)
    for f in MESSAGE_DTYPE.names:
        t = MESSAGE_DTYPE[f]
        if t.kind == "f":
            m[f] = rng.normal(size=n)
        else:
            info = np.iinfo(t)
            m[f] = rng.integers(info.min, info.max, n, dtype=t, endpoint=True)
    return m


def _same(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def test_copy_concat_select_equal_numpys_own_operations_byte_for_byte():
    a, b = _messages(37, 1), _messages(5, 2)
    mask = np.random.default_rng(3).random(37) < 0.5
    idx = np.array([4, 0, 36, 4, 17])
    _same(records.copy(a), a.copy())
    _same(records.concat([a, b]), np.concatenate([a, b]))
    _same(records.concat([a]), np.concatenate([a]))
    _same(records.select(a, mask), a[mask])
    _same(records.select(a, idx), a[idx])
    _same(concat([None, a, empty(0), b]), np.concatenate([a, b]))
    assert not np.shares_memory(records.concat([a]), a) and not np.shares_memory(records.copy(a), a)
    # a strided view (one field of a wider record) and a hand-over record array
    h = handover_records(a, np.arange(37))
    _same(records.select(h["msg"], idx), h["msg"][idx])
    _same(records.concat([h, h[:3]]), np.concatenate([h, h[:3]]))


def test_mixed_or_plain_dtypes_take_numpys_path():
    x = np.arange(4.0)
    _same(records.concat([x, x]), np.concatenate([x, x]))
    _same(records.concat([[1.0, 2.0], x]), np.concatenate([[1.0, 2.0], x]))  # a list, as np.concatenate
    _same(records.select(x, x > 1), x[x > 1])
    wide = np.zeros(2, dtype=[("msg_id", np.int64), ("kind", np.int8)])
    _same(records.concat([wide, wide.astype([("msg_id", np.int64), ("kind", np.int16)])]),
          np.concatenate([wide, wide.astype([("msg_id", np.int64), ("kind", np.int16)])]))


def test_handover_records_equal_the_field_copy():
    m = _messages(11, 4)
    ref = np.empty(11, dtype=HANDOVER_DTYPE)
    ref["msg"] = m
    ref["due_ms"] = np.arange(11)
    _same(handover_records(m, np.arange(11)), ref)


def test_log_records_by_index_equal_the_records_of_the_selection():
    m = _messages(23, 5)
    m["arrival_ms"][::3] = -1  # never arrived: latency NaN
    forged = np.arange(23) % 4 == 0
    idx = np.array([1, 3, 6, 22, 9])
    got = log_records(m, forged, idx)
    _same(got, log_records(m[idx], forged[idx]))
    assert got.dtype == LOG_DTYPE
    assert np.isnan(got["latency_ms"][[1, 2, 4]]).all() and got["forged"].tolist() == [False, False, False, False, False]


def test_project_equals_field_by_field_assignment_of_the_shared_fields():
    m = _messages(29, 6)
    idx = np.array([28, 0, 5, 5, 13])
    dst = np.dtype([("receiver", np.int32), ("zzz", np.float64), ("msg_id", np.int64), ("kind", np.int8),
                    ("sender", np.int64)])  # sender: another type, not shared; zzz: not in messages
    for which in (None, idx, m["side"] > 0):
        sel = m if which is None else m[which]
        ref = np.zeros(len(sel), dtype=dst)
        for f in ("receiver", "msg_id", "kind"):
            ref[f] = sel[f]
        _same(records.project(m, dst, which), ref)
    # a log record's fields from a message: two runs of adjacent fields
    log = records.project(m, LOG_DTYPE, idx)
    for f in ("msg_id", "kind", "sender", "receiver", "send_ms", "arrival_ms", "status"):
        assert np.array_equal(log[f], m[f][idx])
    assert not log["forged"].any() and (log["latency_ms"] == 0).all()
    _same(records.project(m[:0], LOG_DTYPE), np.zeros(0, dtype=LOG_DTYPE))
