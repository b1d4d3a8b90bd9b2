"""Feeder of each household, derived from the net when the orchestrator gives none.

Rule: remove every transformer and every transformer's low-voltage bus from
the bus graph (lines and closed bus-bus switches). Each connected component
that touched a removed LV busbar is one feeder; its id is the index of the
lowest-index line joining that busbar to the component (the "LV line leaving
the transformer bus"). A bus that *is* a transformer LV busbar gets feeder id
``-1 - bus``; a bus in a component with no such line (e.g. MV ring) gets
``-1 - min(bus of its component)``, so ids are unique and deterministic.
"""

from __future__ import annotations

import numpy as np


def derive_feeders(net, bus: np.ndarray) -> np.ndarray:
    """Feeder id per entry of ``bus`` (pandapower bus indices) [int64]."""
    import networkx as nx
    import pandapower.topology as top

    g = top.create_nxgraph(net, include_trafos=False, include_trafo3ws=False, respect_switches=True)
    lv = set(int(b) for b in net.trafo.lv_bus.values) if len(net.trafo) else set()
    lines = net.line[net.line.in_service] if "in_service" in net.line else net.line
    # the line leaving a busbar, per bus on its other end
    leaving: dict[int, int] = {}
    for idx, fb, tb in zip(lines.index, lines.from_bus, lines.to_bus):
        for a, b in ((int(fb), int(tb)), (int(tb), int(fb))):
            if a in lv and b not in lv:
                leaving[b] = min(leaving.get(b, idx), idx)
    g.remove_nodes_from(lv)
    feeder_of: dict[int, int] = {}
    for comp in nx.connected_components(g):
        cand = [leaving[b] for b in comp if b in leaving]
        fid = int(min(cand)) if cand else -1 - int(min(comp))
        for b in comp:
            feeder_of[int(b)] = fid
    return np.array([feeder_of.get(int(b), -1 - int(b)) for b in bus], dtype=np.int64)
