"""A coupled run with every simulator gives no mosaik warning about its wiring.

mosaik 3.6 warns when a simulator pulls a persistent attribute over a
time-shifted edge whose source has produced no value yet, "Supplying `None`
for now. This will be an error in future versions of mosaik". The coordinator
pulls ``bus_p_mw`` and ``ext_grid_p_mw`` that way at t = 0, so the initial
value of those edges must be a real value (an empty list), not None (which
mosaik takes for "no initial data").
"""

from __future__ import annotations

import warnings

from cosim.config import load_scenario
from cosim.world import run_scenario


def test_full_stack_run_gives_no_mosaik_wiring_warning(tmp_path):
    sc, text = load_scenario(None, [
        "households.policy=market", "households.pv={share: 1.0}", "households.battery={share: 0.5}",
        "market.mechanism=pay_as_clear", "ict.technologies={lte: 1.0}",
        "coordinator.scheme=common", "duration=1h"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_scenario(sc, text, tmp_path / "w.h5")
    mosaik = [str(w.message) for w in caught if "mosaik" in w.filename]
    assert not [m for m in mosaik if "did not produce output" in m], mosaik
