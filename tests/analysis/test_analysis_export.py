"""Result API details (labels, enums, resolved config) and ``cosim export``.

Expected values are the hand-made arrays of ``conftest.tiny_series`` and the
reason table of ``simulators.market.dso.REASONS``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis import load
from analysis.cli import export_main
from analysis.synthetic import write_result


@pytest.fixture
def with_trades(tmp_path):
    from simulators.market.operator import EVENT_TRADE_DTYPE

    trades = np.zeros(3, dtype=EVENT_TRADE_DTYPE)
    trades["interval_s"] = [0, 900, 900]
    trades["quantity_mwh"] = [0.1, 0.2, 0.05]
    trades["reason"] = [0, 3, 8]  # approved, line_overload, counterparty_curtailed (dso.REASONS)
    series = {"grid": {"vm_pu": (np.array([[1.0, 0.99], [1.01, 0.98]]), "pu", ["LV1 Bus 1", "LV1 Bus 2"]),
                       "pl_mw": (np.array([0.01, 0.02]), "MW", [])}}
    static = {"grid": {"bus": {"name": ["LV1 Bus 1", "LV1 Bus 2"], "vn_kv": np.array([0.4, 0.4])}}}
    attrs = {"start": "2016-06-01T00:00:00+00:00", "scenario_resolved": json.dumps({"name": "x", "seed": 7})}
    return write_result(tmp_path / "t.h5", np.array([0, 900]), series, static=static,
                        events={"trades": trades}, attrs=attrs)


def test_labels_are_str_and_start_keeps_its_zone(with_trades):
    r = load(with_trades)
    assert r.entities("grid", "vm_pu") == ["LV1 Bus 1", "LV1 Bus 2"]
    assert all(type(c) is str for c in r.series("grid", "vm_pu").columns)
    assert all(type(v) is str for v in r.static("grid", "bus")["name"])
    assert str(r.index.tz) == "UTC" and r.index[1] == pd.Timestamp("2016-06-01T00:15:00+00:00")
    assert r.config == {"name": "x", "seed": 7}


def test_reason_enum_is_in_the_file_and_exposed_by_name(with_trades):
    r = load(with_trades)
    assert r.enums("trades")["reason"][3] == "line_overload"
    assert list(r.events("trades")["reason"]) == [0, 3, 8]  # codes stay the default
    assert list(r.events("trades", enum_names=True)["reason"]) == ["approved", "line_overload",
                                                                   "counterparty_curtailed"]


def test_export_csv_is_tidy_with_timestamps_and_names(with_trades, tmp_path, capsys):
    out = tmp_path / "csv"
    assert export_main([str(with_trades), "--format", "csv", "--out", str(out)]) == 0
    series = pd.read_csv(out / "series.csv")
    assert list(series.columns) == ["time", "simulator", "attribute", "entity", "unit", "value"]
    # 2 steps x 2 buses of vm_pu + 2 steps of the scalar pl_mw
    assert len(series) == 6
    row = series[(series.attribute == "vm_pu") & (series.entity == "LV1 Bus 2")].iloc[1]
    assert row.time == "2016-06-01T00:15:00+00:00" and row.value == 0.98 and row.unit == "pu"
    trades = pd.read_csv(out / "events_trades.csv")
    assert list(trades["reason"]) == ["approved", "line_overload", "counterparty_curtailed"]
    assert trades["time"].iloc[1] == "2016-06-01T00:15:00+00:00"
    assert json.loads((out / "attributes.json").read_text())["step_s"] == 900
    assert (out / "static_grid_bus.csv").is_file()


def test_export_parquet_and_netcdf_when_available(with_trades, tmp_path):
    pytest.importorskip("pyarrow")
    assert export_main([str(with_trades), "--format", "parquet", "--out", str(tmp_path / "pq")]) == 0
    assert pd.read_parquet(tmp_path / "pq" / "series.parquet")["value"].size == 6
    xr = pytest.importorskip("xarray")
    if not any(__import__("importlib").util.find_spec(m) for m in ("h5netcdf", "netCDF4")):
        pytest.skip("no NetCDF engine")
    assert export_main([str(with_trades), "--format", "netcdf", "--out", str(tmp_path / "nc")]) == 0
    ds = xr.open_dataset(tmp_path / "nc" / "result.nc")
    assert float(ds["grid__vm_pu"].sel({"grid__vm_pu__entity": "LV1 Bus 2"})[1]) == 0.98
    assert ds["grid__vm_pu"].attrs["units"] == "pu"
    ds.close()


def test_missing_package_is_named_and_nothing_written(with_trades, tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "xarray" else real(name, *a))
    out = tmp_path / "nc"
    assert export_main([str(with_trades), "--format", "netcdf", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'xarray'" in err
    assert not out.exists()
