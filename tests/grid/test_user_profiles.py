"""``grid.profiles`` against plain pandapower with the same values.

Reference: ``pandapower.runpp`` per step on the same net with every element's
``p_mw``/``q_mvar`` set to the table's value (and, on a SimBench net, the
other elements to ``simbench.get_absolute_values``: the independent path).
Tolerance 1e-6 pu in voltages (the issue's acceptance figure; both solvers
converge far tighter). The CIGRE LV net and its random profiles are made here,
so neither file is one the code was written against.
"""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

from cosim.config import load_scenario
from cosim.world import run_scenario
from simulators.common.netdata import load_net, profile_row

START = "2016-06-01T00:00:00"
N = 4  # 15-min steps


def _write_table(path, rows: dict, n: int = N, start: str = START, step: str = "15min") -> None:
    t = pd.date_range(start, periods=n, freq=step)
    pd.DataFrame({"time": [x.isoformat() for x in t], **rows}).to_csv(path, index=False)


def _run(tmp_path, grid_yaml: str, n: int = N) -> np.ndarray:
    sc_path = tmp_path / "s.yaml"
    sc_path.write_text(f"grid: {grid_yaml}\nstart: {START}\nduration: {n * 15}min\n")
    sc, text = load_scenario(sc_path)
    out = tmp_path / "r.h5"
    run_scenario(sc, text, out)
    with h5py.File(out) as f:
        assert f["series/grid/pf_converged"][()].all()
        return f["series/grid/vm_pu"][()]


def _runpp(net, values: dict[tuple[str, str], np.ndarray]) -> np.ndarray:
    """vm_pu [N, bus] from pandapower, ``values[(element, column)]`` [N, len(net[element])]."""
    import pandapower as pp

    out = []
    for k in range(N):
        for (el, col), v in values.items():
            net[el][col] = v[k]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pp.runpp(net, tolerance_mva=1e-10)
        out.append(net.res_bus.vm_pu.loc[net.bus.index].to_numpy())
    return np.array(out)


@pytest.fixture(scope="module")
def cigre_json(tmp_path_factory):
    import pandapower as pp
    import pandapower.networks as pn

    path = tmp_path_factory.mktemp("net") / "cigre_lv.json"
    pp.to_json(pn.create_cigre_network_lv(), str(path))
    return path


def test_own_net_with_profiles_equals_pandapower(tmp_path, cigre_json):
    net = load_net({"pandapower_json": str(cigre_json)})
    rng = np.random.default_rng(17)
    p = net.load.p_mw.to_numpy() * rng.uniform(0.1, 1.6, (N, len(net.load)))
    q = net.load.q_mvar.to_numpy() * rng.uniform(0.1, 1.6, (N, len(net.load)))
    cols = {f"load/{i}/p_mw": p[:, j] for j, i in enumerate(net.load.index)}
    cols |= {f"load/{i}/q_mvar": q[:, j] for j, i in enumerate(net.load.index)}
    _write_table(tmp_path / "p.csv", cols)
    mine = _run(tmp_path, f"{{pandapower_json: {cigre_json}, profiles: p.csv}}")
    ref = _runpp(net, {("load", "p_mw"): p, ("load", "q_mvar"): q})
    assert mine.shape == ref.shape == (N, 44)
    assert np.ptp(ref[:, -1]) > 1e-3  # the profiles really move the voltages
    np.testing.assert_allclose(mine, ref, rtol=0, atol=1e-6)


def test_sgen_and_storage_columns_equal_pandapower(tmp_path):
    """CIGRE MV with all DER (pandapower.networks, with_der="all"): loads, 13 sgens and 2 storage units."""
    import pandapower as pp
    import pandapower.networks as pn

    path = tmp_path / "cigre_mv.json"
    pp.to_json(pn.create_cigre_network_mv(with_der="all"), str(path))
    net = load_net({"pandapower_json": str(path)})
    rng = np.random.default_rng(23)
    vals = {("load", "p_mw"): net.load.p_mw.to_numpy() * rng.uniform(0.2, 1.5, (N, len(net.load))),
            ("sgen", "p_mw"): net.sgen.p_mw.to_numpy() * rng.uniform(0.0, 1.0, (N, len(net.sgen))),
            # storage: consumer reference, charging (+) and discharging (-) up to 0.5 MW
            ("storage", "p_mw"): rng.uniform(-0.5, 0.5, (N, len(net.storage)))}
    cols = {f"{el}/{i}/{q}": v[:, j] for (el, q), v in vals.items() for j, i in enumerate(net[el].index)}
    _write_table(tmp_path / "p.csv", cols)
    mine = _run(tmp_path, f"{{pandapower_json: {path}, profiles: p.csv}}")
    np.testing.assert_allclose(mine, _runpp(net, vals), rtol=0, atol=1e-6)


