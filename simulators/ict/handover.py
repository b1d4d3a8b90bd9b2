"""When the ICT model hands a delivered message to its receiver.

A message *arrives* at ``arrival_ms`` (exact, recorded in the log). Most
receivers act only at fixed decision points, which each declares itself
(its adapter's ``decision_schedule``: households at the start of each
interval, the market at gate closure, the coordinator at its activation lead
time). Handing a message over at every distinct arrival millisecond would
make mosaik schedule a world step per arrival (thousands per interval)
without changing any outcome, so a receiver class with a declared schedule
gets its messages at its next decision point at or after arrival
(:func:`handover_ms` gives that point less
:data:`~simulators.common.contract.HOP_TICKS`, the one-tick hop into the
receiver). The ICT hands such messages over at receipt, each with the tick
it is due at the receiver (:data:`~simulators.common.inbox.HANDOVER_DTYPE`),
so it takes no step of its own before each decision point; the receiver's
inbox holds them until then. Receivers still see the exact ``arrival_ms``,
and a message arriving after a deadline is still late. Classes without a
schedule get every message at its arrival tick.

The message log and the delivery counters keep the hand-over time: a
message counts as delivered, and its log record is written, at the time
:func:`handover_ms` gives (:class:`FinishedLog`), so ``/events/messages``
and the counters the recorder samples are the same as if the ICT stepped
at every hand-over.
"""

from __future__ import annotations

import numpy as np

from simulators.common import records
from simulators.common.contract import HOP_TICKS
from simulators.common.inbox import handover_records


