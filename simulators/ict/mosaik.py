"""mosaik adapter of the ICT network: event-driven (mosaik type "hybrid"), 1 tick = 1 ms.

Each step runs the model on the messages that arrived on ``messages_in`` (plus
forged injections due now). Messages for a receiver with a decision schedule
(``schedules``) are handed over at once, each with the tick it is due there
(:mod:`.handover`, :data:`~simulators.common.inbox.HANDOVER_DTYPE`); others at
their arrival tick. ``arrival_ms`` stays exact; a message sent before mosaik
handed it to us cannot arrive before the current tick. ``events_messages``
(the log, :data:`LOG_DTYPE`) is released at the first step on an interval
boundary. The persistent counters are running totals since the start, exact
whenever the recorder samples them (at interval boundaries; a delivery counts
from its hand-over time): ``sent_total`` (incl. forged), ``delivered_total``
(incl. LATE), ``lost_total``, ``dropped_outage_total``, ``late_total``,
``forged_total``. Latency percentiles come from the log."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from simulators.common import messages as msgs
from simulators.common.adapter import Adapter, Attr
from simulators.common.records import concat as concat_records
from simulators.common.records import select

from .handover import LOG_DTYPE, MSG_OUT, FinishedLog, finished_counts, log_records, receiver_class, staged_handover
from .model import IctNetwork

log = logging.getLogger(__name__)

COUNTERS = {"sent_total": "messages sent, forged included", "delivered_total": "messages delivered, late included",
            "lost_total": "messages lost", "dropped_outage_total": "messages dropped by a link outage",
            "late_total": "messages delivered after their deadline", "forged_total": "forged messages injected"}
_TO = {"to_market": "market operator and DSO", "to_households": "households",
       "to_coordinator": "TSO and coordinator", "to_aggregators": "aggregators"}

ATTRS = (
    Attr("messages_in", "", "", "messages of every sender", "trigger"),
    *(Attr(name, "", "", f"delivered messages for the {_TO[name]}", "output") for name in MSG_OUT),
    Attr("events_messages", "", "", "one record per finished message (delivered, lost, dropped)", "event"),
    *(Attr(name, "1", "", f"running total: {text}") for name, text in COUNTERS.items()),
)


class IctSim(Adapter):
    """The ICT network as one mosaik entity ``Network``."""

    MODEL = "Network"
    # "hybrid" is mosaik 3's name for an event-driven simulator whose inputs are
    # not all triggers / outputs not all events: it steps only when triggered by
    # messages_in or at the time it asked for, exactly like "event-based".
    TYPE = "hybrid"
    ATTRS = ATTRS

    def __init__(self):
        super().__init__()
        self._pending = msgs.concat([])
        self._pending_forged = np.zeros(0, dtype=bool)
        self._pending_seq = np.zeros(0, dtype=np.int64)
        self._seq = 0
        self._finished = FinishedLog()
        self._log: list[np.ndarray] = []
        self._counters = {k: 0 for k in COUNTERS}
        self._bus = np.zeros(0, dtype=np.int64)

    def setup(self, config=None, grid=None, start=None, step_s=900, n_steps=1, seed=0, households=None,
              n_households=None, schedules=None, **_ignored) -> None:
        """``schedules``: ``{ict output: receiver's decision_schedule() or None}``."""
        self._schedules = {MSG_OUT.index(k): (int(v["period_s"]), [int(o) for o in v["offsets_s"]])
                           for k, v in (schedules or {}).items() if v is not None}
        self._staged = np.zeros(len(MSG_OUT) + 1, dtype=bool)  # by receiver class + 1: has a schedule
        self._staged[[code + 1 for code in self._schedules]] = True
        if households is not None and "feeder" in households:
            bus = np.asarray(households["bus"], dtype=np.int64)
            feeder = np.asarray(households["feeder"], dtype=np.int64)
        elif households is not None:  # buses only: feeders from the net's topology
            from simulators.common.netdata import load_net

            from .topology import derive_feeders

            bus = np.asarray(households["bus"], dtype=np.int64)
            feeder = derive_feeders(load_net(grid), bus)
        else:
            feeder, bus = self._feeders_from_net(grid, n_households)
        if n_households is not None and len(feeder) != n_households:
            raise ValueError(f"n_households={n_households} but {len(feeder)} households given")
        self._bus = bus
        horizon_ms = (n_steps + 1) * step_s * 1e3
        self._step_ticks = self.ticks(step_s)
        self.net = IctNetwork(config, feeder, seed, horizon_ms)

    @staticmethod
    def _feeders_from_net(grid, n_households):
        """Households = the first ``n_households`` rows of ``net.load``; feeders from the topology."""
        from simulators.common.netdata import load_net

        from .topology import derive_feeders

        net = load_net(grid)
        n = len(net.load) if n_households is None else int(n_households)
        if n > len(net.load):
            raise ValueError(f"n_households={n} exceeds the {len(net.load)} loads of the net; "
                             "pass households={'bus', 'feeder'} explicitly")
        bus = net.load.bus.values[:n].astype(np.int64)
        return derive_feeders(net, bus), bus

    def advance(self, time, inputs):
        now_ms = int(round(time * self.tick_ms))
        new = msgs.concat(list(inputs.get("messages_in", {}).values()))
        allsent = self.net.transmit(new)
        n_own = len(allsent)
        forged = self.net.forged_due(now_ms, self._schedules.get(0))  # for the interval the market gates next
        if len(forged):
            fsent = self.net.transmit(forged, via_access=np.zeros(len(forged), dtype=bool))
            allsent = msgs.concat([allsent, fsent])
        is_forged = np.zeros(len(allsent), dtype=bool)
        is_forged[n_own:] = True
        seq = self._seq + np.arange(len(allsent), dtype=np.int64)  # order of receipt
        self._seq += len(allsent)
        self._counters["sent_total"] += len(allsent)
        self._counters["forged_total"] += len(allsent) - n_own
        arrival = allsent["arrival_ms"]  # a view: the messages are ours (transmit copies)
        alive = arrival >= 0
        gone = np.flatnonzero(~alive)
        self._finished.add(log_records(allsent, is_forged, gone), now_ms, 0, seq[gone])
        # sent before mosaik handed it to us: it cannot arrive before now
        np.maximum(arrival, now_ms, out=arrival, where=alive)
        cls = receiver_class(allsent["receiver"])
        staged = self._staged[cls + 1]
        self._hand_over_at_receipt(allsent, is_forged, seq, cls, np.flatnonzero(alive & staged), now_ms)
        # receivers without a schedule: at the arrival tick, from the pending queue
        rest = np.flatnonzero(alive & ~staged)
        if len(rest):
            self._pending = msgs.concat([self._pending, select(allsent, rest)])
            self._pending_forged = np.r_[self._pending_forged, is_forged[rest]]
            self._pending_seq = np.r_[self._pending_seq, seq[rest]]
        hand = np.maximum(self._pending["arrival_ms"], now_ms)
        due = hand <= now_ms
        if due.any():
            out = select(self._pending, due)
            self._finished.add(log_records(out, self._pending_forged[due]), now_ms, 1, self._pending_seq[due])
            self._pending, self._pending_forged, self._pending_seq = (
                select(self._pending, ~due), self._pending_forged[~due], self._pending_seq[~due])
            cls = receiver_class(out["receiver"])
            for code, name in enumerate(MSG_OUT):
                self.emit(name, select(out, cls == code))
        done = self._finished.take(now_ms)  # finished by now, in log order
        for key, n in finished_counts(done).items():
            self._counters[key] += n
        if len(done):
            self._log.append(done)
        return self._next_tick(time, hand[~due])

    def _hand_over_at_receipt(self, sent, forged, seq, cls, idx, now_ms) -> None:
        """Hand ``sent[idx]`` (receivers with a schedule) over now, each with the tick it is due;
        their log records wait in the finished log until the hand-over time."""
        if len(idx):
            rec, bounds, hand = staged_handover(sent, idx, cls, self._schedules, now_ms, self.tick_ms)
            for code in self._schedules:
                self.emit(MSG_OUT[code], rec[bounds[code]:bounds[code + 1]])
            self._finished.add(log_records(sent, forged, idx), hand, 1, seq[idx])

    def _next_tick(self, time, pending_hand):
        """Next step: a pending hand-over, a forged injection, or the interval boundary where the
        log is released (once per interval, not at every hand-over, which would wake the recorder)."""
        step = self._step_ticks
        if time % step == 0 and self._log:
            self.emit("events_messages", concat_records(self._log))
            self._log = []
        nxt = [int(pending_hand.min())] if len(pending_hand) else []
        nf = self.net.next_forged_ms()
        if nf is not None:
            nxt.append(max(nf, int(round(time * self.tick_ms)) + 1))
        nxt_tick = int(np.ceil(min(nxt) / self.tick_ms)) if nxt else None
        held = self._finished.next_ms()
        if self._log or held is not None:
            first = time + 1 if self._log else int(np.ceil(held / self.tick_ms))
            boundary = -(-first // step) * step  # first boundary at or after it
            nxt_tick = boundary if nxt_tick is None else min(nxt_tick, boundary)
        return nxt_tick

    def value(self, attr):
        return self._counters.get(attr)

    def static_tables(self):
        """``households``: household id, bus, feeder, access technology."""
        n = self.net.n_households
        bus = self._bus if len(self._bus) == n else np.full(n, -1)
        return {"households": pd.DataFrame({
            "household": np.arange(n), "bus": bus, "feeder": self.net.feeder,
            "technology": self.net.household_technology(),
        })}


META = IctSim.meta_dict()
