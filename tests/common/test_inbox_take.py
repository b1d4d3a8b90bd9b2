"""Inbox.take's batch-as-is path against the reference rule (stable sort by due tick).

The reference below is the rule the inbox documents (and the code before the
batch-as-is path): concatenate the staged records in push order, keep those due,
sort them stably by ``due_ms`` and cut one batch per tick.
"""

from __future__ import annotations

import numpy as np

from simulators.common.inbox import Inbox, handover_records
from simulators.common.messages import empty


def _reference(parts: list[np.ndarray], now_ms: int):
    rec = np.concatenate(parts)
    due = rec[rec["due_ms"] <= now_ms]
    due = due[np.argsort(due["due_ms"], kind="stable")]
    rest = rec[rec["due_ms"] > now_ms]
    return [(int(t), due["msg"][due["due_ms"] == t]) for t in np.unique(due["due_ms"])], rest


def test_take_equals_the_stable_sort_rule_for_single_and_mixed_batches():
    rng = np.random.default_rng(11)
    box, staged, next_id = Inbox(), [], 0
    for step in range(60):
        for _ in range(rng.integers(0, 4)):
            n = int(rng.integers(1, 6))
            m = empty(n)
            m["msg_id"] = np.arange(next_id, next_id + n)
            next_id += n
            # most batches hold one due tick (the ICT's usual hand-over), some several
            due = np.full(n, step + rng.integers(0, 3)) if rng.random() < 0.7 else step + rng.integers(0, 3, n)
            rec = handover_records(m, due * 100)
            box.push(rec)
            staged.append(rec)
        now = int(step * 100 + rng.integers(-50, 50))
        want, rest = _reference(staged, now) if staged else ([], np.zeros(0))
        got = box.take(now)
        assert [t for t, _ in got] == [t for t, _ in want]
        for (_, g), (_, w) in zip(got, want):
            assert g["msg_id"].tolist() == w["msg_id"].tolist() and g.flags.c_contiguous
        staged = [rest] if len(rest) else []
        assert len(box) == len(rest)
