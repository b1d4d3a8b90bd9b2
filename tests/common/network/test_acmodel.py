"""The core AC model against pandapower.runpp: element and per-bus injections,
several slack buses, non-convergence as data, the injection sensitivity."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pytest

from simulators.common.netdata import element_profiles, load_net
from simulators.common.network import AcModel, NetworkModelError, injection_sensitivity


@pytest.mark.parametrize("code", ["1-LV-rural1--0-sw", "1-MV-semiurb--0-sw", "1-HV-mixed--0-sw"])
def test_single_step_equals_runpp(code):
    """Every published quantity equals pandapower.runpp at the same injections.

    Reference: pandapower.runpp with tolerance_mva=1e-10 (independent path:
    pandapower builds and solves its own model). Tolerance 1e-8 on all values.
    1-HV-mixed has three ext_grids (three slack buses): the multi-slack path.
    """
    net, ref = load_net({"simbench": code}), load_net({"simbench": code})
    gm = AcModel(net)
    row = 12_345
    p = {el: element_profiles(net, el, "p_mw").values(row)[0] for el in ("load", "sgen")}
    q = {"load": element_profiles(net, "load", "q_mvar").values(row)[0]}
    r = gm.solve(p, q)
    ref.load["p_mw"], ref.load["q_mvar"], ref.sgen["p_mw"] = p["load"], q["load"], p["sgen"]
    pp.runpp(ref, tolerance_mva=1e-10)
    assert r.converged
    np.testing.assert_allclose(r.vm_pu, ref.res_bus.vm_pu, atol=1e-8, rtol=0)
    np.testing.assert_allclose(r.va_degree, ref.res_bus.va_degree, atol=1e-8, rtol=0)
    np.testing.assert_allclose(r.line_loading_percent, ref.res_line.loading_percent, atol=1e-8, rtol=0)
    np.testing.assert_allclose(r.line_p_from_mw, ref.res_line.p_from_mw, atol=1e-8, rtol=0)
    np.testing.assert_allclose(r.line_i_ka, ref.res_line.i_ka, atol=1e-8, rtol=0)
    np.testing.assert_allclose(r.trafo_loading_percent, ref.res_trafo.loading_percent, atol=1e-8, rtol=0)
    np.testing.assert_allclose(r.trafo_p_hv_mw, ref.res_trafo.p_hv_mw, atol=1e-8, rtol=0)
    np.testing.assert_allclose(r.ext_grid_p_mw, ref.res_ext_grid.p_mw, atol=1e-8, rtol=0)
    np.testing.assert_allclose(r.ext_grid_q_mvar, ref.res_ext_grid.q_mvar, atol=1e-8, rtol=0)
    losses = ref.res_line.pl_mw.sum() + ref.res_trafo.pl_mw.sum()
    assert r.pl_mw == pytest.approx(losses, abs=1e-8)


def test_external_injection_adds_to_bus(lv_rural_net):
    """A per-bus consumer-reference injection equals adding a load there.

    Reference: pandapower.runpp with an extra load of the same power.
    """
    import copy

    net, ref = copy.deepcopy(lv_rural_net), copy.deepcopy(lv_rural_net)
    gm = AcModel(net)
    ext = np.zeros(len(net.bus))
    pos = list(net.bus.index).index(9)
    ext[pos] = 0.02
    r = gm.solve({}, {}, ext_p_mw=ext, ext_q_mvar=0.3 * ext)
    pp.create_load(ref, bus=9, p_mw=0.02, q_mvar=0.006)
    pp.runpp(ref, tolerance_mva=1e-10)
    np.testing.assert_allclose(r.vm_pu, ref.res_bus.vm_pu, atol=1e-8, rtol=0)
    np.testing.assert_allclose(r.ext_grid_p_mw, ref.res_ext_grid.p_mw, atol=1e-8, rtol=0)


def test_non_convergence_is_data_and_next_step_recovers(lv_rural_net):
    """An impossible load gives a NaN step with converged=False; the next
    ordinary step converges and equals a fresh model's answer (no stale state)."""
    import copy

    gm = AcModel(copy.deepcopy(lv_rural_net))
    fresh = AcModel(copy.deepcopy(lv_rural_net))
    huge = {"load": np.full(len(lv_rural_net.load), 50.0)}  # 650 MW on a 160 kVA LV grid
    bad = gm.solve(huge, {})
    assert not bad.converged
    assert np.isnan(bad.vm_pu).all() and np.isnan(bad.pl_mw)
    good = gm.solve({}, {})
    assert good.converged
    np.testing.assert_allclose(good.vm_pu, fresh.solve({}, {}).vm_pu, atol=1e-10, rtol=0)


