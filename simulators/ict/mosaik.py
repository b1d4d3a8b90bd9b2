"""mosaik adapter of the ICT network: event-driven (mosaik type "hybrid"), 1 tick = 1 ms.

Each step runs the model on the messages that arrived on ``messages_in`` (plus
forged injections due now) and hands delivered messages to their receivers at
the time :mod:`.handover` gives: the receiver's next decision point from the
schedules the receivers declared (passed in as ``schedules``), or the arrival
tick; ``arrival_ms`` stays exact. A message sent before mosaik handed it to us
cannot arrive before the current tick. ``events_messages`` (the log,
:data:`LOG_DTYPE`) is released at the first step on an interval boundary. The
persistent counters are running totals since the start, exact whenever the
recorder samples them: ``sent_total`` (incl. forged), ``delivered_total``
(incl. LATE), ``lost_total``, ``dropped_outage_total``, ``late_total``,
``forged_total``. Latency percentiles come from the log."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from simulators.common.adapter import Adapter, Attr
from simulators.common import messages as msgs

from .handover import LOG_DTYPE, MSG_OUT, handover_ms, log_records, receiver_class
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
        self._log: list[np.ndarray] = []
        self._counters = {k: 0 for k in COUNTERS}
        self._bus = np.zeros(0, dtype=np.int64)

    def setup(self, config=None, grid=None, start=None, step_s=900, n_steps=1, seed=0, households=None,
              n_households=None, schedules=None, **_ignored) -> None:
        """``schedules``: ``{ict output: receiver's decision_schedule() or None}``."""
        self._schedules = {MSG_OUT.index(k): (int(v["period_s"]), [int(o) for o in v["offsets_s"]])
                           for k, v in (schedules or {}).items() if v is not None}
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
        self._release = False
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
        sent = self.net.transmit(new)
        forged = self.net.forged_due(now_ms, self._schedules.get(0))  # for the interval the market gates next
        fsent = self.net.transmit(forged, via_access=np.zeros(len(forged), dtype=bool))
        allsent = msgs.concat([sent, fsent])
        is_forged = np.r_[np.zeros(len(sent), bool), np.ones(len(fsent), bool)]
        alive = allsent["arrival_ms"] >= 0
        gone = allsent[~alive]
        fresh = allsent[alive]
        # sent before mosaik handed it to us: it cannot arrive before now
        fresh["arrival_ms"] = np.maximum(fresh["arrival_ms"], now_ms)
        self._pending = msgs.concat([self._pending, fresh])
        self._pending_forged = np.r_[self._pending_forged, is_forged[alive]]
        hand = handover_ms(self._pending["arrival_ms"], receiver_class(self._pending["receiver"]),
                           self._schedules, now_ms, self.tick_ms)
        due = hand <= now_ms
        out, out_forged = self._pending[due], self._pending_forged[due]
        self._pending, self._pending_forged = self._pending[~due], self._pending_forged[~due]
        self._record(gone, is_forged[~alive], out, out_forged, n_sent=len(allsent), n_forged=len(fsent))
        cls = receiver_class(out["receiver"])
        for code, name in enumerate(MSG_OUT):
            self.emit(name, out[cls == code])
        nxt = [int(hand[~due].min())] if len(self._pending) else []
        nf = self.net.next_forged_ms()
        if nf is not None:
            nxt.append(max(nf, now_ms + 1))
        # The log goes to the recorder once per interval (at a step on an interval
        # boundary) rather than at every hand-over, which would wake the recorder
        # several times per interval; records keep their exact times.
        self._release = time % self._step_ticks == 0
        nxt_tick = int(np.ceil(min(nxt) / self.tick_ms)) if nxt else None
        if self._log and not self._release:
            boundary = (time // self._step_ticks + 1) * self._step_ticks
            nxt_tick = boundary if nxt_tick is None else min(nxt_tick, boundary)
        if self._release and self._log:
            self.emit("events_messages", np.concatenate(self._log))
            self._log = []
        return nxt_tick

    def _record(self, gone, gone_forged, out, out_forged, n_sent, n_forged):
        fin = msgs.concat([gone, out])
        rec = log_records(fin, np.r_[gone_forged, out_forged])
        self._log.append(rec)
        st, ok = fin["status"], fin["arrival_ms"] >= 0
        c = self._counters
        for key, n in (("sent_total", n_sent), ("delivered_total", int(ok.sum())),
                       ("lost_total", int((st == msgs.Status.LOST).sum())),
                       ("dropped_outage_total", int((st == msgs.Status.DROPPED_OUTAGE).sum())),
                       ("late_total", int((st == msgs.Status.LATE).sum())), ("forged_total", n_forged)):
            c[key] += n

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
