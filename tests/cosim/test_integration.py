"""End-to-end properties of coupled runs (recorded HDF5 compared dataset by dataset)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.world import run_scenario

DER = [
    "households.policy=market",
    "households.pv={share: 0.8, kwp: {dist: uniform, low: 5, high: 10}, sgen_mode: absorb}",
    "households.battery={share: 0.6}",
    "households.ev={share: 0.5, mode: smart}",
    "market.mechanism=pay_as_clear",
    "duration=6h",
]


def _run(tmp_path, name, overrides):
    sc, text = load_scenario(None, overrides)
    path = tmp_path / f"{name}.h5"
    run_scenario(sc, text, path)
    return path


def _series(path, sims=("grid", "household", "market")):
    out = {}
    with h5py.File(path) as f:
        for sim in sims:
            if f"series/{sim}" in f:
                for attr, ds in f[f"series/{sim}"].items():
                    out[f"{sim}/{attr}"] = ds[()]
        for name, ds in f.get("events", {}).items():
            out[f"events/{name}"] = ds[()]
    return out


def _assert_same(a, b, keys=None):
    keys = keys or sorted(set(a) | set(b))
    for k in keys:
        assert k in a and k in b, k
        if a[k].dtype.names:  # structured: per field, so NaN (a lost message's latency) equals NaN
            assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
            for field in a[k].dtype.names:
                np.testing.assert_array_equal(a[k][field], b[k][field], err_msg=f"{k}.{field}")
        else:
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_zero_shares_equal_grid_only_run(tmp_path):
    """Households with no devices and HEMS `none` replace the SimBench loads by
    the same profiles, so every grid series equals the grid-only run. The sum
    per bus happens in a different order (household sum vs element incidence),
    so equality is to 1e-12 (float rounding), not bit-exact."""
    grid_only = _series(_run(tmp_path, "g", ["duration=6h"]), ("grid",))
    with_hh = _series(_run(tmp_path, "h", ["duration=6h", "households.policy=none"]), ("grid",))
    for k, v in grid_only.items():
        np.testing.assert_allclose(with_hh[k], v, rtol=0, atol=1e-12, err_msg=k)


def test_same_seed_identical_different_seed_differs(tmp_path):
    a = _series(_run(tmp_path, "a", [*DER, "seed=5", "ict={technologies: {lte: 1.0}}"]), ("grid", "household", "market", "ict"))
    b = _series(_run(tmp_path, "b", [*DER, "seed=5", "ict={technologies: {lte: 1.0}}"]), ("grid", "household", "market", "ict"))
    _assert_same(a, b)
    c = _series(_run(tmp_path, "c", [*DER, "seed=6", "ict={technologies: {lte: 1.0}}"]), ("household",))
    assert not np.array_equal(a["household/pv_p_mw"], c["household/pv_p_mw"])  # another PV assignment
    lat_a = a["events/messages"]["latency_ms"]
    assert np.nanmax(lat_a) > 0  # LTE really delays messages


def test_ideal_ict_reproduces_run_without_ict(tmp_path):
    """`ideal` ICT (zero latency and loss) must not change any physical or
    market result; only the ICT's own records are added."""
    direct = _series(_run(tmp_path, "d", DER))
    ideal = _series(_run(tmp_path, "i", [*DER, "ict={technologies: {ideal: 1.0}}"]))
    _assert_same(direct, ideal, [k for k in direct])
    assert direct["market/traded_mwh"].sum() > 0  # the market really traded


def test_market_sees_orders_and_clears_balanced(tmp_path):
    s = _series(_run(tmp_path, "m", [*DER, "ict={technologies: {lte: 1.0}}"]), ("market",))
    trades = s["events/trades"]
    assert len(trades) > 0
    # every trade volume is positive and the recorded traded volume is their sum per interval
    assert (trades["quantity_mwh"] > 0).all()
    total = s["market/traded_mwh"]
    np.testing.assert_allclose(np.nansum(total), trades["quantity_mwh"].sum(), rtol=1e-9)