def next_decision_ms(arrival_ms: np.ndarray, period_s: int, offsets_s: list[int]) -> np.ndarray:
    """Earliest decision time ``k*period + offset >= arrival`` [ms].

    Parameters
    ----------
    arrival_ms : np.ndarray
        Arrival times [ms].
    period_s : int
        Period of the receiver's decisions [s].
    offsets_s : list of int
        Offsets of the decisions within a period [s], taken modulo the period.
    """
    a = np.asarray(arrival_ms, dtype=np.int64)
    period = int(period_s) * 1000
    best = np.full(a.shape, np.iinfo(np.int64).max)
    for off in offsets_s:
        o = (int(off) * 1000) % period
        k = -((o - a) // period)  # ceil((a - o) / period)
        best = np.minimum(best, k * period + o)
    return best


def handover_ms(arrival_ms: np.ndarray, receiver_class: np.ndarray, schedules: dict[int, tuple[int, list[int]]],
                now_ms: int, tick_ms: float = 1.0) -> np.ndarray:
    """Time at which to output each message [ms] (never before ``now_ms``).

    ``schedules`` maps a receiver-class code to ``(period_s, offsets_s)``;
    messages of other classes are handed over at their arrival time. ``tick_ms``
    is the length of one tick [ms]: a scheduled message leaves
    :data:`~simulators.common.contract.HOP_TICKS` ticks before the decision point.
    """
    due = np.asarray(arrival_ms, dtype=np.int64).copy()
    for cls, (period_s, offsets) in schedules.items():
        sel = receiver_class == cls
        if sel.any():
            due[sel] = next_decision_ms(due[sel], period_s, offsets) - int(round(HOP_TICKS * tick_ms))
    return np.maximum(due, now_ms)


#: Output attribute per receiver class, in class-code order.
MSG_OUT = ["to_market", "to_households", "to_coordinator", "to_aggregators"]

#: Message log record (``/events/messages``).
LOG_DTYPE = np.dtype([
    ("msg_id", np.int64), ("kind", np.int8), ("sender", np.int32), ("receiver", np.int32),
    ("send_ms", np.int64), ("arrival_ms", np.int64), ("status", np.int8),
    ("latency_ms", np.float64), ("forged", np.bool_),
])


def receiver_class(r: np.ndarray) -> np.ndarray:
    """Index into :data:`MSG_OUT` per receiver id, -1 for other receivers.

    0 market/DSO, 1 households (ids >= 0), 2 TSO/coordinator, 3 aggregators.
    """
    from simulators.common.messages import AGGREGATOR_BASE, COORDINATOR, DSO, MARKET, TSO

    r = np.ascontiguousarray(r)  # a message field is strided: five passes over it cost 6x more
    cls = np.full(len(r), -1, dtype=np.int8)
    cls[r >= 0] = 1
    cls[(r == MARKET) | (r == DSO)] = 0
    cls[(r == TSO) | (r == COORDINATOR)] = 2
    cls[r <= AGGREGATOR_BASE] = 3
    return cls


def staged_handover(sent: np.ndarray, idx: np.ndarray, cls: np.ndarray, schedules: dict[int, tuple[int, list[int]]],
                    now_ms: int, tick_ms: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hand-over records of the messages ``sent[idx]`` of receivers with a schedule.

    ``cls`` is the receiver class of every message in ``sent``. Returns
    ``(rec, bounds, hand_ms)``: :data:`~simulators.common.inbox.HANDOVER_DTYPE`
    records grouped by class, in the order received within a class (class
    ``c`` is ``rec[bounds[c]:bounds[c + 1]]``), each due one hop after its
    hand-over time; and the hand-over time of each message of ``idx`` [ms].
    """
    c = cls[idx]
    hand = handover_ms(sent["arrival_ms"][idx], c, schedules, now_ms, tick_ms)
    order = np.argsort(c, kind="stable")
    rec = handover_records(records.select(sent, idx[order]), hand[order] + int(round(HOP_TICKS * tick_ms)))
    return rec, np.searchsorted(c[order], np.arange(len(MSG_OUT) + 1)), hand


def log_records(finished: np.ndarray, forged: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
    """Log records of finished messages (delivered, lost or dropped).

    ``latency_ms`` is arrival minus send time, NaN for messages that never
    arrived. With ``index`` (positions in ``finished``), the records of
    ``finished[index]`` flagged ``forged[index]``, without copying those
    messages first.
    """
    rec = records.project(finished, LOG_DTYPE, index)  # every field but latency_ms and forged
    arrival = rec["arrival_ms"]
    rec["latency_ms"] = np.where(arrival >= 0, arrival - rec["send_ms"], np.nan)
    rec["forged"] = np.asarray(forged if index is None else np.asarray(forged)[index], dtype=bool)
    return rec


def finished_counts(done: np.ndarray) -> dict[str, int]:
    """Increments of the ICT's running totals for finished messages' log records."""
    from simulators.common.messages import Status

    n = np.bincount(done["status"].view(np.uint8), minlength=len(Status))
    return {"delivered_total": int((done["arrival_ms"] >= 0).sum()), "lost_total": int(n[Status.LOST]),
            "dropped_outage_total": int(n[Status.DROPPED_OUTAGE]), "late_total": int(n[Status.LATE])}


class FinishedLog:
    """Log records of finished messages, each held until the time it is logged at [ms].

    A record is ``(at_ms, group, seq)``-ordered when taken: by logging time,
    then lost/dropped (group 0) before handed over (group 1), then the order
    the ICT received the messages in (``seq``). That is the order a step at
    every logging time would have appended them in. ``seq`` is unique per
    message, so that order is total and does not depend on how the records
    are held.

    The records are held in the parts they were added in, each with its
    earliest and latest logging time, so :meth:`take` touches only the parts
    that have records due and sorts only those records.
    """

    def __init__(self) -> None:
        # (records, at_ms, group, seq, earliest at_ms, latest at_ms)
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]] = []

    def add(self, records: np.ndarray, at_ms, group: int, seq: np.ndarray) -> None:
        """Hold ``records`` (:data:`LOG_DTYPE`) until ``at_ms`` (scalar or per record)."""
        if len(records):
            n = len(records)
            at = np.broadcast_to(np.asarray(at_ms, dtype=np.int64), (n,))
            self._parts.append((records, at, np.full(n, group, dtype=np.int8), np.asarray(seq, dtype=np.int64),
                                int(at.min()), int(at.max())))

    def next_ms(self) -> int | None:
        """Earliest logging time held [ms], or None."""
        return min(p[4] for p in self._parts) if self._parts else None

    def take(self, now_ms: int) -> np.ndarray:
        """Remove and return the records logged at or before ``now_ms``, in log order."""
        due_parts, kept = [], []
        for part in self._parts:
            if part[4] > now_ms:
                kept.append(part)
            elif part[5] <= now_ms:
                due_parts.append(part[:4])
            else:
                due = part[1] <= now_ms
                due_parts.append(_subset(part, due))
                rest = _subset(part, ~due)
                kept.append((*rest, int(rest[1].min()), int(rest[1].max())))
        self._parts = kept
        if not due_parts:
            return np.zeros(0, dtype=LOG_DTYPE)
        rec = records.concat([p[0] for p in due_parts])
        at, grp, seq = (np.concatenate([p[i] for p in due_parts]) for i in (1, 2, 3))
        return records.select(rec, np.lexsort((seq, grp, at)))


def _subset(part: tuple, which: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Records, logging times, groups and seqs of one held part where ``which`` is True."""
    return records.select(part[0], which), part[1][which], part[2][which], part[3][which]
