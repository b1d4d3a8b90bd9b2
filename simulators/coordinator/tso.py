"""TSO balancing needs at the PCC: a seeded AR(1) imbalance process or a CSV.

Sign convention
---------------
``need_mw > 0``: the system is short (German "NRV-Saldo" positive,
"Unterdeckung", netztransparenz.de), the TSO needs **upward** regulation
(more injection / less consumption). ``need_mw < 0``: the system is long, the
TSO needs **downward** regulation.

Stochastic process
------------------
The system imbalance is modelled per 15-min interval as a stationary AR(1)

    n[k] = mean + phi * (n[k-1] - mean) + sqrt(1 - phi**2) * sigma * e[k],
    e[k] ~ N(0, 1),

scaled to the coordinator's share of the system (``area_share``), so the need
seen at the PCC is ``area_share * n[k]``. Defaults (``schema.TsoConfig``):

* ``system_sigma_mw = 500`` and ``phi = 0.7`` are *assumptions* of the order
  of magnitude of the German NRV-Saldo, whose dimensioned aFRR + mFRR reserve
  is a few GW per direction (regelleistung.net tenders; the NRV-Saldo traffic
  light of the four German TSOs turns red at 80 % of it, netztransparenz.de
  FAQ). For quantitative studies give the published quarter-hourly NRV-Saldo
  (netztransparenz.de, "NRV-Saldo") or the ENTSO-E Transparency Platform series
  "Current balancing state" (EB GL art. 12.3.a) as a CSV instead.
* ``area_share`` defaults to the areas' nominal load over the German peak
  load of about 80 GW (AGEB / ENTSO-E Statistical Factsheet: German peak load
  77–82 GW in 2016–2022).

CSV format
----------
Columns ``time`` (ISO 8601 timestamp or seconds since the run start),
``need_mw`` (signed, convention above) and ``price_eur_per_mwh`` (the TSO's
price for activated energy in that interval). Rows equally spaced, no NaN.
Each interval takes the last row at or before its start (zero-order hold).

Your own process
----------------
``coordinator.tso.source`` also takes an entry point of group
``cosim.tso_processes`` or a ``package.module:function`` reference (imported:
it runs user code, see ``docs/extending.md``). The function has the
:class:`TsoProcess` signature: it gets a :class:`TsoInput` (the coordinator's
generator, the run's intervals, the area share and ``coordinator.tso.params``)
and returns the need at the PCC [MW] and the TSO price [EUR/MWh] per interval.
The built-ins ``ar1`` and ``csv`` are written the same way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from simulators.common.plugins import PluginError, callable_with, resolve

from .errors import TsoCsvError, TsoProcessError

log = logging.getLogger(__name__)

CSV_COLUMNS = ("time", "need_mw", "price_eur_per_mwh")

#: German peak load [MW], AGEB / ENTSO-E Statistical Factsheet 2016-2022 (77-82 GW).
GERMAN_PEAK_LOAD_MW = 80_000.0


def read_tso_csv(path: str | Path) -> pd.DataFrame:
    """Read and check a TSO need CSV.

    Parameters
    ----------
    path : str or Path
        CSV file with columns ``time``, ``need_mw`` [MW], ``price_eur_per_mwh``
        [EUR/MWh].

    Returns
    -------
    pandas.DataFrame
        Columns ``time`` (either ``datetime64`` or float seconds),
        ``need_mw``, ``price_eur_per_mwh``.

    Raises
    ------
    TsoCsvError
        Missing file, missing or unknown columns, NaN or non-numeric values,
        unordered times or gaps (unequal spacing); the message names the file,
        the field and the line (header = line 1).
    """
    path = Path(path)
    if not path.is_file():
        raise TsoCsvError(f"coordinator.tso.csv_path: file {str(path)!r} does not exist")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise TsoCsvError(f"coordinator.tso.csv_path: {path}: cannot parse CSV ({exc})") from exc
    cols = [c.strip() for c in df.columns]
    df.columns = cols
    missing = [c for c in CSV_COLUMNS if c not in cols]
    extra = [c for c in cols if c not in CSV_COLUMNS]
    if missing or extra:
        raise TsoCsvError(
            f"coordinator.tso.csv_path: {path}: columns {cols} do not match; "
            f"missing {missing}, unknown {extra}; required exactly {list(CSV_COLUMNS)}"
        )
    if len(df) < 1:
        raise TsoCsvError(f"coordinator.tso.csv_path: {path}: no data rows")
    for col in ("need_mw", "price_eur_per_mwh"):
        vals = pd.to_numeric(df[col], errors="coerce")
        bad = np.flatnonzero(~np.isfinite(vals.to_numpy(dtype=float)))
        if bad.size:
            raise TsoCsvError(
                f"coordinator.tso.csv_path: {path}: field {col!r} line {bad[0] + 2}: "
                f"value {df[col].iloc[bad[0]]!r} is NaN or not a number; every row needs a finite number"
            )
        df[col] = vals.astype(float)
    df["time"] = _parse_time(df["time"], path)
    return df


def _parse_time(col: pd.Series, path: Path) -> pd.Series:
    num = pd.to_numeric(col, errors="coerce")
    if num.notna().all():
        t = num.astype(float)
        t_num = t.to_numpy()
    else:
        t = pd.to_datetime(col, errors="coerce", format="ISO8601")
        bad = np.flatnonzero(t.isna().to_numpy())
        if bad.size:
            raise TsoCsvError(
                f"coordinator.tso.csv_path: {path}: field 'time' line {bad[0] + 2}: "
                f"{col.iloc[bad[0]]!r} is neither an ISO 8601 timestamp nor seconds"
            )
        if t.dt.tz is not None:
            t = t.dt.tz_convert(None)
        t_num = (t - t.iloc[0]).dt.total_seconds().to_numpy()
    if len(t_num) > 1:
        d = np.diff(t_num)
        bad = np.flatnonzero(d <= 0)
        if bad.size:
            raise TsoCsvError(
                f"coordinator.tso.csv_path: {path}: field 'time' line {bad[0] + 3}: "
                "times must be strictly increasing"
            )
        bad = np.flatnonzero(~np.isclose(d, d[0]))
        if bad.size:
            raise TsoCsvError(
                f"coordinator.tso.csv_path: {path}: field 'time' line {bad[0] + 3}: gap "
                f"({d[bad[0]]:g} s after the previous row, expected {d[0]:g} s); "
                "rows must be equally spaced without gaps"
            )
    return t


def csv_needs(df: pd.DataFrame, start: pd.Timestamp, step_s: int, n_steps: int,
              path: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Map a checked CSV onto the run's intervals (zero-order hold).

    Parameters
    ----------
    df : pandas.DataFrame
        Output of :func:`read_tso_csv`.
    start : pandas.Timestamp
        Run start (used when ``time`` holds timestamps).
    step_s : int
        Interval length [s].
    n_steps : int
        Number of intervals.

    Returns
    -------
    need_mw, price_eur_per_mwh : numpy.ndarray
        Per interval [MW], [EUR/MWh].

    Raises
    ------
    TsoCsvError
        The CSV does not cover the run.
    """
    t = df["time"]
    if np.issubdtype(t.dtype, np.datetime64):
        t_s = (t - pd.Timestamp(start).tz_localize(None)).dt.total_seconds().to_numpy()
    else:
        t_s = t.to_numpy(dtype=float)
    t_k = np.arange(n_steps) * float(step_s)
    idx = np.searchsorted(t_s, t_k, side="right") - 1
    if idx[0] < 0 or (n_steps > 1 and t_s[-1] + (t_s[1] - t_s[0] if len(t_s) > 1 else step_s) < t_k[-1] + step_s):
        raise TsoCsvError(
            f"coordinator.tso.csv_path: {path}: field 'time' covers [{t_s[0]:g}, {t_s[-1]:g}] s "
            f"after the run start; the run needs [0, {n_steps * step_s}] s"
        )
    return (df["need_mw"].to_numpy(dtype=float)[idx],
            df["price_eur_per_mwh"].to_numpy(dtype=float)[idx])


