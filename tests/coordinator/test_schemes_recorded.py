"""The coordination schemes on the shipped scenario, asserted on the recorded
AC power flow (/series/grid), not on the coordinator's own linear model.

scenarios/tso_dso_schemes.yaml: the DSO operates the transformer to 50 %;
the window 06:00-18:00 covers the PV hours in which TSO activations of the
household batteries load the transformer. `centralized` ignores the DSO, so it
must breach the limit more often and higher than the DSO-aware schemes.
The DSO-aware schemes decide on a persistence forecast and a linear grid
model, so they may overshoot the limit a little: tolerance 6 percentage
points (the largest linearisation/forecast error seen on this case was
5.3 pp, on `common`). These runs switch the scenario's BRP need off, so every
activation is the TSO's; the BRP's own effect is tested separately.
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
NO_BRP = "coordinator.brp={sigma_mw: 0.0, price_eur_per_mwh: 100}"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = {}
    d = tmp_path_factory.mktemp("schemes")
    for scheme in ("centralized", "local", "common", "integrated"):
        sc, text = load_scenario(REPO / "scenarios" / "tso_dso_schemes.yaml", [*WINDOW, NO_BRP,
                                                                                   f"coordinator.scheme={scheme}"])
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


def _need_met_and_activations(path):
    with h5py.File(path) as f:
        need, act = (np.abs(np.nansum(a.reshape(len(a), -1), axis=1)) for a in
                     (f["series/coordinator/tso_need_mw"][()], f["series/coordinator/tso_activated_mw"][()]))
        n = len(f["events/activations"][()]) if "events/activations" in f else 0
    return float(np.minimum(act, need).sum() / need.sum()), n


def test_with_the_shipped_brp_need_integrated_differs_from_local(tmp_path):
    """The shipped scenario has a BRP need (sigma 0.03 MW) that only `integrated`
    serves, so the two schemes must select different offers: the activation logs
    differ in length or the TSO need met differs by more than round-off (1e-9).
    Before the BRP was switched on the two runs were identical."""
    res = {}
    for scheme in ("local", "integrated"):
        sc, text = load_scenario(REPO / "scenarios" / "tso_dso_schemes.yaml", [*WINDOW, f"coordinator.scheme={scheme}"])
        run_scenario(sc, text, tmp_path / f"{scheme}.h5")
        res[scheme] = _need_met_and_activations(tmp_path / f"{scheme}.h5")
    (met_l, n_l), (met_i, n_i) = res["local"], res["integrated"]
    assert n_l != n_i or abs(met_l - met_i) > 1e-9, res
