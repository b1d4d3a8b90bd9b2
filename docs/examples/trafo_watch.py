"""A tiny mosaik simulator in its own process: watches the transformer loading.

Run by mosaik's ``cmd`` starter (see docs/extending.md)::

    simulators:
      - name: watch
        cmd: "%(python)s docs/examples/trafo_watch.py %(addr)s"
        params: {step_s: 900}
        models: [{model: Watch, params: {limit_percent: 80}}]
        connections: [{from: grid.trafo_loading_percent, to: loading_percent}]
        record: {max_loading_percent: percent, alarm: bool, hours_above_limit_h: h}

It needs only ``mosaik_api_v3`` (no cosim import): values arrive as JSON
(a list per transformer [%]) and leave as JSON numbers.
"""

from __future__ import annotations

import mosaik_api_v3

META = {
    "api_version": "3.0",
    "type": "time-based",
    "models": {
        "Watch": {
            "public": True,
            "params": ["limit_percent"],
            "attrs": ["loading_percent", "max_loading_percent", "alarm", "hours_above_limit_h"],
        },
    },
}


class TrafoWatch(mosaik_api_v3.Simulator):
    """Largest transformer loading per step, an alarm above a limit, hours above it."""

    def __init__(self) -> None:
        super().__init__(META)
        self.entities: dict[str, dict] = {}

    def init(self, sid, time_resolution=1.0, step_s=900):
        self.step_ticks = int(round(step_s / time_resolution))
        self.step_h = step_s / 3600.0
        return self.meta

    def create(self, num, model, limit_percent=100.0):
        out = []
        for _ in range(num):
            eid = f"watch{len(self.entities)}"
            self.entities[eid] = {"limit": float(limit_percent), "max": 0.0, "alarm": False, "hours": 0.0}
            out.append({"eid": eid, "type": model})
        return out

    def step(self, time, inputs, max_advance):
        for eid, e in self.entities.items():
            values = [v for by_src in inputs.get(eid, {}).get("loading_percent", {}).values()
                      for v in (by_src if by_src is not None else [])]
            e["max"] = max(values) if values else 0.0
            e["alarm"] = e["max"] > e["limit"]
            e["hours"] += self.step_h * e["alarm"]
        return time + self.step_ticks

    def get_data(self, outputs):
        names = {"max_loading_percent": "max", "alarm": "alarm", "hours_above_limit_h": "hours"}
        return {eid: {a: self.entities[eid][names[a]] for a in attrs} for eid, attrs in outputs.items()}


if __name__ == "__main__":
    mosaik_api_v3.start_simulation(TrafoWatch(), "cosim example: transformer loading watch")
