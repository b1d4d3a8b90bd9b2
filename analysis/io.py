"""Read a cosim result file (HDF5, layout version 1) into labelled pandas data.

The layout and this API are documented in ``docs/results.md``:

* root attributes ``layout_version`` (1), ``start`` (ISO 8601, with UTC offset
  in files from this version on), ``step_s``, ``scenario_resolved`` (JSON),
  ``git_commit``, ...
* ``/time``: int64 seconds since ``start``, one row per recorded step;
* ``/series/<sim>/<attr>``: ``[time, entity]`` or ``[time]`` with attributes
  ``unit`` and ``entities``;
* ``/static/<sim>/<table>/<column>``: per-column datasets of one table;
* ``/events/<name>``: 1-D structured arrays.

:func:`load` validates the file once; :class:`Result` then reads datasets
lazily (each on first use, then cached), so a report on a large run touches
only what it needs.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from analysis.errors import ResultFileError
from cosim.recorder import LAYOUT_VERSION  # the layout version this reader understands (its writer's)

#: Bytes of a series read at once by :meth:`Result.extreme` (a district year's
#: ``vm_pu``, 2.6 GB whole, in 39 blocks).
BLOCK_BYTES = 64 * 2**20

logger = logging.getLogger(__name__)

#: Groups/datasets every result file must contain.
REQUIRED = ("time", "series")

#: Root attributes every result file must carry.
REQUIRED_ATTRS = ("start", "step_s")


def _decode(value: object) -> object:
    """Turn h5py attribute values (bytes, numpy scalars, arrays) into Python."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SO":
            return [_decode(v) for v in value.tolist()]
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _labels(values: object) -> list[str]:
    """Entity labels as a list of str (empty for scalars)."""
    if values is None:
        return []
    decoded = _decode(np.asarray(values)) if not isinstance(values, list) else values
    if isinstance(decoded, (str, int, float)):
        return [str(decoded)]
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in decoded]


