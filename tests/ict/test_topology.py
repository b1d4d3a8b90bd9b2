"""Feeders derived from the net: households on one feeder are connected below the
transformer busbar, households on different feeders are not (independent networkx check)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandapower.topology as top
import pytest

from simulators.ict.mosaik import IctSim


@pytest.fixture(scope="module")
def sim():
    s = IctSim()
    s.init("Ict-0", time_resolution=0.001, config={"technologies": {"ideal": 1.0}},
           grid={"simbench": "1-LV-rural1--0-sw"}, step_s=900, n_steps=1, seed=0)
    return s


def test_derived_feeders_partition_the_lv_grid(sim):
    from simulators.common.netdata import load_net

    net = load_net({"simbench": "1-LV-rural1--0-sw"})
    tab = sim.static_tables()["households"]
    assert len(tab) == len(net.load)  # default: one household per load row
    g = top.create_nxgraph(net, include_trafos=False)
    g.remove_nodes_from(net.trafo.lv_bus.tolist())
    comp = {b: i for i, c in enumerate(nx.connected_components(g)) for b in c}
    same_feeder = tab.feeder.values[:, None] == tab.feeder.values[None, :]
    c = np.array([comp[b] for b in tab.bus])
    assert np.array_equal(same_feeder, c[:, None] == c[None, :])
    # every feeder id is a line leaving the transformer busbar
    lv = set(net.trafo.lv_bus)
    for f in set(tab.feeder):
        assert net.line.from_bus[f] in lv or net.line.to_bus[f] in lv
    assert len(set(tab.feeder)) > 1