def ar1_needs(rng: np.random.Generator, n_steps: int, step_s: int, *, mean_mw: float,
              sigma_mw: float, phi_15min: float) -> np.ndarray:
    """Stationary AR(1) imbalance per interval.

    Parameters
    ----------
    rng : numpy.random.Generator
        The coordinator's generator.
    n_steps, step_s : int
        Number and length [s] of intervals.
    mean_mw, sigma_mw : float
        Stationary mean and standard deviation [MW].
    phi_15min : float
        Lag-1 autocorrelation per 15 min; for other step lengths the
        autocorrelation is ``phi_15min ** (step_s / 900)`` (same decay time).

    Returns
    -------
    numpy.ndarray
        Need per interval [MW], sign convention of the module docstring.
    """
    phi = float(phi_15min) ** (step_s / 900.0)
    e = rng.standard_normal(n_steps)
    x = np.empty(n_steps)
    prev = e[0] if n_steps else 0.0  # start in the stationary distribution
    innov = np.sqrt(max(1.0 - phi * phi, 0.0))
    for k in range(n_steps):
        prev = prev if k == 0 else phi * prev + innov * e[k]
        x[k] = prev
    return mean_mw + sigma_mw * x


@dataclass(frozen=True)
class TsoInput:
    """What a TSO process draws the run's needs from.

    Attributes
    ----------
    rng : numpy.random.Generator
        The coordinator's generator (seeded from the scenario seed); draw from
        it, never from global state, so the same seed gives the same run.
    start : pandas.Timestamp
        Run start.
    step_s, n_steps : int
        Interval length [s] and number of intervals.
    area_share : float
        Share of the system imbalance seen at the coordinator's PCC [-]
        (``coordinator.tso.area_share``, else nominal area load / 80 GW).
    config : dict
        The scenario section ``coordinator.tso`` (JSON values); a user process
        reads its own parameters from ``config["params"]``.
    """

    rng: np.random.Generator
    start: pd.Timestamp
    step_s: int
    n_steps: int
    area_share: float
    config: dict[str, Any] = field(default_factory=dict)


