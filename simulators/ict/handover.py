"""When the ICT model hands a delivered message to its receiver.

A message *arrives* at ``arrival_ms`` (exact, recorded in the log). The
receivers of this testbed act only at fixed decision points: households at
the start of each interval, the market at gate closure, the coordinator at
its activation lead time. Handing a message over at every distinct arrival
millisecond would make mosaik schedule a world step per arrival (thousands
per interval) without changing any outcome, so a receiver class with a
known decision schedule gets its messages at its next decision point at or
after arrival, one tick early so that the time-shifted connection lands it
exactly on that point. Receivers still see the exact ``arrival_ms``, and a
message arriving after a deadline is still late. Classes without a schedule
get every message at its arrival tick.
"""

from __future__ import annotations

import numpy as np


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
    messages of other classes are handed over at their arrival time.
    """
    due = np.asarray(arrival_ms, dtype=np.int64).copy()
    for cls, (period_s, offsets) in schedules.items():
        sel = receiver_class == cls
        if sel.any():
            due[sel] = next_decision_ms(due[sel], period_s, offsets) - int(round(tick_ms))
    return np.maximum(due, now_ms)
