"""One contract test over every mosaik adapter (and the recorder).

Checks against the mosaik API itself: META parses with mosaik's own model
description parser, ``init`` returns it, ``create`` yields the entity
count asked for with eid/type, ``step`` returns an int >= time (or None for
event-driven simulators with nothing pending), ``get_data`` returns a dict per
entity, and the extra methods the recorder relies on return the documented
types.
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

GRID = {"simbench": "1-LV-rural1--0-sw"}
COMMON = dict(grid=GRID, start="2016-06-01T00:00:00", step_s=900, n_steps=4, seed=1)
ADAPTERS = [
    ("simulators.grid.mosaik:GridSim", "Grid", {}),
    ("simulators.household.mosaik:HouseholdSim", "Households",
     {"config": {"policy": "market", "pv": {"share": 0.5}, "battery": {"share": 0.3}}, "auth_seed": 3}),
    ("simulators.market.mosaik:MarketSim", "Market", {"config": {"mechanism": "pay_as_clear"}, "auth_seed": 3}),
    ("simulators.ict.mosaik:IctSim", "Network", {"config": {"technologies": {"lte": 1.0}}}),
    ("simulators.coordinator.mosaik:CoordinatorSim", "Coordinator", {"config": {"scheme": "local"}}),
]


def _load(target):
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)()


@pytest.mark.parametrize("target, model, params", ADAPTERS, ids=[a[1] for a in ADAPTERS])
def test_adapter_contract(target, model, params):
    sim = _load(target)
    meta = sim.init("S-0", 0.001, **COMMON, **params)
    assert meta["api_version"].startswith("3.")
    assert meta["type"] in ("time-based", "event-based", "hybrid")
    assert model in meta["models"]
    _parse_with_mosaik(meta)
    entities = sim.create(1, model)
    assert len(entities) == 1 and {"eid", "type"} <= set(entities[0]) and entities[0]["type"] == model
    eid = entities[0]["eid"]
    nxt = sim.step(0, {}, 10**9)
    assert nxt is None or (isinstance(nxt, (int, np.integer)) and nxt >= 0)
    outputs = [a for a in meta["models"][model]["attrs"]
               if a not in meta["models"][model].get("trigger", []) and a not in ("p_mw", "q_mvar", "vm_pu", "bus_p_mw", "ext_grid_p_mw")
               or a in ("bus_p_mw",) and model == "Households"]
    data = sim.get_data({eid: outputs})
    assert set(data) == {eid} and isinstance(data[eid], dict)
    assert set(data[eid]) <= set(outputs)
    series = sim.series_meta()
    assert isinstance(series, dict) and series
    for attr, m in series.items():
        assert attr in meta["models"][model]["attrs"], attr
        assert isinstance(m["unit"], str) and isinstance(m["entities"], list)
        if attr in data[eid] and m["entities"]:
            assert np.shape(data[eid][attr])[-1] == len(m["entities"]), attr
    for name, df in sim.static_tables().items():
        assert isinstance(name, str) and isinstance(df, pd.DataFrame)
    if nxt is not None:
        nxt2 = sim.step(nxt, {}, 10**9)
        assert nxt2 is None or nxt2 > nxt


def _parse_with_mosaik(meta):
    """mosaik's own check of attrs / trigger / persistent lists (raises ValueError)."""
    from mosaik.async_scenario import parse_attrs

    for desc in meta["models"].values():
        parse_attrs(desc, meta["type"])


def test_recorder_contract(tmp_path):
    from cosim.recorder import HDF5Sink, RecorderSim

    sink = HDF5Sink(tmp_path / "r.h5", {}, chunk_steps=2)
    sim = RecorderSim()
    meta = sim.init("R", 0.001, sink=sink, step_s=900, sources={"Grid-0.grid": "grid"},
                    event_attrs=["events_trades"])
    _parse_with_mosaik(meta)
    (e,) = sim.create(1, "Recorder")
    assert sim.step(0, {e["eid"]: {"pl_mw": {"Grid-0.grid": 0.1}}}, 10**9) == 900_000
    assert sim.step(5, {e["eid"]: {}}, 10**9) is None  # event-only step: no new row
    assert sim.get_data({}) == {}
    sink.close("complete")
