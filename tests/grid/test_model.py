"""Grid model unit checks: results against pandapower.runpp, non-convergence as data."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest

from simulators.common.netdata import element_profiles, load_net
from simulators.grid import GridModel, GridModelError


@pytest.mark.parametrize("code", ["1-LV-rural1--0-sw", "1-MV-semiurb--0-sw", "1-HV-mixed--0-sw"])
def test_single_step_equals_runpp(code):
    """Every published quantity equals pandapower.runpp at the same injections.

    Reference: pandapower.runpp with tolerance_mva=1e-10 (independent path:
    pandapower builds and solves its own model). Tolerance 1e-8 on all values.
    1-HV-mixed has three ext_grids (three slack buses): the multi-slack path.
    """
    net, ref = load_net({"simbench": code}), load_net({"simbench": code})
    gm = GridModel(net)
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
    gm = GridModel(net)
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

    gm = GridModel(copy.deepcopy(lv_rural_net))
    fresh = GridModel(copy.deepcopy(lv_rural_net))
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
    with pytest.raises(GridModelError, match="const_z_p_percent"):
        GridModel(net)
