"""The ICT adapter in a small mosaik World with a fake sender and receiver.

Shows event-based stepping: the ICT simulator and the receiver step only at
send and arrival ticks, and deliveries land at the hand-computed millisecond.
"""

from __future__ import annotations

import mosaik
import mosaik_api_v3
import numpy as np

from simulators.common.messages import MARKET, Kind, Status, empty
from simulators.ict.mosaik import META as ICT_META
from simulators.ict.mosaik import IctSim

SEND_PLAN = {1000: [0, 1, 2, 3, 4], 3000: [0]}  # tick [ms] -> sending households


class Sender(mosaik_api_v3.Simulator):
    """Emits one order per listed household at the ticks of SEND_PLAN."""

    def __init__(self):
        # hybrid, so mosaik steps it at t=0 (an event-based sim without inputs never steps)
        super().__init__({"api_version": "3.0", "type": "hybrid", "models": {
            "S": {"public": True, "params": [], "attrs": ["messages_out"], "trigger": [],
                  "persistent": [], "non-persistent": ["messages_out"]}}})
        self.out = None

    def create(self, num, model):
        return [{"eid": "s", "type": "S"}]

    def step(self, time, inputs, max_advance):
        hh = SEND_PLAN.get(time)
        self.out = None
        if hh:
            m = empty(len(hh))
            m["sender"], m["receiver"], m["kind"] = hh, MARKET, Kind.BID
            m["msg_id"] = np.arange(len(hh)) + time
            m["send_ms"] = time
            self.out = m
        later = [t for t in SEND_PLAN if t > time]
        return min(later) if later else None

    def get_data(self, outputs):
        return {"s": {"messages_out": self.out}} if self.out is not None else {"s": {}}


class Receiver(mosaik_api_v3.Simulator):
    """Records every message batch and the tick it arrived at."""

    received: list = []
    events: list = []
    steps: list = []

    def __init__(self):
        super().__init__({"api_version": "3.0", "type": "event-based", "models": {
            "R": {"public": True, "params": [], "attrs": ["messages_in", "events"],
                  "trigger": ["messages_in", "events"]}}})

    def create(self, num, model):
        return [{"eid": "r", "type": "R"}]

    def step(self, time, inputs, max_advance):
        Receiver.steps.append(time)
        for attr, store in (("messages_in", Receiver.received), ("events", Receiver.events)):
            for batch in inputs.get("r", {}).get(attr, {}).values():
                store.append((time, batch))
        return None

    def get_data(self, outputs):
        return {}


def test_adapter_meta_is_event_based():
    assert ICT_META["type"] == "hybrid"  # event-driven with persistent counters
    m = ICT_META["models"]["Network"]
    from mosaik.async_scenario import parse_attrs

    _, triggers, persistent, _ = parse_attrs(m, ICT_META["type"])
    assert set(triggers) == {"messages_in"} and "delivered_total" in persistent


def test_world_delivers_at_hand_computed_ms():
    Receiver.received, Receiver.events, Receiver.steps = [], [], []
    sim_config = {
        "Sender": {"python": f"{__name__}:Sender"},
        "Ict": {"python": "simulators.ict.mosaik:IctSim"},
        "Receiver": {"python": f"{__name__}:Receiver"},
    }
    # nb_plc fixed to 32 kbit/s and 10 ms latency: 400 B -> 100 ms serialisation (hand calc).
    # 5 households on one feeder at t=1000 ms -> arrivals 1110, 1210, ..., 1510 ms;
    # one message at 3000 ms on the idle medium -> 3110 ms.
    cfg = {"technologies": {"nb_plc": 1.0},
           "overrides": {"nb_plc": {"bandwidth_kbps": 32.0, "latency_min_ms": 10.0,
                                    "latency_median_ms": 10.0, "latency_sigma": 0.0,
                                    "bad_share": 0.0, "loss_good": 0.0}}}
    world = mosaik.World(sim_config, time_resolution=0.001, debug=False)
    sender = world.start("Sender").S()
    ict = world.start("Ict", config=cfg, grid=None, start="2016-06-01 00:00:00", step_s=900,
                      n_steps=1, seed=3, households={"bus": np.zeros(5), "feeder": np.zeros(5)},
                      n_households=5).Network()
    recv = world.start("Receiver").R()
    world.connect(sender, ict, ("messages_out", "messages_in"))
    world.connect(ict, recv, ("to_market", "messages_in"), ("events_messages", "events"))
    world.run(until=900_001)

    got = [(t, int(m["sender"]), int(m["arrival_ms"])) for t, b in Receiver.received for m in b]
    assert got == [(1110, 0, 1110), (1210, 1, 1210), (1310, 2, 1310), (1410, 3, 1410),
                   (1510, 4, 1510), (3110, 0, 3110)]
    # receiver stepped only when something arrived (no 1 ms polling), plus once at
    # the interval boundary (900 s) where the ICT releases its message log
    assert Receiver.steps == [1110, 1210, 1310, 1410, 1510, 3110, 900_000]
    assert [t for t, _ in Receiver.events] == [900_000]
    log = np.concatenate([b for _, b in Receiver.events])
    assert len(log) == 6 and np.all(log["status"] == Status.DELIVERED)
    assert log["latency_ms"].tolist() == [110, 210, 310, 410, 510, 110]


