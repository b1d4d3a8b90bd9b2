"""The receivers' inbox (simulators/common/inbox.py) and the ICT's held log (simulators/ict/handover.py).

Expected values are hand-worked from the push order: a triggered receiver got
one batch per tick, in the order the ICT handed the messages over; the ICT
appended lost/dropped records before handed-over ones at each step, in the
order it received the messages.
"""

from __future__ import annotations

import numpy as np

from simulators.common.inbox import HANDOVER_DTYPE, Inbox, handover_records
from simulators.common.messages import empty
from simulators.ict.handover import LOG_DTYPE, FinishedLog


def _batch(ids, due):
    m = empty(len(ids))
    m["msg_id"] = ids
    return handover_records(m, np.asarray(due))


def test_take_gives_one_batch_per_due_tick_in_push_order_and_keeps_the_rest():
    box = Inbox()
    box.push(None)
    box.push(_batch([], []))
    box.push(_batch([1, 2, 3], [600, 900, 600]))
    box.push(_batch([4, 5], [900, 600]))
    assert len(box) == 5
    assert box.take(599) == []
    got = box.take(600)
    assert [(t, b["msg_id"].tolist()) for t, b in got] == [(600, [1, 3, 5])]
    assert len(box) == 2
    box.push(_batch([6], [700]))
    got = box.take(10**9)
    assert [(t, b["msg_id"].tolist()) for t, b in got] == [(700, [6]), (900, [2, 4])]
    assert len(box) == 0 and box.take(10**9) == []
    assert got[0][1].dtype == HANDOVER_DTYPE["msg"]  # plain messages, as before


def test_finished_log_orders_by_time_then_lost_before_delivered_then_receipt():
    log = FinishedLog()
    rec = np.zeros(5, dtype=LOG_DTYPE)
    rec["msg_id"] = [10, 11, 12, 13, 14]
    log.add(rec[:2], np.array([500, 200]), 1, np.array([0, 1]))  # handed over at 500 and 200
    log.add(rec[2:3], 200, 0, np.array([2]))  # lost, logged at receipt (200)
    log.add(rec[3:], np.array([500, 500]), 1, np.array([3, 4]))
    assert log.next_ms() == 200
    assert log.take(199).size == 0
    assert log.take(200)["msg_id"].tolist() == [12, 11]
    assert log.next_ms() == 500
    assert log.take(900)["msg_id"].tolist() == [10, 13, 14]
    assert log.next_ms() is None
