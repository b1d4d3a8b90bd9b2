"""Load grids and SimBench profiles, shared by every simulator.

SimBench nets and their relative profiles ship inside the ``simbench``
package (no download). A SimBench net takes a few seconds to build, so parsed
nets are cached on disk (:mod:`simulators.common.netcache`) and per process,
and every caller gets its own deep copy.

Profiles are kept *relative* (one column per profile type, a few dozen
columns) and multiplied by the element's nominal value on demand. This gives
exactly the values of ``simbench.get_absolute_values`` without materialising a
35,136 x 8,772 matrix for a district grid.
"""

from __future__ import annotations

import copy
import functools
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from .safe_json import UnsafeGridFile, check_pandapower_json

log = logging.getLogger(__name__)

#: SimBench profiles: 15-min resolution over the leap year 2016 (366 days).
PROFILE_YEAR = 2016
PROFILE_STEP_S = 900
PROFILE_ROWS = 35_136
PROFILE_START = datetime(PROFILE_YEAR, 1, 1)


class GridSpecError(ValueError):
    """The grid specification does not name a loadable network."""


@functools.lru_cache(maxsize=1)
def simbench_codes() -> tuple[str, ...]:
    """All SimBench codes the installed ``simbench`` package can build."""
    from .netcache import load_codes

    def build():
        import simbench

        return simbench.collect_all_simbench_codes()

    return load_codes(build)


def _grid_key(grid: dict) -> tuple[str, str]:
    if isinstance(grid, dict):
        grid = {k: v for k, v in grid.items() if k != "profiles"}
    if not isinstance(grid, dict) or len(grid) != 1:
        raise GridSpecError(
            f"grid: expected exactly one of 'simbench' or 'pandapower_json', got {grid!r}"
        )
    (kind, value), = grid.items()
    if kind not in ("simbench", "pandapower_json"):
        raise GridSpecError(f"grid: unknown key {kind!r}; allowed: simbench, pandapower_json")
    return kind, str(value)


@functools.lru_cache(maxsize=4)
def _load_cached(kind: str, value: str):
    import warnings

    with warnings.catch_warnings():
        # simbench/pandapower emit FutureWarnings from pandas on load
        warnings.simplefilter("ignore")
        if kind == "simbench":
            if value not in simbench_codes():
                raise GridSpecError(
                    f"grid.simbench: unknown SimBench code {value!r}; "
                    "run `cosim grids` for the list"
                )
            from .netcache import load_simbench

            def build():
                import simbench

                log.info("building SimBench net %s", value)
                return simbench.get_simbench_net(value)

            return load_simbench(value, build)
        import pandapower as pp

        path = Path(value)
        if not path.is_file():
            raise GridSpecError(f"grid.pandapower_json: file {value!r} does not exist")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GridSpecError(f"grid.pandapower_json: cannot read {value!r} as UTF-8 text ({exc})") from None
        # pandapower imports any module a JSON object names: check every type tag first
        try:
            check_pandapower_json(text, source=f"grid.pandapower_json: {value!r}")
        except UnsafeGridFile as exc:
            raise GridSpecError(str(exc)) from None
        try:
            return pp.from_json_string(text, convert=True)
        except Exception as exc:  # pandapower raises many types on bad files
            detail = " ".join(str(exc).split())[:200]
            raise GridSpecError(
                f"grid.pandapower_json: {value!r} is not a pandapower JSON net ({type(exc).__name__}: {detail})"
            ) from exc


def load_net(grid: dict):
    """Return a fresh deep copy of the net named by ``grid``.

    Parameters
    ----------
    grid : dict
        ``{"simbench": CODE}`` or ``{"pandapower_json": PATH}``, optionally
        with ``"profiles": {"path", "start", "step_s", "duration_s"}`` (a
        user profile table, see :mod:`.profiles`), attached to the net so
        that :func:`element_profiles` returns its values.

    Raises
    ------
    GridSpecError
        Unknown code, missing or unreadable file.
    simulators.common.profiles.ProfileError
        The profile table does not fit the net or the run.
    """
    kind, value = _grid_key(grid)
    net = copy.deepcopy(_load_cached(kind, value))
    if isinstance(grid.get("profiles"), dict):
        from .profiles import apply_to_net

        apply_to_net(net, grid["profiles"])
    return net


