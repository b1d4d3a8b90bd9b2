"""The ICT's hand-over at receipt, end to end (cosim/world.py, simulators/common/inbox.py).

`ideal` ICT (zero latency, no loss) must reproduce a run without the ICT model
exactly (docs/ARCHITECTURE.md): the one-tick hop is the same on both paths.
The case that needs the inbox: households send FLEX_OFFERs to their
aggregator and METER readings to the market in the same tick, which reach
the market on two ICT outputs (``to_aggregators``, ``to_market``). mosaik keeps
one value per source and input between two steps of the receiver, so
delivered as plain inputs one batch replaced the other and the flexibility
market never saw an offer; staged in the inbox, both arrive.
"""

from __future__ import annotations

import h5py
import numpy as np

from cosim.config import load_scenario
from cosim.world import run_scenario

AGGREGATED = ["households.aggregator=0", "duration=6h"]


def _run(tmp_path, name, extra):
    sc, text = load_scenario("lv_congestion_lfm", [*AGGREGATED, *extra])
    out = tmp_path / f"{name}.h5"
    run_scenario(sc, text, out)
    return h5py.File(out, "r")


def test_ideal_ict_reproduces_the_direct_path_with_an_aggregator(tmp_path):
    direct = _run(tmp_path, "direct", [])
    ideal = _run(tmp_path, "ideal", ["ict={technologies: {ideal: 1.0}}"])
    # the aggregator's offers were used: the flexibility market traded (no ICT: hand check
    # of the run, flex_profiles > 0 in the first 6 h of this scenario's reverse-flow day)
    assert np.nansum(direct["series/market/flex_profiles"][:]) > 0
    for group in ("series/market", "series/grid", "series/household"):
        for name, ds in direct[group].items():
            np.testing.assert_array_equal(ideal[group][name][:], ds[:], err_msg=f"{group}/{name}")
    for table in direct["events"]:
        assert ideal["events"][table][:].tobytes() == direct["events"][table][:].tobytes(), table
