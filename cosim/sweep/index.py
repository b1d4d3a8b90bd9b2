"""The sweep index and what it reads from result files.

``sweep_index.parquet`` (and ``sweep_index.csv``) in the output directory hold
one row per variant with the columns :data:`INDEX_COLUMNS`; both are rewritten
atomically after every finished variant. The headline KPI columns are
:data:`analysis.kpis.HEADLINE`, computed by :func:`analysis.kpis.headline`
(the same numbers ``cosim run`` prints and ``cosim kpis`` reports).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

INDEX_NAME = "sweep_index"
#: Headline KPI columns, in index order (the keys of :data:`analysis.kpis.HEADLINE`).
KPI_COLUMNS = ("vm_min_pu", "vm_max_pu", "line_loading_max_percent", "trafo_loading_max_percent",
               "energy_imported_mwh", "energy_exported_mwh", "pf_not_converged_steps")
INDEX_COLUMNS = ("variant_id", "overrides", "seed", "status", "wall_time_s", "output_path",
                 "error", "data_sha256", *KPI_COLUMNS)
#: Status values of an index row.
STATUSES = ("complete", "failed", "timeout", "skipped", "pending")


def result_status(path: str | Path) -> str | None:
    """The ``status`` root attribute of a result file, or None if unreadable."""
    import h5py

    try:
        with h5py.File(path, "r", locking=False) as f:
            s = f.attrs.get("status")
    except (OSError, KeyError):
        return None
    return s.decode() if isinstance(s, bytes) else (None if s is None else str(s))


def dataset_digest(path: str | Path, groups: tuple[str, ...] = ("time", "series", "events", "static")) -> str:
    """SHA-256 over name, dtype, shape and bytes of every dataset under ``groups``.

    Root attributes (wall time, package versions) are not part of it, so two
    runs of the same scenario and seed must give the same digest.
    """
    import h5py

    h = hashlib.sha256()
    with h5py.File(path, "r", locking=False) as f:
        names: list[str] = []
        for g in groups:
            if g not in f:
                continue
            if isinstance(f[g], h5py.Dataset):
                names.append(g)
            else:
                f[g].visititems(lambda n, o, g=g: names.append(f"{g}/{n}") if isinstance(o, h5py.Dataset) else None)
        for name in sorted(names):
            arr = f[name][()]
            h.update(name.encode() + b"\0" + str(arr.dtype).encode() + b"\0" + str(arr.shape).encode() + b"\0")
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def headline_kpis(path: str | Path) -> dict[str, float]:
    """The headline KPI columns of one result file (NaN where not applicable).

    See :func:`analysis.kpis.headline` for the definitions and units.
    """
    from analysis.io import load
    from analysis.kpis import headline

    values = headline(load(path))
    return {k: values[k] for k in KPI_COLUMNS}


def write_index(rows: list[dict], output_dir: Path) -> Path:
    """Write ``sweep_index.parquet`` and ``.csv`` atomically (tmp file + ``os.replace``)."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=list(INDEX_COLUMNS))
    target = output_dir / f"{INDEX_NAME}.parquet"
    for suffix, writer in ((".parquet", lambda p: df.to_parquet(p, index=False)),
                           (".csv", lambda p: df.to_csv(p, index=False))):
        final = output_dir / f"{INDEX_NAME}{suffix}"
        tmp = final.with_name(f".{final.name}.tmp")
        writer(tmp)
        os.replace(tmp, final)
    return target


def index_row(variant, out: Path, status: str, wall: float = float("nan"), error: str = "") -> dict:
    """One index row; KPIs and digest are read from ``out`` when the result is complete.

    Parameters
    ----------
    variant : cosim.sweep.plan.Variant
        The variant of the row.
    out : pathlib.Path
        Its result file.
    status : str
        One of :data:`STATUSES`.
    wall : float
        Wall time of the run [s] (read from the file for ``skipped``).
    error : str
        Why the variant failed ('' otherwise).
    """
    row = {"variant_id": variant.variant_id, "overrides": json.dumps(variant.overrides, sort_keys=True, default=str),
           "seed": variant.seed, "status": status, "wall_time_s": wall, "output_path": str(out),
           "error": error, "data_sha256": ""}
    row.update({k: float("nan") for k in KPI_COLUMNS})
    if status in ("complete", "skipped"):
        row.update(headline_kpis(out))
        row["data_sha256"] = dataset_digest(out)
        if status == "skipped":
            import h5py

            with h5py.File(out, "r", locking=False) as f:
                row["wall_time_s"] = float(f.attrs.get("wall_time_s", float("nan")))
    return row