class Result:
    """Labelled, read-only access to one result file.

    Use :func:`load` to create it. Time-indexed accessors return pandas objects
    indexed by timestamps (``start + /time`` seconds); :meth:`array` returns
    the raw numpy array for vectorised KPI code.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    attrs : dict
        Root attributes, decoded (``packages`` parsed from JSON when possible).
    time_s : numpy.ndarray
        Seconds since ``start`` of every recorded step [s].
    index : pandas.DatetimeIndex
        Timestamps of the recorded steps.
    step_s : float
        Step length [s].
    """

    def __init__(self, path: Path, attrs: dict, time_s: np.ndarray, layout: dict) -> None:
        self.path = path
        self.attrs = attrs
        self.time_s = time_s
        self.step_s = float(attrs["step_s"])
        start = pd.Timestamp(str(attrs["start"]))
        self.index = pd.DatetimeIndex(start + pd.to_timedelta(time_s, unit="s"), name="time")
        self._layout = layout  # {"series": {sim: {attr: (unit, entities)}}, "static": ..., "events": [...]}
        self._cache: dict[str, object] = {}

    # -- what is in the file -------------------------------------------------
    @property
    def label(self) -> str:
        """Short name of the run (file stem)."""
        return self.path.stem

    @property
    def dt_h(self) -> float:
        """Step length [h]."""
        return self.step_s / 3600.0

    @property
    def n_steps(self) -> int:
        """Number of recorded steps."""
        return int(self.time_s.size)

    @property
    def simulators(self) -> list[str]:
        """Simulators with at least one recorded series."""
        return sorted(self._layout["series"])

    def attributes(self, sim: str) -> list[str]:
        """Recorded series attributes of ``sim`` (empty if absent)."""
        return sorted(self._layout["series"].get(sim, {}))

    @property
    def event_tables(self) -> list[str]:
        """Names of the event tables in ``/events``."""
        return sorted(self._layout["events"])

    def has(self, sim: str, attr: str | None = None) -> bool:
        """Whether simulator ``sim`` (and its series ``attr``) was recorded."""
        series = self._layout["series"].get(sim)
        if series is None:
            return False
        return attr is None or attr in series

    def has_events(self, name: str) -> bool:
        """Whether the event table ``/events/<name>`` exists."""
        return name in self._layout["events"]

    def unit(self, sim: str, attr: str) -> str:
        """Unit of a series (its ``unit`` attribute)."""
        return self._meta(sim, attr)[0]

    def entities(self, sim: str, attr: str) -> list[str]:
        """Entity labels of a series (empty for scalar series)."""
        return list(self._meta(sim, attr)[1])

    def _meta(self, sim: str, attr: str) -> tuple[str, list[str]]:
        if not self.has(sim, attr):
            raise KeyError(f"{self.path.name} has no series {sim}/{attr}; available: {self.attributes(sim)}")
        return self._layout["series"][sim][attr]

    # -- data ------------------------------------------------------------------
    def _read(self, key: str) -> np.ndarray:
        if key not in self._cache:
            with h5py.File(self.path, "r") as f:
                self._cache[key] = f[key][()]
        return self._cache[key]  # type: ignore[return-value]

    def extreme(self, sim: str, attr: str, which: str) -> float:
        """``np.nanmin`` (``which="min"``) or ``np.nanmax`` (``"max"``) of a whole series as float.

        Read whole chunks along time, about :data:`BLOCK_BYTES` at a time,
        unless the series was read whole already: a district year's ``vm_pu``
        alone is 2.6 GB. The minimum of
        the blocks' minima is the minimum, so the value is exactly the one of
        the whole array. NaN for a series without entries or with none that
        is not NaN.
        """
        reduce = {"min": np.nanmin, "max": np.nanmax}[which]
        self._meta(sim, attr)
        key = f"series/{sim}/{attr}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks give NaN
            if key in self._cache:
                whole = np.asarray(self._cache[key], dtype=np.float64)
                return float(reduce(whole)) if whole.size else math.nan
            with h5py.File(self.path, "r") as f:
                ds = f[key]
                if ds.size == 0:
                    return math.nan
                # whole chunks along time (the recorder's chunk_steps rows): each is inflated once
                step = ds.chunks[0] if ds.chunks else 1
                rows = max(1, BLOCK_BYTES // (ds.size // ds.shape[0] * ds.dtype.itemsize)) // step * step or step
                values = [reduce(np.asarray(ds[i:i + rows], dtype=np.float64)) for i in range(0, ds.shape[0], rows)]
            return float(reduce(values))

    def array(self, sim: str, attr: str) -> np.ndarray:
        """Raw values of ``/series/<sim>/<attr>`` as float64 (bool -> 0/1)."""
        self._meta(sim, attr)
        return np.asarray(self._read(f"series/{sim}/{attr}"), dtype=np.float64)

    def series(self, sim: str, attr: str) -> pd.DataFrame | pd.Series:
        """A series as a time-indexed DataFrame (entity columns) or Series (scalars)."""
        unit, entities = self._meta(sim, attr)
        values = self._read(f"series/{sim}/{attr}")
        if values.ndim == 1:
            return pd.Series(values, index=self.index, name=attr)
        columns = entities if len(entities) == values.shape[1] else [str(i) for i in range(values.shape[1])]
        return pd.DataFrame(values, index=self.index, columns=pd.Index(columns, name="entity"))

    def __getitem__(self, key: str) -> pd.DataFrame | pd.Series:
        """``result["grid/vm_pu"]`` is ``result.series("grid", "vm_pu")``."""
        sim, _, attr = key.partition("/")
        return self.series(sim, attr)

    def static(self, sim: str, table: str) -> pd.DataFrame:
        """The table ``/static/<sim>/<table>`` (one column per dataset)."""
        columns = self._layout["static"].get(sim, {}).get(table)
        if columns is None:
            raise KeyError(f"{self.path.name} has no static table {sim}/{table}")
        data = {}
        for col in columns:
            values = self._read(f"static/{sim}/{table}/{col}")
            data[col] = _labels(values) if values.dtype.kind in "SO" else values
        return pd.DataFrame(data)

    def enums(self, name: str) -> dict[str, dict[int, str]]:
        """Named codes of the event table ``/events/<name>``: ``{column: {code: name}}``.

        Columns stored as HDF5 ENUM types (such as the market's ``reason``)
        carry their names in the file; other columns are absent. Empty for a
        missing table or a file written before the enums were recorded.
        """
        if not self.has_events(name):
            return {}
        with h5py.File(self.path, "r", locking=False) as f:
            fields = f[f"events/{name}"].dtype.fields or {}
            out = {}
            for col, (dtype, *_rest) in fields.items():
                mapping = h5py.check_enum_dtype(dtype)
                if mapping:
                    out[col] = {int(code): str(label) for label, code in mapping.items()}
        return out

    def events(self, name: str, enum_names: bool = False) -> pd.DataFrame:
        """The event table ``/events/<name>`` as a DataFrame (empty if absent).

        Text columns are ``str``. With ``enum_names=True`` every enum column
        (see :meth:`enums`) holds the names of its codes (a pandas categorical)
        instead of the integer codes.
        """
        if not self.has_events(name):
            return pd.DataFrame()
        values = self._read(f"events/{name}")
        frame = pd.DataFrame(values)
        for col in frame.columns:
            if frame[col].dtype == object:
                frame[col] = [v.decode("utf-8") if isinstance(v, bytes) else v for v in frame[col]]
        if enum_names:
            for col, names in self.enums(name).items():
                labels = [names.get(int(v), f"unknown({int(v)})") for v in frame[col]]
                frame[col] = pd.Categorical(labels, categories=sorted(set(names.values()) | set(labels)))
        return frame

    @property
    def config(self) -> dict | None:
        """The fully resolved scenario (after ``extends``, ``--set`` and defaults), or ``None``.

        ``None`` for files written before the resolved configuration was
        recorded; their merged YAML is still in ``attrs["scenario_yaml"]``.
        """
        text = self.attrs.get("scenario_resolved")
        return json.loads(text) if isinstance(text, str) and text else None

    def __repr__(self) -> str:
        return (
            f"Result({self.path.name!r}, steps={self.n_steps}, step_s={self.step_s:g}, "
            f"simulators={self.simulators}, status={self.attrs.get('status')!r})"
        )


def _scan(f: h5py.File) -> dict:
    """Collect the names, units and entities of every series, static table, event table."""
    layout: dict = {"series": {}, "static": {}, "events": []}
    for sim, group in f["series"].items():
        if not isinstance(group, h5py.Group):
            continue
        layout["series"][sim] = {
            attr: (str(_decode(ds.attrs.get("unit", ""))), _labels(ds.attrs.get("entities")))
            for attr, ds in group.items()
            if isinstance(ds, h5py.Dataset)
        }
    if "static" in f:
        for sim, group in f["static"].items():
            layout["static"][sim] = {
                table: list(tgroup.keys()) for table, tgroup in group.items() if isinstance(tgroup, h5py.Group)
            }
    if "events" in f:
        layout["events"] = [k for k, v in f["events"].items() if isinstance(v, h5py.Dataset)]
    return layout


def _check_consistent(f: h5py.File, path: Path, attrs: dict, time_s: np.ndarray, layout: dict) -> None:
    """Refuse files whose numbers would be meaningless: bad step, start, time or row counts."""
    step = attrs.get("step_s")
    if isinstance(step, bool) or not isinstance(step, (int, float)) or not np.isfinite(step) or step <= 0:
        raise ResultFileError(f"{path}: root attribute step_s must be a positive number of seconds, got {step!r}")
    try:
        pd.Timestamp(str(attrs.get("start")))
    except (ValueError, TypeError, OverflowError):
        raise ResultFileError(f"{path}: root attribute start must be an ISO 8601 date, "
                              f"got {str(attrs.get('start'))[:40]!r}") from None
    if time_s.size > 1 and np.any(np.diff(time_s) <= 0):
        raise ResultFileError(f"{path}: /time is not strictly increasing")
    for sim, series in layout["series"].items():
        for attr in series:
            rows = f[f"series/{sim}/{attr}"].shape[:1]
            if rows != (time_s.size,):
                raise ResultFileError(f"{path}: /series/{sim}/{attr} has {rows[0] if rows else 0} rows but "
                                      f"/time has {time_s.size}; the file is inconsistent")
    for name in layout["events"]:
        if f[f"events/{name}"].dtype.names is None:
            raise ResultFileError(f"{path}: /events/{name} is not a table (structured array)")


def require_complete(result: Result) -> None:
    """Raise unless the run that wrote ``result`` completed (``status == 'complete'``).

    Raises
    ------
    ResultFileError
        For ``running``, ``interrupted``, ``failed`` or a missing status: the
        KPIs of an unfinished run are not those of the scenario.
    """
    status = result.attrs.get("status")
    if status != "complete":
        planned = result.attrs.get("n_steps")
        of = f" of {planned}" if planned is not None else ""
        raise ResultFileError(
            f"{result.path}: status is {status!r}, not 'complete' ({result.n_steps}{of} steps recorded); "
            "pass --allow-partial to use it anyway")


def load(path: str | Path) -> Result:
    """Open a result file and check its layout.

    Parameters
    ----------
    path : str or pathlib.Path
        A result file written by ``cosim run`` (or :mod:`analysis.synthetic`).

    Returns
    -------
    Result
        Lazy, labelled access to the file.

    Raises
    ------
    ResultFileError
        If the file does not exist, is not HDF5, has another ``layout_version``
        or lacks ``/time``, ``/series`` or the root attributes ``start`` and
        ``step_s``.
    """
    path = Path(path)
    if not path.is_file():
        raise ResultFileError(f"{path}: no such result file; pass the .h5 file written by 'cosim run'")
    try:
        is_hdf5 = h5py.is_hdf5(path)
    except OSError as exc:
        raise ResultFileError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if not is_hdf5:
        raise ResultFileError(f"{path}: not an HDF5 file; pass the .h5 file written by 'cosim run'")
    try:
        with h5py.File(path, "r", locking=False) as f:
            attrs = {k: _decode(v) for k, v in f.attrs.items()}
            version = attrs.get("layout_version")
            if version != LAYOUT_VERSION:
                raise ResultFileError(
                    f"{path}: layout_version is {version!r}, this reader understands {LAYOUT_VERSION}; "
                    "re-run the scenario with this cosim version or use the matching analysis version"
                )
            missing = [k for k in REQUIRED if k not in f] + [f"attr {k}" for k in REQUIRED_ATTRS if k not in attrs]
            if missing:
                raise ResultFileError(
                    f"{path}: not a complete cosim result, missing {', '.join(missing)}; "
                    "was the run interrupted before the recorder wrote its first step?"
                )
            time = f["time"]
            if not isinstance(time, h5py.Dataset) or time.ndim != 1 or time.dtype.kind not in "iu":
                raise ResultFileError(f"{path}: /time must be a 1-D integer dataset (seconds since start), "
                                      f"got {getattr(time, 'dtype', type(time).__name__)}")
            time_s = np.asarray(time[()], dtype=np.int64)
            layout = _scan(f)
            _check_consistent(f, path, attrs, time_s, layout)
    except ResultFileError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as exc:  # h5py: corrupt or truncated file
        raise ResultFileError(f"{path}: cannot read the HDF5 file ({type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:200]})") from None
    if isinstance(attrs.get("packages"), str):
        try:
            attrs["packages"] = json.loads(attrs["packages"])
        except json.JSONDecodeError:
            logger.warning("%s: root attribute 'packages' is not JSON; kept as text", path)
    logger.debug("loaded %s: %d steps, simulators %s", path, time_s.size, sorted(layout["series"]))
    return Result(path, attrs, time_s, layout)
