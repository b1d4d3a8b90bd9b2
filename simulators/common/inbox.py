"""Messages handed over ahead of time, held until their receiver's step is due.

The ICT model hands a delivered message over when it receives it, with the
tick at which the receiver may act on it (``due_ms``: its next decision point
at or after arrival, see ``simulators/ict/handover.py``). The orchestrator
connects that output to the receiver without a trigger and with
:meth:`Inbox.push` as the connection's ``transform``, which mosaik calls at
every push; so the messages wait here instead of in a separate ICT step just
before the decision point. The receiver takes, at each of its own steps, the
batches whose ``due_ms`` has come (:meth:`Inbox.take`): one batch per
distinct ``due_ms``, in ascending order, each in the order the messages were
handed over, which is the batch a triggered receiver would have got at that
tick.
"""

from __future__ import annotations

import numpy as np

from .messages import MESSAGE_DTYPE
from .records import concat, copy, raw

#: One handed-over message: the tick it is due at the receiver [ms] and the message.
HANDOVER_DTYPE = np.dtype([("due_ms", np.int64), ("msg", MESSAGE_DTYPE)])


def handover_records(messages: np.ndarray, due_ms: np.ndarray) -> np.ndarray:
    """Wrap ``messages`` with the times they are due at their receiver [ms]."""
    rec = np.empty(len(messages), dtype=HANDOVER_DTYPE)
    if messages.dtype == MESSAGE_DTYPE:
        raw(rec["msg"])[...] = raw(messages)  # the same bytes as the field copy below, 10x faster
    else:
        rec["msg"] = messages
    rec["due_ms"] = due_ms
    return rec


class Inbox:
    """Handed-over messages of one receiver, kept until due."""

    def __init__(self) -> None:
        self._parts: list[np.ndarray] = []

    def push(self, records: np.ndarray | None) -> None:
        """Stage a batch of :data:`HANDOVER_DTYPE` records (None or empty: nothing).

        Returns None, which is what the receiver's input then carries.
        """
        if records is not None and len(records):
            self._parts.append(records)

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)

    def take(self, now_ms: int) -> list[tuple[int, np.ndarray]]:
        """Remove and return ``[(due_ms, messages), ...]`` of every batch due at or before ``now_ms``.

        The result holds, per distinct ``due_ms`` in ascending order, the
        messages in push order. When every staged batch that is due holds one
        ``due_ms`` (what the ICT hands over at one step for one decision point),
        the batches go out as they are, without a concatenation and a sort.
        """
        if not self._parts:
            return []
        due_recs: list[np.ndarray] = []  # due records, in push order
        single = True  # every due batch holds one due_ms
        keep: list[np.ndarray] = []
        for rec in self._parts:
            d = rec["due_ms"]
            if d.min() > now_ms:
                keep.append(rec)
                continue
            if d.max() > now_ms:
                due = d <= now_ms
                keep.append(rec[~due])
                rec = rec[due]
                d = rec["due_ms"]
            single = single and d.min() == d.max()
            due_recs.append(rec)
        self._parts = keep
        if not due_recs:
            return []
        if single:
            groups: dict[int, list[np.ndarray]] = {}
            for rec in due_recs:
                groups.setdefault(int(rec["due_ms"][0]), []).append(rec["msg"])
            return [(t, copy(g[0]) if len(g) == 1 else concat(g)) for t, g in sorted(groups.items())]
        rec = due_recs[0] if len(due_recs) == 1 else concat(due_recs)
        rec = rec[np.argsort(rec["due_ms"], kind="stable")]
        times, starts = np.unique(rec["due_ms"], return_index=True)
        ends = np.r_[starts[1:], len(rec)]
        return [(int(t), copy(rec["msg"][a:b])) for t, a, b in zip(times, starts, ends)]