class TsoProcess(Protocol):
    """The signature of a TSO need process.

    Returns ``(need_mw, price_eur_per_mwh)``: two arrays of length
    ``inp.n_steps``, the need at the PCC [MW] (sign convention of this module:
    > 0 upward regulation wanted) and the TSO price of activated energy
    [EUR/MWh], both finite.
    """

    def __call__(self, inp: TsoInput, /) -> tuple[np.ndarray, np.ndarray]: ...


def ar1_process(inp: TsoInput) -> tuple[np.ndarray, np.ndarray]:
    """Built-in ``ar1``: the area's share of an AR(1) system imbalance, a constant price."""
    t = inp.config  # the validated section: its defaults are those of schema.TsoConfig
    need = inp.area_share * ar1_needs(inp.rng, inp.n_steps, inp.step_s, mean_mw=t["mean_mw"],
                                      sigma_mw=t["system_sigma_mw"], phi_15min=t["phi_15min"])
    return need, np.full(inp.n_steps, float(t["price_eur_per_mwh"]))


def csv_process(inp: TsoInput) -> tuple[np.ndarray, np.ndarray]:
    """Built-in ``csv``: need and price from ``coordinator.tso.csv_path`` (zero-order hold)."""
    path = inp.config["csv_path"]
    return csv_needs(read_tso_csv(path), inp.start, inp.step_s, inp.n_steps, path)


#: Built-in processes by their name in ``coordinator.tso.source``.
TSO_PROCESSES: dict[str, TsoProcess] = {"ar1": ar1_process, "csv": csv_process}
#: Entry point group of installed processes.
ENTRY_POINT_GROUP = "cosim.tso_processes"


def resolve_tso_process(name: str) -> TsoProcess:
    """The function of ``coordinator.tso.source``: built-in, entry point or ``module:function``.

    Raises
    ------
    TsoProcessError
        Unknown name (lists the allowed ones), a reference that does not
        import, or a function that cannot be called with one argument.
    """

    adapt = callable_with(1, "(TsoInput) -> (need_mw, price_eur_per_mwh)")
    try:
        return resolve(name, builtins=TSO_PROCESSES, group=ENTRY_POINT_GROUP, kind="TSO process", adapt=adapt)
    except PluginError as exc:
        raise TsoProcessError(str(exc)) from None


def run_tso_process(name: str, inp: TsoInput) -> tuple[np.ndarray, np.ndarray]:
    """Run the process ``name`` and check its output against :class:`TsoProcess`.

    Raises
    ------
    TsoProcessError
        Output not two finite arrays of length ``inp.n_steps``.
    """
    out = resolve_tso_process(name)(inp)
    try:
        need, price = (np.asarray(a, dtype=float).reshape(-1) for a in out)
    except (TypeError, ValueError):
        raise TsoProcessError(f"coordinator.tso.source: process {name!r} must return (need_mw, "
                              f"price_eur_per_mwh), two arrays; got {type(out).__name__}") from None
    for label, arr in (("need_mw", need), ("price_eur_per_mwh", price)):
        if len(arr) != inp.n_steps or not np.isfinite(arr).all():
            raise TsoProcessError(f"coordinator.tso.source: process {name!r} returned {label} with "
                                  f"{len(arr)} values ({int((~np.isfinite(arr)).sum())} not finite); "
                                  f"the run needs {inp.n_steps} finite values")
    return need, price
