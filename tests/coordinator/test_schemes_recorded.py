"""The coordination schemes on the shipped scenario, asserted on the recorded
AC power flow (/series/grid), not on the coordinator's own linear model.

scenarios/tso_dso_schemes.yaml: the DSO operates the transformer to 50 %;
the window 06:00-18:00 covers the PV hours in which TSO activations of the
household batteries load the transformer. `centralized` ignores the DSO, so it
must breach the limit more often and higher than the DSO-aware schemes.
The DSO-aware schemes decide on a persistence forecast and a linear grid
model, so they may overshoot the limit a little: tolerance 6 percentage
points (the largest linearisation/forecast error seen on this case was
5.3 pp, on `common`).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.world import run_scenario

REPO = Path(__file__).resolve().parents[2]
LIMIT = 50.0
WINDOW = ["start=2016-06-06T06:00:00", "duration=12h"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    d = tmp_path_factory.mktemp("schemes")
    for scheme in ("centralized", "local", "common", "integrated"):
        sc, text = load_scenario(REPO / "scenarios" / "tso_dso_schemes.yaml", [*WINDOW, f"coordinator.scheme={scheme}"])
        run_scenario(sc, text, d / f"{scheme}.h5")
        with h5py.File(d / f"{scheme}.h5") as f:
            load = f["series/grid/trafo_loading_percent"][()].max(axis=1)
            act = np.nansum(f["series/coordinator/tso_activated_mw"][()], axis=1)
            events = f["events/activations"][()] if "events/activations" in f else None
        out[scheme] = (load, act, events)
    return out


def test_centralized_breaches_the_dso_limit_more_than_dso_aware_schemes(runs):
    over = {s: int((load > LIMIT).sum()) for s, (load, _, _) in runs.items()}
    peak = {s: float(load.max()) for s, (load, _, _) in runs.items()}
    assert over["centralized"] >= 1 and peak["centralized"] > LIMIT + 10
    for s in ("local", "common", "integrated"):
        assert over[s] < over["centralized"], (s, over)
        assert peak[s] <= LIMIT + 6.0, (s, peak)


def test_tso_is_served_in_every_scheme_and_no_offer_is_activated_twice(runs):
    for s, (_, act, events) in runs.items():
        assert np.abs(act).sum() > 0, s  # the TSO need is really served
        assert events is not None and len(events)
        # GOPACS rule on the recorded activation log: one activation per offer
        ids = events["offer_msg_id"]
        assert len(np.unique(ids)) == len(ids), s