def test_simbench_net_with_overrides_equals_pandapower(tmp_path):
    import simbench as sb

    code = "1-LV-rural1--0-sw"
    net = load_net({"simbench": code})
    prof = sb.get_absolute_values(net, profiles_instead_of_study_cases=True)
    r0 = profile_row(START)
    ref_vals = {(el, col): prof[(el, col)].iloc[r0:r0 + N].to_numpy()
                for el, col in (("load", "p_mw"), ("load", "q_mvar"), ("sgen", "p_mw"))}
    rng = np.random.default_rng(5)
    loads, sgen = net.load.index[[0, 3]], net.sgen.index[0]
    cols = {}
    for i in loads:
        j = net.load.index.get_loc(i)
        cols[f"load/{i}/p_mw"] = ref_vals[("load", "p_mw")][:, j] = rng.uniform(0.0, 0.03, N)
        cols[f"load/{i}/q_mvar"] = ref_vals[("load", "q_mvar")][:, j] = rng.uniform(0.0, 0.01, N)
    j = net.sgen.index.get_loc(sgen)
    cols[f"sgen/{sgen}/p_mw"] = ref_vals[("sgen", "p_mw")][:, j] = rng.uniform(0.0, 0.05, N)
    _write_table(tmp_path / "p.csv", cols)
    mine = _run(tmp_path, f"{{simbench: {code}, profiles: p.csv}}")
    np.testing.assert_allclose(mine, _runpp(net, ref_vals), rtol=0, atol=1e-6)


def test_profiles_reach_every_reader(tmp_path, cigre_json):
    """Households' base load and the market's DSO state read the same table (one truth)."""
    from simulators.common.netdata import element_profiles

    _write_table(tmp_path / "p.csv", {"load/0/p_mw": [0.1, 0.2, 0.3, 0.4]})
    spec = {"pandapower_json": str(cigre_json),
            "profiles": {"path": str(tmp_path / "p.csv"), "start": START, "step_s": 900, "duration_s": 3600}}
    net = load_net(spec)
    ep = element_profiles(net, "load", "p_mw")
    r0 = profile_row(START)
    # hand calculation: rows r0..r0+3 carry the table; before/after, the edge rows are held
    np.testing.assert_array_equal(ep.values(np.arange(r0 - 1, r0 + 5))[:, 0], [0.1, 0.1, 0.2, 0.3, 0.4, 0.4])
    assert ep.values(r0)[0, 1] == net.load.p_mw.iloc[1]  # not in the table: nominal
    sub = ep.subset(np.arange(len(net.load)) < 2)
    assert sub.at(r0 + 2)[0] == pytest.approx(0.3) and sub.at(r0 + 2)[1] == net.load.p_mw.iloc[1]


def test_hourly_run_takes_an_hourly_table(tmp_path, cigre_json):
    _write_table(tmp_path / "p.csv", {"load/0/p_mw": [0.1, 0.2]}, n=2, step="1h")
    spec = {"pandapower_json": str(cigre_json),
            "profiles": {"path": str(tmp_path / "p.csv"), "start": START, "step_s": 3600, "duration_s": 7200}}
    from simulators.common.netdata import element_profiles

    ep = element_profiles(load_net(spec), "load", "p_mw")
    r0 = profile_row(START)
    # hand calculation: each hourly value holds for four 15-min rows
    np.testing.assert_array_equal(ep.values(np.arange(r0, r0 + 8))[:, 0], [0.1] * 4 + [0.2] * 4)
