"""The one split of a grid into feeders and zones, with one numbering.

Feeders (:func:`feeder_of_bus`)
-------------------------------
Remove every transformer and every transformer's low-voltage busbar from the
bus graph (lines and closed bus-bus switches; open switches and
out-of-service elements respected). Each connected component left is one
feeder. Its **feeder id** is the pandapower index of the lowest-index line
joining a transformer busbar to the component (the line leaving the
substation), so ids are stable, meaningful in the net and the same in every
simulator (scenario files name feeders by these ids, e.g.
``ict.outages[].feeders``). Buses that belong to no such feeder get negative
ids, unique and deterministic:

* a transformer LV busbar: ``-1 - bus``;
* a component no line from a busbar reaches (e.g. the MV side of an LV
  grid, an MV ring fed only through switches): ``-1 - min(bus of the
  component)``;
* a bus outside the graph (out of service): ``-1 - bus``.

Users: the ICT model (households' feeders, feeder outages), the DSO's zones
(``zones="feeder"``) and the linearised model's areas
(:func:`feeder_area`: contiguous array positions of the same feeders).

Transformer zones (:func:`trafo_zone_of_bus`)
---------------------------------------------
The buses fed by each transformer's LV side without crossing another
transformer; the zone id is the transformer's pandapower index, ``-1`` for
buses fed by none (upstream of every transformer).

The coordinator's areas (everything below one transformer, nested) belong to
its radial model, :mod:`simulators.coordinator.network`.
"""

from __future__ import annotations

import numpy as np

from .errors import NetworkModelError

#: Zone kinds of :func:`zones`.
ZONE_KINDS = ("feeder", "trafo")


def _graph(net):
    import pandapower.topology as top

    return top.create_nxgraph(net, include_trafos=False, include_trafo3ws=False, respect_switches=True)


def feeder_of_bus(net) -> np.ndarray:
    """Feeder id per bus in ``net.bus.index`` order [int64] (module docstring)."""
    import networkx as nx

    g = _graph(net)
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
    return np.array([feeder_of.get(int(b), -1 - int(b)) for b in net.bus.index], dtype=np.int64)


def feeder_area(feeder: np.ndarray) -> np.ndarray:
    """Contiguous area number per bus from feeder ids: array positions of the feeders.

    ``0`` for buses in no feeder (negative id: busbars, upstream buses);
    ``k`` for the bus's feeder being the k-th smallest non-negative feeder id.
    """
    feeder = np.asarray(feeder, dtype=np.int64)
    ids = np.unique(feeder[feeder >= 0])
    return np.where(feeder >= 0, np.searchsorted(ids, feeder) + 1, 0).astype(np.int64)


def trafo_zone_of_bus(net) -> np.ndarray:
    """Transformer zone per bus in ``net.bus.index`` order (module docstring)."""
    import networkx as nx

    g = _graph(net)
    pos = {int(b): i for i, b in enumerate(net.bus.index.values)}
    zone = np.full(len(pos), -1, dtype=np.int64)
    for t, lv in zip(net.trafo.index.tolist(), net.trafo.lv_bus.values.tolist()):
        if lv in g:
            for b in nx.node_connected_component(g, lv):
                zone[pos[b]] = t
    return zone


def zones(net, kind: str = "feeder") -> np.ndarray:
    """Zone id per bus: ``"feeder"`` (:func:`feeder_of_bus`) or ``"trafo"``
    (:func:`trafo_zone_of_bus`).

    Raises
    ------
    NetworkModelError
        Unknown ``kind``.
    """
    if kind == "feeder":
        return feeder_of_bus(net)
    if kind == "trafo":
        return trafo_zone_of_bus(net)
    raise NetworkModelError(f"zones={kind!r} unknown; allowed: {', '.join(map(repr, ZONE_KINDS))}")
