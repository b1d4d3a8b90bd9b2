"""Feeders and zones of the network core, checked with an independent networkx split."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandapower.topology as top
import pytest

from simulators.common.netdata import load_net
from simulators.common.network import NetworkModelError
from simulators.common.network.topology import feeder_area, feeder_of_bus, zones


def _components_below_busbars(net) -> dict[int, int]:
    """Independent reference: components of the bus graph without trafos and LV busbars."""
    g = top.create_nxgraph(net, include_trafos=False)
    g.remove_nodes_from(net.trafo.lv_bus.tolist())
    return {b: i for i, c in enumerate(nx.connected_components(g)) for b in c}


@pytest.mark.parametrize("code", ["1-LV-rural1--0-sw", "1-MV-semiurb--0-sw"])
def test_feeders_partition_and_ids(code):
    net = load_net({"simbench": code})
    f = feeder_of_bus(net)
    comp = _components_below_busbars(net)
    lv = set(net.trafo.lv_bus)
    inner = np.array([b not in lv and b in comp for b in net.bus.index])
    c = np.array([comp.get(b, -1) for b in net.bus.index])[inner]
    fi = f[inner]
    assert np.array_equal(fi[:, None] == fi[None, :], c[:, None] == c[None, :])
    # a non-negative id is a line leaving a transformer busbar
    for fid in set(f[f >= 0].tolist()):
        assert net.line.from_bus[fid] in lv or net.line.to_bus[fid] in lv
    # every busbar is its own feeder with id -1 - bus
    for b in lv:
        assert f[net.bus.index.get_loc(b)] == -1 - b


def test_feeder_area_by_hand():
    """Hand calculation: negative ids -> 0, others by ascending id from 1."""
    np.testing.assert_array_equal(feeder_area(np.array([-4, 7, 2, 7, -1, 11])), [0, 2, 1, 2, 0, 3])


def test_trafo_zones_and_bad_kind():
    net = load_net({"simbench": "1-MV-semiurb--0-sw"})  # two HV/MV transformers
    z = zones(net, "trafo")
    hv = net.bus.index.get_indexer(net.trafo.hv_bus)
    assert np.all(z[hv] == -1)  # the HV side is upstream of every transformer
    assert set(np.unique(z[z >= 0])) <= set(net.trafo.index)
    with pytest.raises(NetworkModelError, match="allowed"):
        zones(net, "area")
