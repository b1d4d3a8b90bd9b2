"""Critical-peak pricing changes what flows: homes with batteries import less during the event.

Coupled run (grid + households, HEMS ``tariff``, 60 % batteries) of a January
weekday on 1-LV-rural1, with that day as the only critical-peak event day
(17-21 h at 1,000 EUR/MWh against 287 flat). The ``tariff`` policy compares each
price with the mean published price over the 24 h around it, so the batteries
charge before the event and discharge in it. Expectation (property of the
policy, no external figure): the grid import in the event hours is lower than
under the flat tariff by more than the power-flow tolerance, here at least 5 %.
"""

from __future__ import annotations

import h5py
import numpy as np

from cosim.config import load_scenario
from cosim.world import run_scenario

BASE = ["households.include=[household, agricultural]", "households.policy=tariff", "households.battery={share: 0.6}", "households.pv={share: 0.8}",
        "start=2016-01-12T00:00:00", "duration=1d"]


def _event_import_mwh(tmp_path, name, extra):
    sc, text = load_scenario(None, [*BASE, *extra])
    run_scenario(sc, text, tmp_path / f"{name}.h5")
    with h5py.File(tmp_path / f"{name}.h5") as f:
        p = f["series/grid/ext_grid_p_mw"][()].sum(axis=1)
    return p[17 * 4:21 * 4].sum() * 0.25


def test_cpp_event_lowers_import_in_event_hours(tmp_path):
    flat = _event_import_mwh(tmp_path, "flat", [])
    cpp = _event_import_mwh(tmp_path, "cpp", ["tariff={kind: cpp, cpp_event_days: ['2016-01-12']}"])
    assert flat > 0
    assert cpp < 0.95 * flat
