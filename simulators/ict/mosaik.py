"""mosaik adapter of the ICT network: event-driven (mosaik type "hybrid"), 1 tick = 1 ms.

Each step runs the model on the messages that arrived on ``messages_in`` (plus
forged injections due now) and hands delivered messages to their receivers at
the time :mod:`.handover` gives (the receiver's next decision point, or the
arrival tick); ``arrival_ms`` stays exact. A message sent before mosaik handed
it to us cannot arrive before the current tick. ``events_messages`` (the log,
:data:`LOG_DTYPE`) is released at the first step on an interval boundary. The
persistent counters are running totals since the start, exact whenever the
recorder samples them: ``sent_total`` (incl. forged), ``delivered_total``
(incl. LATE), ``lost_total``, ``dropped_outage_total``, ``late_total``,
``forged_total``. Latency percentiles come from the log."""

from __future__ import annotations

import logging

import mosaik_api_v3
import numpy as np
import pandas as pd

from simulators.common.messages import Status, concat

from .handover import LOG_DTYPE, MSG_OUT, handover_ms, log_records, receiver_class
from .model import IctNetwork

log = logging.getLogger(__name__)

COUNTERS = {"sent_total": "1", "delivered_total": "1", "lost_total": "1",
            "dropped_outage_total": "1", "late_total": "1", "forged_total": "1"}

META = {
    "api_version": "3.0",
    # "hybrid" is mosaik 3's name for an event-driven simulator whose inputs are
    # not all triggers / outputs not all events: it steps only when triggered by
    # messages_in or at the time it asked for, exactly like "event-based".
    "type": "hybrid",
    "models": {
        "Network": {
            "public": True,
            "params": [],
            "attrs": ["messages_in", *MSG_OUT, "events_messages", *COUNTERS],
            "trigger": ["messages_in"],
            "persistent": list(COUNTERS),
            "non-persistent": ["messages_in", *MSG_OUT, "events_messages"],
        }
    },
    "extra_methods": ["series_meta", "static_tables"],
}


