"""Make the own-net example: pandapower's CIGRE LV network and a one-day profile table.

Run from the repository root (takes ~10 s, needs no network access)::

    python scenarios/examples/make_cigre_lv.py

It writes, next to this file,

* ``cigre_lv.json``: ``pandapower.networks.create_cigre_network_lv()`` saved
  with ``pandapower.to_json`` (CIGRE Task Force C6.04.02 benchmark, 44 buses,
  15 loads, as pandapower builds it);
* ``cigre_lv_profiles.csv``: 1 June 2016, 96 rows of 15 min, columns
  ``load/<index>/p_mw`` and ``load/<index>/q_mvar`` for every load.

Values (an assumption for the example, not a measured feeder): each load's
nominal ``p_mw``/``q_mvar`` from pandapower times a SimBench relative load
profile read from the ``simbench`` package's own data, chosen by the load's
CIGRE name: residential ``Load R*`` H0-A (household), commercial ``Load C*``
G0-A (commercial, general), industrial ``Load I*`` G3-A (commercial,
continuous). The SimBench relative profiles peak near 1 over the year.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DAY = "2016-06-01"
PROFILE_BY_PREFIX = {"Load R": "H0-A", "Load C": "G0-A", "Load I": "G3-A"}


def simbench_relative(names: list[str]) -> pd.DataFrame:
    """SimBench relative load profiles (2016, 15 min) of ``names``, p and q, indexed by time."""
    import simbench

    path = (Path(simbench.__file__).parent / "networks" / "1-complete_data-mixed-all-0-sw" / "LoadProfile.csv")
    cols = ["time"] + [f"{n}_{pq}" for n in names for pq in ("pload", "qload")]
    table = pd.read_csv(path, sep=";", usecols=cols)
    table.index = pd.to_datetime(table.pop("time"), format="%d.%m.%Y %H:%M")
    return table


def main() -> None:
    import pandapower as pp
    import pandapower.networks as pn

    net = pn.create_cigre_network_lv()
    pp.to_json(net, str(HERE / "cigre_lv.json"))
    rel = simbench_relative(sorted(set(PROFILE_BY_PREFIX.values())))
    day = rel.loc[DAY]
    out = {"time": [t.isoformat() for t in day.index]}
    for i, load in net.load.iterrows():
        prof = next(p for prefix, p in PROFILE_BY_PREFIX.items() if load["name"].startswith(prefix))
        out[f"load/{i}/p_mw"] = np.round(load.p_mw * day[f"{prof}_pload"].to_numpy(), 9)
        out[f"load/{i}/q_mvar"] = np.round(load.q_mvar * day[f"{prof}_qload"].to_numpy(), 9)
    pd.DataFrame(out).to_csv(HERE / "cigre_lv_profiles.csv", index=False)


if __name__ == "__main__":
    main()