def test_adapter_counters_and_static_tables_direct():
    sim = IctSim()
    sim.init("Ict-0", time_resolution=0.001, config={"technologies": {"ideal": 1.0},
             "forged": [{"at_s": 0.002, "count": 4}]},
             step_s=900, n_steps=1, seed=0, households={"bus": [7, 8], "feeder": [0, 0]})
    sim.create(1, "Network")
    m = empty(2)
    m["sender"], m["receiver"], m["send_ms"] = [0, 1], MARKET, 0
    nxt = sim.step(0, {"Network": {"messages_in": {"x": m}}})
    assert nxt == 2  # the forged injection at 2 ms
    d = sim.get_data({"Network": ["to_market", "sent_total", "delivered_total", "events_messages"]})
    assert len(d["Network"]["to_market"]) == 2 and d["Network"]["sent_total"] == 2
    assert d["Network"]["delivered_total"] == 2
    assert (d["Network"]["events_messages"]["latency_ms"] == 0.0).all()
    # the forged messages are logged; the log is released at the next interval boundary
    assert sim.step(2, {}) == 900_000
    d = sim.get_data({"Network": ["to_market", "forged_total", "sent_total", "events_messages"]})
    # running totals: the 4 forged messages add to the 2 sent before
    assert d["Network"]["forged_total"] == 4 and d["Network"]["sent_total"] == 6
    assert "events_messages" not in d["Network"]
    assert sim.step(900_000, {}) is None
    d = sim.get_data({"Network": ["events_messages"]})
    assert len(d["Network"]["events_messages"]) == 4 and d["Network"]["events_messages"]["forged"].all()
    tab = sim.static_tables()["households"]
    assert tab["bus"].tolist() == [7, 8] and tab["technology"].tolist() == ["ideal", "ideal"]
    assert set(sim.series_meta()) >= {"sent_total", "delivered_total", "lost_total", "late_total"}


def test_scheduled_receivers_get_messages_at_receipt_with_their_due_tick():
    """A receiver class with a schedule gets its messages when the ICT receives them,
    each with the tick it is due (next decision point at or after arrival, hand calc:
    gate at 600 s -> 600,000 ms); delivery counts and the log keep the hand-over
    time (599,999 ms, one hop before), so the ICT steps next at the boundary 900 s."""
    sim = IctSim()
    sim.init("Ict-0", time_resolution=0.001, config={"technologies": {"ideal": 1.0}},
             step_s=900, n_steps=2, seed=0, households={"bus": [7, 8], "feeder": [0, 0]},
             schedules={"to_market": {"period_s": 900, "offsets_s": [600]}})
    sim.create(1, "Network")
    m = empty(2)
    m["sender"], m["receiver"], m["send_ms"] = [0, 1], MARKET, 0
    assert sim.step(0, {"Network": {"messages_in": {"x": m}}}) == 900_000
    d = sim.get_data({"Network": ["to_market", "sent_total", "delivered_total", "events_messages"]})["Network"]
    assert d["to_market"]["due_ms"].tolist() == [600_000, 600_000]
    assert d["to_market"]["msg"]["sender"].tolist() == [0, 1]
    assert d["sent_total"] == 2 and d["delivered_total"] == 0 and "events_messages" not in d
    assert sim.step(900_000, {}) is None
    d = sim.get_data({"Network": ["to_market", "delivered_total", "events_messages"]})["Network"]
    assert d["delivered_total"] == 2 and "to_market" not in d
    assert d["events_messages"]["msg_id"].tolist() == m["msg_id"].tolist()