def profile_row(start: datetime | str, t_s: int | np.ndarray = 0) -> int | np.ndarray:
    """SimBench profile row of the time ``t_s`` seconds after ``start``.

    The one place that maps simulation time to profile rows: rows are
    15-min (:data:`PROFILE_STEP_S`) and held constant in between (zero-order
    hold), so ``row = row(start) + t_s // 900``.

    Parameters
    ----------
    start : datetime or str
        Scenario start (ISO 8601), within 2016 and on a 15-min boundary.
    t_s : int or numpy.ndarray
        Seconds since ``start`` [s], a scalar or an integer array.

    Returns
    -------
    int or numpy.ndarray
        Row(s) into the 2016 profiles (not wrapped at the year end).

    Raises
    ------
    ValueError
        ``start`` is outside 2016 or not on a 15-min boundary.
    """
    row0 = _start_row(start)
    if np.ndim(t_s) == 0:
        return row0 + int(t_s) // PROFILE_STEP_S
    return row0 + np.asarray(t_s) // PROFILE_STEP_S


@functools.lru_cache(maxsize=64)
def _start_row(start: datetime | str) -> int:
    if isinstance(start, str):
        start = datetime.fromisoformat(start)
    start = start.replace(tzinfo=None)
    offset_s = (start - PROFILE_START).total_seconds()
    if not 0 <= offset_s < PROFILE_ROWS * PROFILE_STEP_S:
        raise ValueError(f"start {start.isoformat()} lies outside the SimBench profile year 2016")
    if offset_s % PROFILE_STEP_S:
        raise ValueError(f"start {start.isoformat()} is not on a 15-min boundary")
    return int(offset_s // PROFILE_STEP_S)


@dataclass(frozen=True)
class ElementProfiles:
    """Relative profiles of one element table, multiplied on demand.

    ``values(rows)[i, j] = rel[rows[i], col[j]] * nominal[j]``.

    Elements named in a user profile table (``grid.profiles``) take its
    absolute values instead: ``values(rows)[i, ovr_pos[k]] =
    ovr[clip(rows[i] - ovr_row0), k]`` (first/last row held outside the table).

    Attributes
    ----------
    element_index : np.ndarray
        pandapower index of the elements (column order of ``values``).
    rel : np.ndarray
        Relative profiles [rows, profile types]; the last column is all ones
        (used by elements without a profile, as simbench does).
    col : np.ndarray
        Column of ``rel`` per element.
    nominal : np.ndarray
        Nominal value per element (``net[element][column]``) [MW or Mvar].
    ovr_pos : np.ndarray
        Positions (into ``element_index``) of the elements a user table overrides.
    ovr : np.ndarray or None
        Their absolute values [table rows, len(ovr_pos)] [MW or Mvar].
    ovr_row0 : int
        Profile row of the table's first row.
    """

    element_index: np.ndarray
    rel: np.ndarray
    col: np.ndarray
    nominal: np.ndarray
    ovr_pos: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    ovr: np.ndarray | None = None
    ovr_row0: int = 0

    def values(self, rows: slice | np.ndarray | int) -> np.ndarray:
        """Absolute values [len(rows), n_elements] (2-D even for an int row)."""
        r = self.rel[rows]
        if r.ndim == 1:
            r = r[np.newaxis, :]
        out = r[:, self.col] * self.nominal
        if self.ovr is not None and len(self.ovr_pos):
            idx = np.arange(PROFILE_ROWS)[rows] if isinstance(rows, slice) else np.atleast_1d(rows)
            k = np.clip(np.asarray(idx) - self.ovr_row0, 0, len(self.ovr) - 1)
            out[:, self.ovr_pos] = self.ovr[k]
        return out

    def at(self, row: int) -> np.ndarray:
        """Absolute values [n_elements] of one profile row, wrapped into the profile year."""
        return self.values(int(row) % PROFILE_ROWS)[0]

    def subset(self, sel: np.ndarray) -> ElementProfiles:
        """The same profiles for the elements selected by the bool mask ``sel``."""
        sel = np.asarray(sel, dtype=bool)
        new_pos = np.cumsum(sel) - 1
        keep = sel[self.ovr_pos] if len(self.ovr_pos) else np.zeros(0, dtype=bool)
        ovr = self.ovr[:, keep] if self.ovr is not None else None
        return ElementProfiles(self.element_index[sel], self.rel, self.col[sel], self.nominal[sel],
                               new_pos[self.ovr_pos[keep]], ovr, self.ovr_row0)


def _relative_table(net, element: str) -> pd.DataFrame:
    profiles = net.profiles
    if element in ("load", "storage"):
        return profiles[element]
    if element in ("sgen", "gen"):
        parts = [profiles[k] for k in ("powerplants", "renewables") if k in profiles]
        import pandas as pd  # imported on use: `cosim grids` and scenario checks need no pandas

        merged = pd.concat([p.drop(columns=["time"], errors="ignore") for p in parts], axis=1)
        return merged
    raise ValueError(f"element {element!r} has no SimBench profiles")


def element_profiles(net, element: str, column: str) -> ElementProfiles:
    """Build :class:`ElementProfiles` for ``net[element][column]``.

    Same mapping as ``simbench.get_absolute_profiles_from_relative_profiles``:
    loads use ``<profile>_pload`` / ``<profile>_qload``; sgens and gens look
    in the merged powerplants + renewables tables; elements with no profile
    keep their nominal value (relative 1). Elements named in a user profile
    table attached by :func:`load_net` take its values instead.
    """
    base = _simbench_profiles(net, element, column)
    from .profiles import attached

    user = attached(net)
    if user is None or len(base.element_index) == 0:
        return base
    idx, vals = user.for_element(element, column)
    if not len(idx):
        return base
    import pandas as pd

    pos = pd.Index(base.element_index).get_indexer(idx)
    return ElementProfiles(base.element_index, base.rel, base.col, base.nominal, pos.astype(np.int64),
                           vals, user.row0)


def _simbench_profiles(net, element: str, column: str) -> ElementProfiles:
    table = net[element]
    n = len(table)
    nominal = table[column].to_numpy(dtype=float) if n else np.zeros(0)
    has_profiles = hasattr(net, "profiles") and isinstance(net.profiles, dict) and bool(net.profiles)
    if n == 0 or not has_profiles or "profile" not in table.columns:
        rel = np.ones((PROFILE_ROWS, 1))
        return ElementProfiles(table.index.to_numpy(), rel, np.zeros(n, dtype=np.int64), nominal)
    suffix = {"p_mw": "_pload", "q_mvar": "_qload"}[column] if element == "load" else ""
    rel_df = _relative_table(net, element)
    names = table["profile"].astype(object)
    import pandas as pd

    applied = [None if pd.isna(p) else f"{p}{suffix}" for p in names]
    missing = sorted({a for a in applied if a is not None and a not in rel_df.columns})
    if missing:
        raise ValueError(f"{element}.profile names missing from the profile data: {missing}")
    used = sorted({a for a in applied if a is not None})
    rel = np.ones((len(rel_df), len(used) + 1))
    if used:
        rel[:, : len(used)] = rel_df[used].to_numpy(dtype=float)
    pos = {name: i for i, name in enumerate(used)}
    col = np.array([pos[a] if a is not None else len(used) for a in applied], dtype=np.int64)
    return ElementProfiles(table.index.to_numpy(), rel, col, nominal)


def absolute_profiles(net, element: str, column: str, rows) -> np.ndarray:
    """Absolute SimBench profile values [len(rows), n_elements].

    Convenience wrapper over :func:`element_profiles`; build the
    :class:`ElementProfiles` once when called in a loop.
    """
    return element_profiles(net, element, column).values(rows)
