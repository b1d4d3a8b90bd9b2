"""The HEMS fallback is a recorded series: ``household/hems_fallback`` per home and step.

Two 2-hour runs of ``market_lv_rural`` (bid curves, pay-as-clear): ideal ICT
(every RESULT arrives before its interval) and a backhaul outage of all feeders
from 10:30 to 11:00 (orders and results sent in the window are dropped, so the
homes of the next intervals have no RESULT and use the safe fallback). Counts
are exact integers: with ideal ICT no home may fall back; with the outage every
home that sent a curve does, at least in the intervals whose orders were lost.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from analysis import kpis, load
from cosim.config import load_scenario
from cosim.world import run_scenario

REPO = Path(__file__).resolve().parents[2]
BASE = ["duration=2h", "start=2016-06-06T10:00:00", "market.dso_check=none"]
OUTAGE = "ict.outages=[{feeders: all, start_s: 1800, end_s: 3600}]"


@pytest.fixture(scope="module", params=["ideal", "outage"])
def run(request, tmp_path_factory):
    sets = [*BASE, "ict.technologies={ideal: 1.0}"] + ([OUTAGE] if request.param == "outage" else [])
    sc, text = load_scenario(REPO / "scenarios" / "market_lv_rural.yaml", sets)
    out = tmp_path_factory.mktemp("fallback") / f"{request.param}.h5"
    run_scenario(sc, text, out)
    with h5py.File(out) as h:
        series = h["/series/household/hems_fallback"][()]
    return request.param, series, kpis(load(out))


def test_fallback_is_recorded_per_home_and_step(run):
    case, fb, values = run
    assert fb.ndim == 2 and set(np.unique(fb).tolist()) <= {0.0, 1.0}
    count = values["ict_hems_fallback_home_steps"]
    assert count.applicable and count.value == fb.sum()
    assert values["ict_hems_fallback_share"].value == pytest.approx(fb.mean(), abs=1e-12)
    if case == "ideal":
        assert fb.sum() == 0
    else:
        assert fb.sum() > 0
        # orders sent at 1800 s and 2700 s are lost: their intervals 2700 s and 3600 s (steps 3, 4) fall
        # back; before the outage (steps 0-2) no home does
        assert fb[:3].sum() == 0 and fb[3].sum() > 0
