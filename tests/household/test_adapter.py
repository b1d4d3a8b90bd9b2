"""The mosaik adapter: time handling, message triggers, extra methods, a real mosaik run."""

import mosaik
import numpy as np

from simulators.common import messages as M
from simulators.household.mosaik import META, HouseholdSim

RURAL = {"simbench": "1-LV-rural1--0-sw"}

#: all 13 loads of 1-LV-rural1 as homes (3 H0 homes and 10 farms), as the counts below assume
CFG = {"policy": "market", "pv": {"share": 0.5}, "battery": {"share": 0.3},
       "include": ["household", "commercial", "agricultural"]}


def _sim(n_steps=4):
    s = HouseholdSim()
    s.init("HH", time_resolution=0.001, config=CFG, grid=RURAL, start="2016-06-06T00:00:00",
           step_s=900, n_steps=n_steps, seed=3)
    s.create(1, "Households")
    return s


def test_meta_contract():
    m = META["models"]["Households"]
    assert META["type"] == "hybrid" and m["trigger"] == ["messages_in"]
    assert m["non-persistent"] == ["messages_out"] and "bus_p_mw" in m["attrs"]


def test_step_times_messages_and_extras(rural_net):
    s = _sim()
    assert s.step(0, {}, 10**9) == 900_000
    d = s.get_data({"Households": ["bus_p_mw", "p_mw", "messages_out"]})["Households"]
    assert len(d["bus_p_mw"]) == len(rural_net.bus) and len(d["p_mw"]) == 13
    assert len(d["messages_out"]) > 0
    # messages_out is non-persistent: gone on the next get_data
    assert "messages_out" not in s.get_data({"Households": ["messages_out"]})["Households"]
    # a message arriving between regular steps is stored, the next regular step is returned
    res = M.empty(1)
    res["kind"], res["receiver"], res["interval_s"] = M.Kind.RESULT, 0, 900
    assert s.step(450_123, {"Households": {"messages_in": {"ict.x": res}}}, 10**9) == 900_000
    assert 900 in s.model.results
    meta = s.series_meta()
    assert meta["bus_p_mw"]["unit"] == "MW" and len(meta["p_mw"]["entities"]) == 13
    hh = s.static_tables()["households"]
    assert list(hh["load"]) == rural_net.load.index.tolist()
    assert s.modelled_elements() == {"load": rural_net.load.index.tolist(), "sgen": []}


def test_runs_in_a_mosaik_world():
    world = mosaik.World({"HH": {"python": "simulators.household.mosaik:HouseholdSim"}},
                         time_resolution=0.001, debug=False)
    sim = world.start("HH", config=CFG, grid=RURAL, start="2016-06-06T00:00:00", step_s=900, n_steps=4, seed=3)
    sim.Households()
    world.run(until=4 * 900_000, print_progress=False)