class IctSim(mosaik_api_v3.Simulator):
    """The ICT network as one mosaik entity ``Network``."""

    def __init__(self):
        super().__init__(META)
        self.eid = "Network"
        self._ms_per_tick = 1.0
        self._pending = concat([])
        self._pending_forged = np.zeros(0, dtype=bool)
        self._log: list[np.ndarray] = []
        self._out: dict[str, np.ndarray] = {}
        self._counters = {k: 0 for k in COUNTERS}
        self._bus = np.zeros(0, dtype=np.int64)

    def init(self, sid, time_resolution=0.001, config=None, grid=None, start=None, step_s=900,
             n_steps=1, seed=0, households=None, n_households=None, handover=None, **_ignored):
        self._ms_per_tick = time_resolution * 1e3
        self._set_handover(handover)
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
        self._step_ticks = int(round(step_s / time_resolution))
        self._release = False
        self.net = IctNetwork(config, feeder, seed, horizon_ms)
        return self.meta

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

    def _set_handover(self, handover: dict | None) -> None:
        """``{"to_market": {"period_s", "offsets_s"}, ...}``: see :mod:`.handover`."""
        self._schedules = {MSG_OUT.index(k): (int(v["period_s"]), [int(o) for o in v["offsets_s"]])
                           for k, v in (handover or {}).items()}

    def create(self, num, model, **model_params):
        if num != 1 or model != "Network":
            raise ValueError("IctSim provides exactly one 'Network' entity (create(1, 'Network'))")
        return [{"eid": self.eid, "type": model}]

    def step(self, time, inputs, max_advance=None):
        now_ms = int(round(time * self._ms_per_tick))
        batches = list(inputs.get(self.eid, {}).get("messages_in", {}).values())
        new = concat(batches)
        sent = self.net.transmit(new)
        forged = self.net.forged_due(now_ms, self._schedules.get(0))  # for the interval the market gates next
        fsent = self.net.transmit(forged, via_access=np.zeros(len(forged), dtype=bool))
        allsent = concat([sent, fsent])
        is_forged = np.r_[np.zeros(len(sent), bool), np.ones(len(fsent), bool)]
        alive = allsent["arrival_ms"] >= 0
        gone = allsent[~alive]
        fresh = allsent[alive]
        # sent before mosaik handed it to us: it cannot arrive before now
        fresh["arrival_ms"] = np.maximum(fresh["arrival_ms"], now_ms)
        self._pending = concat([self._pending, fresh])
        self._pending_forged = np.r_[self._pending_forged, is_forged[alive]]
        hand = handover_ms(self._pending["arrival_ms"], receiver_class(self._pending["receiver"]),
                           self._schedules, now_ms, self._ms_per_tick)
        due = hand <= now_ms
        out, out_forged = self._pending[due], self._pending_forged[due]
        self._pending, self._pending_forged = self._pending[~due], self._pending_forged[~due]
        self._record(gone, is_forged[~alive], out, out_forged, n_sent=len(allsent), n_forged=len(fsent))
        cls = receiver_class(out["receiver"])
        self._out = {name: out[cls == code] for code, name in enumerate(MSG_OUT)}
        nxt = [int(hand[~due].min())] if len(self._pending) else []
        nf = self.net.next_forged_ms()
        if nf is not None:
            nxt.append(max(nf, now_ms + 1))
        # The log goes to the recorder once per interval (at a step on an interval
        # boundary) rather than at every hand-over, which would wake the recorder
        # several times per interval; records keep their exact times.
        self._release = time % self._step_ticks == 0
        nxt_tick = int(np.ceil(min(nxt) / self._ms_per_tick)) if nxt else None
        if self._log and not self._release:
            boundary = (time // self._step_ticks + 1) * self._step_ticks
            nxt_tick = boundary if nxt_tick is None else min(nxt_tick, boundary)
        return nxt_tick

    def _record(self, gone, gone_forged, out, out_forged, n_sent, n_forged):
        fin = concat([gone, out])
        rec = log_records(fin, np.r_[gone_forged, out_forged])
        self._log.append(rec)
        st, ok = fin["status"], fin["arrival_ms"] >= 0
        c = self._counters
        for key, n in (("sent_total", n_sent), ("delivered_total", int(ok.sum())),
                       ("lost_total", int((st == Status.LOST).sum())),
                       ("dropped_outage_total", int((st == Status.DROPPED_OUTAGE).sum())),
                       ("late_total", int((st == Status.LATE).sum())), ("forged_total", n_forged)):
            c[key] += n

    def get_data(self, outputs):
        data = {}
        for eid, attrs in outputs.items():
            d = {}
            for a in attrs:
                if a in COUNTERS:
                    d[a] = self._counters[a]
                elif a in MSG_OUT and len(self._out.get(a, ())):
                    d[a] = self._out[a]
                elif a == "events_messages":
                    if not self._release:  # the log is released at interval boundaries
                        continue
                    ev = np.concatenate(self._log) if self._log else np.zeros(0, LOG_DTYPE)
                    self._log = []
                    if len(ev):
                        d[a] = ev
            data[eid] = d
        return data

    # -- extra methods (recorder) -------------------------------------------

    def series_meta(self):
        """Recordable per-step counters (scalars, so ``entities`` is empty)."""
        return {k: {"unit": u, "entities": []} for k, u in COUNTERS.items()}

    def static_tables(self):
        """``households``: household id, bus, feeder, access technology."""
        n = self.net.n_households
        bus = self._bus if len(self._bus) == n else np.full(n, -1)
        return {"households": pd.DataFrame({
            "household": np.arange(n), "bus": bus, "feeder": self.net.feeder,
            "technology": self.net.household_technology(),
        })}


def main():  # pragma: no cover - process entry point
    return mosaik_api_v3.start_simulation(IctSim(), "cosim ICT simulator")


if __name__ == "__main__":  # pragma: no cover
    main()
