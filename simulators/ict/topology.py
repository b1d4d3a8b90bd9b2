"""Feeder of each household, derived from the net when the orchestrator gives none.

The feeders and their ids are the network core's
(:func:`simulators.common.network.topology.feeder_of_bus`): the id is the
index of the line leaving the transformer busbar; busbars and buses in no
feeder get unique negative ids.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulators.common.network.topology import feeder_of_bus


def derive_feeders(net, bus: np.ndarray) -> np.ndarray:
    """Feeder id per entry of ``bus`` (pandapower bus indices) [int64]."""
    bus = np.asarray(bus, dtype=np.int64)
    pos = pd.Index(net.bus.index).get_indexer(bus)
    return np.where(pos >= 0, feeder_of_bus(net)[np.maximum(pos, 0)], -1 - bus).astype(np.int64)
