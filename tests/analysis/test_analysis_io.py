"""load(): labelled access and typed errors on bad files."""

from __future__ import annotations

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
