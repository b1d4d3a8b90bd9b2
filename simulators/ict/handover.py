"""When the ICT model hands a delivered message to its receiver.

A message *arrives* at ``arrival_ms`` (exact, recorded in the log). Most
receivers act only at fixed decision points, which each declares itself
(its adapter's ``decision_schedule``: households at the start of each
interval, the market at gate closure, the coordinator at its activation lead
time). Handing a message over at every distinct arrival millisecond would
make mosaik schedule a world step per arrival (thousands per interval)
without changing any outcome, so a receiver class with a declared schedule
gets its messages at its next decision point at or after arrival. The path
from the ICT output to a receiver is a time-shifted connection of
:data:`~simulators.common.contract.HOP_TICKS`, so the output leaves that many
ticks before the decision point and lands exactly on it. Receivers still see
the exact ``arrival_ms``, and a message arriving after a deadline is still
late. Classes without a schedule get every message at its arrival tick.
"""

from __future__ import annotations

import numpy as np

from simulators.common.contract import HOP_TICKS


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

    cls = np.full(len(r), -1, dtype=np.int8)
    cls[r >= 0] = 1
    cls[(r == MARKET) | (r == DSO)] = 0
    cls[(r == TSO) | (r == COORDINATOR)] = 2
    cls[r <= AGGREGATOR_BASE] = 3
    return cls


def log_records(finished: np.ndarray, forged: np.ndarray) -> np.ndarray:
    """Log records of finished messages (delivered, lost or dropped).

    ``latency_ms`` is arrival minus send time, NaN for messages that never
    arrived.
    """
    rec = np.zeros(len(finished), dtype=LOG_DTYPE)
    for f in ("msg_id", "kind", "sender", "receiver", "send_ms", "arrival_ms", "status"):
        rec[f] = finished[f]
    ok = finished["arrival_ms"] >= 0
    rec["latency_ms"] = np.where(ok, finished["arrival_ms"] - finished["send_ms"], np.nan)
    rec["forged"] = np.asarray(forged, dtype=bool)
    return rec
