"""Export a result file to the formats people load: CSV, Parquet, NetCDF.

``cosim export RESULT.h5 --format csv|parquet|netcdf --out DIR`` writes, in
``DIR``:

* ``series.<ext>`` (CSV, Parquet): every recorded series in tidy (long) form,
  one row per time, simulator, attribute and entity, with columns ``time``
  (ISO 8601 timestamp with UTC offset when the file has one), ``simulator``,
  ``attribute``, ``entity`` (the entity label as ``str``; ``""`` for scalar
  series), ``unit`` and ``value``;
* ``events_<name>.<ext>``: each event table, enum columns (the market's
  ``reason``) as names, plus a ``time`` column when the table has
  ``interval_s`` (seconds since ``start``);
* ``static_<sim>_<table>.<ext>``: the static tables (element names, buses),
  to join with the entity labels;
* ``attributes.json``: the root attributes (scenario, resolved
  configuration, versions, commit).

NetCDF writes one ``result.nc`` instead: each series is a variable
``<sim>__<attr>`` over ``time`` and its own entity dimension
``<sim>__<attr>__entity`` (coordinates: the labels), with ``units``; events
and static tables stay in CSV beside it (NetCDF has no record tables).

Parquet needs ``pyarrow``; NetCDF needs ``xarray`` and ``h5netcdf`` (or
``netCDF4``). A missing package is named in the error, nothing is written.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.io import Result

FORMATS = ("csv", "parquet", "netcdf")


def _require(fmt: str) -> str | None:
    """The NetCDF engine to use (``None`` for other formats); raise naming a missing package."""
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise AnalysisError("--format parquet needs the package 'pyarrow' (pip install pyarrow); nothing written")
    if fmt == "netcdf":
        if importlib.util.find_spec("xarray") is None:
            raise AnalysisError("--format netcdf needs the package 'xarray' and 'h5netcdf' or 'netCDF4' "
                                "(pip install xarray h5netcdf); nothing written")
        for module, engine in (("h5netcdf", "h5netcdf"), ("netCDF4", "netcdf4")):
            if importlib.util.find_spec(module) is not None:
                return engine
        raise AnalysisError("--format netcdf needs the package 'h5netcdf' or 'netCDF4' besides xarray "
                            "(pip install h5netcdf); nothing written")
    return None


def tidy_series(result: Result) -> pd.DataFrame:
    """All series in long form: time, simulator, attribute, entity, unit, value."""
    parts = []
    times = result.index.map(lambda t: t.isoformat())
    for sim in result.simulators:
        for attr in result.attributes(sim):
            values = result.array(sim, attr)
            unit = result.unit(sim, attr)
            if values.ndim == 1:
                entities, flat = [""], values.reshape(-1, 1)
            else:
                flat = values.reshape(values.shape[0], -1)
                labels = result.entities(sim, attr)
                entities = labels if len(labels) == flat.shape[1] else [str(i) for i in range(flat.shape[1])]
            n_t, n_e = flat.shape
            parts.append(pd.DataFrame({
                "time": np.repeat(np.asarray(times, dtype=object), n_e),
                "simulator": sim,
                "attribute": attr,
                "entity": np.tile(np.asarray(entities, dtype=object), n_t),
                "unit": unit,
                "value": flat.reshape(-1),
            }))
    if not parts:
        return pd.DataFrame(columns=["time", "simulator", "attribute", "entity", "unit", "value"])
    return pd.concat(parts, ignore_index=True)


def event_frame(result: Result, name: str) -> pd.DataFrame:
    """An event table with enum names and, when it has ``interval_s``, a ``time`` column."""
    frame = result.events(name, enum_names=True)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype(str)
    if "interval_s" in frame.columns:
        start = result.index[0] - pd.to_timedelta(result.time_s[0], unit="s") if result.n_steps else None
        if start is not None:
            frame.insert(0, "time", [(start + pd.to_timedelta(int(s), unit="s")).isoformat()
                                     for s in frame["interval_s"]])
    return frame


def _attrs_json(result: Result) -> str:
    def plain(v):
        return v if isinstance(v, (str, int, float, bool, list, dict, type(None))) else str(v)

    return json.dumps({k: plain(v) for k, v in sorted(result.attrs.items())}, indent=2)


def _write_table(frame: pd.DataFrame, path: Path, fmt: str) -> Path:
    if fmt == "parquet":
        frame.to_parquet(path.with_suffix(".parquet"), index=False)
        return path.with_suffix(".parquet")
    frame.to_csv(path.with_suffix(".csv"), index=False)
    return path.with_suffix(".csv")


def _netcdf(result: Result, path: Path, engine: str) -> Path:
    import xarray as xr

    data_vars = {}
    for sim in result.simulators:
        for attr in result.attributes(sim):
            values = result.array(sim, attr)
            name = f"{sim}__{attr}"
            attrs = {"units": result.unit(sim, attr)}
            if values.ndim == 1:
                data_vars[name] = xr.DataArray(values, dims=("time",), attrs=attrs)
            else:
                flat = values.reshape(values.shape[0], -1)
                labels = result.entities(sim, attr)
                labels = labels if len(labels) == flat.shape[1] else [str(i) for i in range(flat.shape[1])]
                dim = f"{name}__entity"
                data_vars[name] = xr.DataArray(flat, dims=("time", dim), coords={dim: np.asarray(labels, dtype=str)},
                                               attrs=attrs)
    index = result.index.tz_convert("UTC").tz_localize(None) if result.index.tz is not None else result.index
    ds = xr.Dataset(data_vars, coords={"time": np.asarray(index, dtype="datetime64[ns]")})
    ds["time"].attrs["time_zone"] = "UTC" if result.index.tz is not None else "unspecified"
    for k in ("scenario_name", "scenario_sha256", "cosim_version", "git_commit", "start", "step_s"):
        if k in result.attrs:
            ds.attrs[k] = str(result.attrs[k])
    ds.to_netcdf(path, engine=engine)
    return path


def export(result: Result, out_dir: str | Path, fmt: str) -> list[Path]:
    """Write ``result`` into ``out_dir`` in format ``fmt``; return the files written."""
    if fmt not in FORMATS:
        raise AnalysisError(f"--format: expected one of {', '.join(FORMATS)}; got {fmt!r}")
    engine = _require(fmt)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise AnalysisError(f"--out: {out} exists and is not a folder; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    table_fmt = "csv" if fmt == "netcdf" else fmt
    if fmt == "netcdf":
        written.append(_netcdf(result, out / "result.nc", engine))
    else:
        written.append(_write_table(tidy_series(result), out / "series", fmt))
    for name in result.event_tables:
        written.append(_write_table(event_frame(result, name), out / f"events_{name}", table_fmt))
    for sim, tables in sorted(result._layout["static"].items()):
        for table in sorted(tables):
            written.append(_write_table(result.static(sim, table), out / f"static_{sim}_{table}", table_fmt))
    (out / "attributes.json").write_text(_attrs_json(result))
    written.append(out / "attributes.json")
    return written
