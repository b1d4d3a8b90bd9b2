"""User profile tables (``grid.profiles``) that override or supply element profiles.

A profile table is a wide CSV or Parquet file::

    time,load/0/p_mw,load/0/q_mvar,sgen/3/p_mw
    2016-06-01T00:00:00,0.0021,0.0007,0.0
    2016-06-01T00:15:00,0.0019,0.0006,0.0

``time`` holds ISO 8601 timestamps, evenly spaced at the run's step (at
900 s when the run's step is shorter: the testbed holds every profile value
for 15 min, as SimBench's); every other column is named
``<element>/<index>/<quantity>`` with element ``load`` (``p_mw``,
``q_mvar``), ``sgen`` (``p_mw``) or ``storage`` (``p_mw``), ``index`` the
pandapower index of the element. Values are absolute [MW, Mvar] in
pandapower's signs (loads and storage consumer reference, sgens generator
reference), before the element's ``scaling``, like SimBench's absolute
profiles. Named elements take these values; every other element keeps its
SimBench profile (or its nominal value on a net without profiles).

Time zone: the run clock has none (the scenario's ``start`` drops any UTC
offset and keeps its wall-clock time, as SimBench's 2016 profiles carry no
zone). Timestamps are read the same way: naive ones as they are; ones with a
UTC offset keep their wall-clock time and drop the offset, which must then be
the same on every row (a table in local time across a daylight-saving change
has a repeated or missing hour and is refused).

The table must cover the run (``start`` up to the last step) without gaps;
rows before or after are kept. Forecasts that look past the table's last row
see that row's value held (and the first row's before the first).

:func:`read_table` validates a file once (cached per path, size and mtime);
:func:`apply_to_net` checks it against a net and the run period and attaches
it to the net, where :func:`simulators.common.netdata.element_profiles` picks
it up, so the grid, the households' base load, the market's DSO check and
every other reader of element profiles see the same values.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

#: Elements and quantities a profile table may name.
QUANTITIES = {"load": ("p_mw", "q_mvar"), "sgen": ("p_mw",), "storage": ("p_mw",)}
#: Key under which the checked table is attached to a pandapower net.
NET_KEY = "cosim_user_profiles"
#: ``grid.profiles`` value that states on purpose that a net runs with constant loads.
CONSTANT = "constant"
FIELD = "grid.profiles"
_COLUMN = re.compile(r"^(load|sgen|storage)/(-?\d+)/([a-z_]+)$")
_ALLOWED = "columns 'time' and <element>/<index>/<quantity> with load/I/p_mw, load/I/q_mvar, sgen/I/p_mw, " \
           "storage/I/p_mw"


class ProfileError(ValueError):
    """A ``grid.profiles`` table cannot be used; the message is one line starting with the field."""


def _fail(problem: str, got) -> ProfileError:
    text = repr(got) if not isinstance(got, str) else f"'{got}'"
    if len(text) > 80:
        text = text[:77] + "..."
    return ProfileError(f"{FIELD}: {problem}; got {text}")


@dataclass(frozen=True)
class ProfileTable:
    """A validated table before it meets a net.

    Attributes
    ----------
    path : str
        The file it came from.
    time : numpy.ndarray
        ``datetime64[s]`` per row, naive, strictly increasing, evenly spaced.
    step_s : int
        Spacing of the rows [s].
    columns : tuple of (str, int, str)
        ``(element, index, quantity)`` per value column.
    values : numpy.ndarray
        Values [rows, columns] [MW or Mvar], all finite.
    """

    path: str
    time: np.ndarray
    step_s: int
    columns: tuple
    values: np.ndarray


def _read_frame(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise _fail("reading Parquet needs the 'pyarrow' package, which is not installed; "
                        "install it or give a CSV file", str(path)) from None
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - pyarrow raises many types on bad files
            raise _fail(f"not a readable Parquet file ({type(exc).__name__})", str(path)) from None
    if suffix != ".csv":
        raise _fail("expected a .csv or .parquet file", str(path))
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except UnicodeDecodeError:
        raise _fail("not UTF-8 text", str(path)) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _fail(f"not a readable CSV table ({' '.join(str(exc).split())[:80]})", str(path)) from None


def _parse_time(raw: pd.Series) -> np.ndarray:
    out = np.empty(len(raw), dtype="datetime64[s]")
    offsets = set()
    for i, v in enumerate(raw):
        if isinstance(v, pd.Timestamp | datetime):
            ts = v
        else:
            try:
                ts = datetime.fromisoformat(str(v).strip())
            except ValueError:
                raise _fail(f"row {i + 1}: time is not an ISO 8601 timestamp", v) from None
        offsets.add(ts.utcoffset())
        out[i] = np.datetime64(ts.replace(tzinfo=None), "s")
    if len(offsets) > 1:
        raise _fail("timestamps carry different UTC offsets (local time across a daylight-saving change?); "
                    "give naive or fixed-offset times", sorted(str(o) for o in offsets))
    return out


def _parse_columns(names: list[str]) -> tuple:
    cols = []
    for name in names:
        m = _COLUMN.match(name)
        if m is None or m.group(3) not in QUANTITIES[m.group(1)]:
            raise _fail(f"unknown column; allowed: {_ALLOWED}", name)
        key = (m.group(1), int(m.group(2)), m.group(3))
        if key in cols:
            raise _fail("two columns name the same element and quantity", name)
        cols.append(key)
    return tuple(cols)


def _to_float(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    values = np.empty((len(frame), len(names)))
    for j, name in enumerate(names):
        col = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(col)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise _fail(f"column {name!r} row {i + 1}: values must be finite numbers (no NaN, inf or blank)",
                        frame[name].iloc[i])
        values[:, j] = col
    return values


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, _size: int, _mtime_ns: int) -> ProfileTable:
    frame = _read_frame(Path(path))
    names = [str(c) for c in frame.columns]
    if "time" not in names:
        raise _fail("the table has no 'time' column", names[:5])
    if len(set(names)) != len(names):
        raise _fail("a column is named twice", sorted({n for n in names if names.count(n) > 1}))
    if len(frame) < 1:
        raise _fail("the table has no rows", path)
    value_names = [n for n in names if n != "time"]
    if not value_names:
        raise _fail("the table has no value column; " + _ALLOWED, names)
    columns = _parse_columns(value_names)
    time = _parse_time(frame["time"])
    values = _to_float(frame, value_names)
    step_s = 0
    if len(time) > 1:
        d = np.diff(time).astype(np.int64)
        step_s = int(d[0])
        if step_s <= 0 or np.any(d != step_s):
            i = int(np.flatnonzero(d != step_s)[0]) if np.any(d != step_s) else 0
            raise _fail(f"rows must be increasing and evenly spaced; step {step_s} s, then "
                        f"{int(d[i])} s after row {i + 2}", str(time[i + 1]))
    return ProfileTable(path, time, step_s, columns, values)


def read_table(path: str) -> ProfileTable:
    """Read and validate a profile table (no net needed).

    Raises
    ------
    ProfileError
        Missing file, unreadable file, unknown column, unparseable time,
        uneven rows, NaN/inf.
    """
    p = Path(path)
    if not p.is_file():
        raise _fail("file does not exist", path)
    st = p.stat()
    return _read_cached(str(p.resolve()), st.st_size, st.st_mtime_ns)


def expected_step_s(run_step_s: int) -> int:
    """Row spacing a table must have for a run with step ``run_step_s`` [s]."""
    return max(int(run_step_s), 900)


@dataclass(frozen=True)
class AttachedProfiles:
    """A table checked against one net and period, on the SimBench row grid.

    ``values[r, j]`` is the value of column ``j`` in 15-min profile row
    ``row0 + r`` (rows of a coarser table repeated).
    """

    row0: int
    columns: tuple
    values: np.ndarray

    def for_element(self, element: str, quantity: str) -> tuple[np.ndarray, np.ndarray]:
        """``(indices, values [rows, k])`` of the columns naming ``element``/``quantity``."""
        js = [j for j, (e, _, q) in enumerate(self.columns) if e == element and q == quantity]
        idx = np.array([self.columns[j][1] for j in js], dtype=np.int64)
        return idx, self.values[:, js]


def check_against(table: ProfileTable, net, start: datetime | str, step_s: int, duration_s: int) -> AttachedProfiles:
    """Check ``table`` against ``net`` and the run period; return it on the profile row grid.

    Raises
    ------
    ProfileError
        An element index not in the net, a step other than
        :func:`expected_step_s`, or rows missing over the run period.
    """
    from .netdata import PROFILE_STEP_S, profile_row

    for element, index, quantity in table.columns:
        if index not in net[element].index:
            have = net[element].index
            span = f"{element} indices {have.min()}..{have.max()}" if len(have) else f"no {element} elements"
            raise _fail(f"column names a {element} the net does not have (it has {span})",
                        f"{element}/{index}/{quantity}")
    if isinstance(start, str):
        start = datetime.fromisoformat(start)
    start = start.replace(tzinfo=None)
    want = expected_step_s(step_s)
    if len(table.time) > 1 and table.step_s != want:
        raise _fail(f"rows are {table.step_s} s apart; this run needs rows every {want} s "
                    f"(the run's step, at least 900 s)", table.path)
    first = table.time[0].astype(datetime)
    n_run = max(1, math.ceil(duration_s / want))
    last_needed = start + timedelta(seconds=(n_run - 1) * want)
    last = table.time[-1].astype(datetime)
    if first > start or last < last_needed:
        raise _fail(f"rows must cover the run from {start.isoformat()} to {last_needed.isoformat()} "
                    f"every {want} s; the table spans {first.isoformat()} to {last.isoformat()}", table.path)
    if (first - start).total_seconds() % want:
        raise _fail(f"timestamps are not aligned with the run start {start.isoformat()} at {want} s",
                    first.isoformat())
    offset_s = int((first - datetime(2016, 1, 1)).total_seconds())
    if offset_s < 0 or offset_s % PROFILE_STEP_S:
        raise _fail("the first row must lie in or after 2016 on a 15-min boundary", first.isoformat())
    row0 = int(profile_row(datetime(2016, 1, 1), offset_s))
    values = np.repeat(table.values, want // PROFILE_STEP_S, axis=0)
    return AttachedProfiles(row0, table.columns, values)


def apply_to_net(net, spec: dict) -> None:
    """Attach the profiles of ``spec`` to ``net`` (in place).

    ``spec`` is ``{"path": PATH, "start": ISO, "step_s": s, "duration_s": s}``.
    """
    table = read_table(spec["path"])
    net[NET_KEY] = check_against(table, net, spec["start"], int(spec["step_s"]), int(spec["duration_s"]))


def attached(net) -> AttachedProfiles | None:
    """The profiles attached to ``net`` by :func:`apply_to_net`, if any."""
    try:
        return net[NET_KEY] if NET_KEY in net else None
    except TypeError:
        return None
