"""load(): labelled access and typed errors on bad files."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

from analysis import ResultFileError, load


def test_labelled_access(tiny):
    r = load(tiny)
    vm = r.series("grid", "vm_pu")
    assert list(vm.columns) == ["b0", "b1", "b2"]
    # start 2016-06-01T00:00 (write_result default) + 1800 s
    assert vm.index[1] == pd.Timestamp("2016-06-01T00:30:00")
    assert vm.loc[vm.index[3], "b2"] == 0.85
    assert r["grid/pl_mw"].iloc[2] == 0.03
    assert r.unit("grid", "vm_pu") == "pu"
    assert r.step_s == 1800 and r.n_steps == 4
    assert r.has("grid") and r.has("grid", "vm_pu") and not r.has("grid", "nope") and not r.has("weather")
    assert r.attrs["layout_version"] == 1 and r.attrs["status"] == "complete"
    ev = r.events("messages")
    assert len(ev) == 5 and "latency_ms" in ev
    assert r.events("nope").empty


def test_static_tables(tmp_path):
    from analysis.synthetic import make_result

    r = load(make_result(tmp_path / "s.h5", n_steps=4, n_households=3, n_feeder_buses=2))
    bus = r.static("grid", "bus")
    assert list(bus["name"]) == ["MV", "LV0", "LV1", "LV2"]
    assert np.allclose(bus["vn_kv"], [20.0, 0.4, 0.4, 0.4])
    assert set(r.static("grid", "line").columns) == {"name", "from_bus", "to_bus", "max_i_ka"}
    with pytest.raises(KeyError):
        r.static("grid", "nope")


def test_not_hdf5(tmp_path):
    p = tmp_path / "x.h5"
    p.write_text("hello")
    with pytest.raises(ResultFileError, match="not an HDF5 file"):
        load(p)


def test_missing_file(tmp_path):
    with pytest.raises(ResultFileError, match="no such result file"):
        load(tmp_path / "missing.h5")


def test_other_layout_version(tmp_path, tiny_factory):
    p = tiny_factory(tmp_path / "v2.h5", layout_version=2)
    with pytest.raises(ResultFileError, match="layout_version is 2"):
        load(p)


def test_missing_groups(tmp_path):
    p = tmp_path / "partial.h5"
    with h5py.File(p, "w") as f:
        f.attrs["layout_version"] = 1
        f.attrs["start"] = "2016-01-01T00:00:00"
        f.attrs["step_s"] = 900
        f["time"] = np.arange(3)
    with pytest.raises(ResultFileError, match="missing series"):
        load(p)


def test_result_file_error_is_value_error():
    assert issubclass(ResultFileError, ValueError)


@pytest.mark.parametrize("block_bytes,chunk_steps", [(8, 1), (24, 1), (24, 2), (8, 4), (10**9, 2), (8, None)])
def test_extreme_read_in_blocks_equals_numpy_on_the_whole_series(tmp_path, monkeypatch, block_bytes, chunk_steps):
    """Reference: np.nanmin / np.nanmax of the whole array. Blocks of 1 to 3 rows and of the
    whole series, in chunks of 1, 2, 4 and all 9 rows (a block is whole chunks); NaN entries,
    a block that is all NaN, a bool series, a series without entities and one all NaN."""
    import analysis.io

    from analysis.synthetic import write_result

    monkeypatch.setattr(analysis.io, "BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(3)
    vm = rng.normal(1.0, 0.03, (9, 1))
    vm[[2, 5]] = np.nan  # rows 2 and 5 all NaN: blocks of one row are all NaN
    wide = rng.normal(50.0, 20.0, (9, 3))
    wide[4, 1] = np.nan
    series = {"grid": {"vm_pu": (vm, "pu", ["b0"]), "line_loading_percent": (wide, "percent", ["l0", "l1", "l2"]),
                       "trafo_loading_percent": (np.zeros((9, 0)), "percent", []),
                       "pf_converged": (rng.random(9) > 0.5, "bool", []),
                       "pl_mw": (np.full(9, np.nan), "MW", [])}}
    r = load(write_result(tmp_path / "x.h5", np.arange(9) * 900, series, attrs={"step_s": 900},
                          chunk_steps=chunk_steps))
    with np.errstate(invalid="ignore"):
        assert r.extreme("grid", "vm_pu", "min") == np.nanmin(vm)
        assert r.extreme("grid", "vm_pu", "max") == np.nanmax(vm)
        assert r.extreme("grid", "line_loading_percent", "max") == np.nanmax(wide)
        assert r.extreme("grid", "line_loading_percent", "min") == np.nanmin(wide)
        assert r.extreme("grid", "pf_converged", "max") == 1.0
    assert np.isnan(r.extreme("grid", "trafo_loading_percent", "max"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # all NaN: NaN, without numpy's warning
        assert np.isnan(r.extreme("grid", "pl_mw", "min"))
    r.array("grid", "vm_pu")  # read whole: the cached array is used, same value
    assert r.extreme("grid", "vm_pu", "min") == np.nanmin(vm)
    with pytest.raises(KeyError):
        r.extreme("grid", "nope", "max")