def test_voltage_dependent_loads_rejected(lv_rural_net):
    import copy

    net = copy.deepcopy(lv_rural_net)
    net.load.loc[net.load.index[0], "const_z_p_percent"] = 30.0
    with pytest.raises(NetworkModelError, match="const_z_p_percent"):
        AcModel(net)


def _pp_state(net, p_mw, q_mvar=None):
    """Independent reference: pandapower.runpp with the per-bus consumption as loads."""
    n = copy.deepcopy(net)
    for el in ("load", "sgen", "storage"):
        n[el]["in_service"] = False
    pp.create_loads(n, n.bus.index.values, p_mw=p_mw, q_mvar=0.0 if q_mvar is None else q_mvar)
    pp.runpp(n, tolerance_mva=1e-10)
    return n


@pytest.fixture(scope="module")
def bus_model(lv_rural_net):
    """Network-only model (elements off), as the DSO check builds it."""
    return AcModel(lv_rural_net, elements=False, tol_pu=1e-8, max_iter=20)


def test_whole_state_per_bus_matches_pandapower(bus_model, lv_rural_net):
    """Per-bus P/Q of a whole grid state: voltages, loadings, losses, slack exchange.

    Reference: pandapower.runpp (tolerance_mva=1e-10) with the per-bus powers
    as loads. Tolerances 1e-8 pu, 1e-6 % and 1e-6 MW (the model solves to 1e-8 pu).
    """
    rng = np.random.default_rng(1)
    lv = lv_rural_net.bus.vn_kv.values < 1
    for _ in range(3):
        p = np.where(lv, rng.uniform(-0.03, 0.03, len(lv)), 0.0)
        q = 0.2 * p
        st = bus_model.solve_bus(p, q)
        ref = _pp_state(lv_rural_net, p, q)
        assert st.converged
        assert np.max(np.abs(st.vm_pu - ref.res_bus.vm_pu.values)) < 1e-8
        assert np.nanmax(np.abs(st.line_loading_percent - ref.res_line.loading_percent.values)) < 1e-6
        assert np.max(np.abs(st.trafo_loading_percent - ref.res_trafo.loading_percent.values)) < 1e-6
        losses = ref.res_line.pl_mw.sum() + ref.res_trafo.pl_mw.sum()
        assert st.pl_mw == pytest.approx(losses, abs=1e-6)
        np.testing.assert_allclose(st.ext_grid_p_mw, ref.res_ext_grid.p_mw, atol=1e-6, rtol=0)
        np.testing.assert_allclose(st.ext_grid_q_mvar, ref.res_ext_grid.q_mvar, atol=1e-6, rtol=0)


@pytest.mark.parametrize("kind", ["vm", "line", "trafo"])
def test_injection_sensitivity_matches_finite_difference(bus_model, lv_rural_net, kind):
    """d(quantity)/d(generation) at three buses against pandapower.runpp.

    Reference: central difference of two pandapower.runpp solutions at
    +-0.1 kW generation (tolerance_mva=1e-10). The truncation error of a 0.1 kW
    central difference is O(h^2); tolerance 1e-5 relative (observed ~5e-7)
    plus 1e-9 absolute for buses with no effect.
    """
    rng = np.random.default_rng(3)
    lv = lv_rural_net.bus.vn_kv.values < 1
    p = np.where(lv, rng.uniform(0.0, 0.01, len(lv)), 0.0)
    st = bus_model.solve_bus(p)
    vm = st.vm_pu[lv]
    idx = {"vm": int(np.flatnonzero(lv)[np.argmin(vm)]),
           "line": int(np.nanargmax(st.line_loading_percent)), "trafo": 0}[kind]
    sens = injection_sensitivity(bus_model, st, kind, idx)
    col = {"vm": lambda n: n.res_bus.vm_pu.values[idx],
           "line": lambda n: n.res_line.loading_percent.values[idx],
           "trafo": lambda n: n.res_trafo.loading_percent.values[idx]}[kind]
    h = 1e-4
    for j in np.flatnonzero(lv)[[0, len(lv) // 3, -1]]:
        e = np.zeros(len(p))
        e[j] = h
        fd = (col(_pp_state(lv_rural_net, p - e)) - col(_pp_state(lv_rural_net, p + e))) / (2 * h)
        assert sens[j] == pytest.approx(fd, rel=1e-5, abs=1e-9)
