"""The shipped own-net example (scenarios/examples/) runs and matches pandapower.

Reference: ``pandapower.runpp`` on ``cigre_lv.json`` with each load set to
the row of ``cigre_lv_profiles.csv`` (the independent path); 1e-6 pu.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from cosim.config import load_scenario
from cosim.world import run_scenario
from simulators.common.netdata import load_net

EXAMPLES = Path(__file__).resolve().parents[2] / "scenarios" / "examples"
N = 4


def test_example_files_are_small():
    for name in ("cigre_lv.json", "cigre_lv_profiles.csv", "cigre_lv_day.yaml", "make_cigre_lv.py"):
        assert (EXAMPLES / name).stat().st_size < 200_000


def test_example_runs_and_equals_pandapower(tmp_path, caplog):
    import pandapower as pp

    sc, text = load_scenario(EXAMPLES / "cigre_lv_day.yaml", [f"duration={N * 15}min"])
    out = tmp_path / "ex.h5"
    with caplog.at_level(logging.WARNING):
        run_scenario(sc, text, out)
    assert "has no profiles" not in caplog.text  # a profile table is given
    with h5py.File(out) as f:
        assert f["series/grid/pf_converged"][()].all()
        mine = f["series/grid/vm_pu"][()]
    net = load_net({"pandapower_json": str(EXAMPLES / "cigre_lv.json")})
    table = pd.read_csv(EXAMPLES / "cigre_lv_profiles.csv")
    ref = []
    for k in range(N):
        for i in net.load.index:
            net.load.at[i, "p_mw"] = table[f"load/{i}/p_mw"].iloc[k]
            net.load.at[i, "q_mvar"] = table[f"load/{i}/q_mvar"].iloc[k]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(net, tolerance_mva=1e-10)
        ref.append(net.res_bus.vm_pu.loc[net.bus.index].to_numpy())
    np.testing.assert_allclose(mine, np.array(ref), rtol=0, atol=1e-6)


def test_own_net_without_profiles_warns(tmp_path, caplog):
    path = tmp_path / "s.yaml"
    path.write_text(f"grid: {{pandapower_json: {EXAMPLES / 'cigre_lv.json'}}}\nduration: 30min\n")
    sc, text = load_scenario(path)
    with caplog.at_level(logging.WARNING):
        run_scenario(sc, text, tmp_path / "a.h5")
    assert "has no profiles" in caplog.text
    caplog.clear()
    sc, text = load_scenario(path, ["grid.profiles=constant"])
    with caplog.at_level(logging.WARNING):
        run_scenario(sc, text, tmp_path / "b.h5")
    assert "has no profiles" not in caplog.text
