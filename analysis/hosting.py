"""PV hosting capacity from a sweep index (``sweep_index.parquet`` of ``cosim sweep``).

The index holds one row per variant with its overrides (JSON) and the headline
KPIs of :func:`analysis.kpis.headline`; this module reads nothing else.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from analysis.kpis import VOLTAGE_BAND_PU

#: EN 50160 upper voltage band: 1 pu + :data:`analysis.kpis.VOLTAGE_BAND_PU` = 1.1 pu [pu].
VM_MAX_PU = 1.0 + VOLTAGE_BAND_PU
#: Thermal limit of lines and transformers [percent].
LOADING_MAX_PERCENT = 100.0


def hosting_capacity(index_df: pd.DataFrame, share_key: str = "households.pv.share",
                     design_key: str = "market.mechanism", vm_max_pu: float = VM_MAX_PU,
                     loading_max_percent: float = LOADING_MAX_PERCENT) -> pd.DataFrame:
    """PV hosting capacity per design from a sweep index.

    A variant violates when ``vm_max_pu`` exceeds ``vm_max_pu`` [pu] (EN 50160
    upper band, 1.1 pu) or a line or trafo loading exceeds
    ``loading_max_percent`` [%]. Only rows with status complete or skipped
    count; with several seeds a share violates if any seed does.

    Parameters
    ----------
    index_df : pandas.DataFrame
        A sweep index (columns ``overrides``, ``status``, ``vm_max_pu``,
        ``line_loading_max_percent`` and optionally ``trafo_loading_max_percent``).
    share_key, design_key : str
        Dotted override keys of the PV share [1] and of the design.
    vm_max_pu : float
        Upper voltage limit [pu].
    loading_max_percent : float
        Line and transformer loading limit [percent].

    Returns
    -------
    pandas.DataFrame
        One row per design value: ``design``, ``first_violation_share`` (the
        smallest share tested that violates; NaN if none), ``violation``
        (``voltage``, ``loading`` or both), ``hosting_capacity_share`` (the
        largest share tested below the first violation; NaN if the smallest
        share already violates), ``max_share_tested``, ``n_variants``.
    """
    df = index_df[index_df["status"].isin(["complete", "skipped"])].copy()
    ov = df["overrides"].map(json.loads)
    df["_share"] = ov.map(lambda d: d.get(share_key)).astype(float)
    df["_design"] = ov.map(lambda d: d.get(design_key))
    lines = df["line_loading_max_percent"].fillna(-np.inf)
    trafos = df.get("trafo_loading_max_percent", pd.Series(-np.inf, index=df.index)).fillna(-np.inf)
    df["_v"] = df["vm_max_pu"] > vm_max_pu
    df["_l"] = (lines > loading_max_percent) | (trafos > loading_max_percent)
    out = []
    for design, g in df.dropna(subset=["_share"]).groupby("_design", dropna=False, sort=True):
        per = g.groupby("_share")[["_v", "_l"]].any().sort_index()
        bad = per[per["_v"] | per["_l"]]
        first = float(bad.index[0]) if len(bad) else float("nan")
        kind = ""
        if len(bad):
            kind = "+".join(n for n, c in (("voltage", "_v"), ("loading", "_l")) if bad.iloc[0][c])
        below = per.index[per.index < first] if len(bad) else per.index
        out.append({"design": design, "first_violation_share": first, "violation": kind,
                    "hosting_capacity_share": float(below.max()) if len(below) else float("nan"),
                    "max_share_tested": float(per.index.max()), "n_variants": len(g)})
    return pd.DataFrame(out, columns=["design", "first_violation_share", "violation",
                                      "hosting_capacity_share", "max_share_tested", "n_variants"])
