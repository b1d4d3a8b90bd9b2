"""The radial (LinDistFlow) model of the network core against pandapower's AC power flow."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest

from simulators.common.network import AreaError, build_linear_grid
from tests.coordinator.coord_case import make_net


def test_linear_model_against_pandapower_ac():
    # Independent reference: pandapower AC power flow. Flows of a radial net equal the
    # downstream load sum up to losses (< 2 % here); LinDistFlow voltages within 0.005 pu
    # on this short, resistive feeder (reactive flows are zero: loads have q = 0).
    net = make_net()
    g = build_linear_grid(net)
    p = np.array([0.0, 0.0, 0.04, 0.04])
    pp.runpp(net)
    flows = g.flows_mw(p)
    for grp, members in enumerate(g.group_elements):
        kind, idx = members[0]
        ac = net.res_line.p_from_mw[idx] if kind == "line" else net.res_trafo.p_hv_mw[idx]
        assert flows[grp] == pytest.approx(ac, rel=0.02)
    np.testing.assert_allclose(g.vm_pu(p), net.res_bus.vm_pu, atol=0.005)
    assert g.area_labels == ["trafo 0"]


def test_unknown_area_trafo_is_a_typed_error():
    with pytest.raises(AreaError, match=r"\[7\] match no in-service radial transformer"):
        build_linear_grid(make_net(), [7])


@pytest.mark.parametrize("code", ["1-MV-rural--0-sw", "1-HVMV-urban-all-0-sw"])
def test_branch_parameters_equal_the_row_by_row_formula(code):
    """The vectorised branch terms equal the element-by-element formula exactly.

    Reference (hand formula, one pandas row at a time, as before the change):
    line r = r_ohm_per_km * length_km / parallel / vn**2 [pu/MW],
    s = sqrt(3) * vn * max_i_ka * df * parallel [MVA]; trafo r = vkr_percent / 100
    / (sn_mva * parallel), s = sn_mva * parallel. Tolerance: none (bit-identical).
    """
    from simulators.common.netdata import load_net
    from simulators.common.network.radial import _branch_params

    net = load_net({"simbench": code})
    params = _branch_params(net)
    where, r, s = params["line"]
    for idx in net.line.index:
        ln = net.line.loc[idx]
        vn = float(net.bus.at[ln.from_bus, "vn_kv"])
        assert r[where[idx]] == ln.r_ohm_per_km * ln.length_km / ln.parallel / vn**2
        assert s[where[idx]] == np.sqrt(3) * vn * ln.max_i_ka * ln.df * ln.parallel
    where, r, s = params["trafo"]
    for idx in net.trafo.index:
        tr = net.trafo.loc[idx]
        assert r[where[idx]] == tr.vkr_percent / 100.0 / (tr.sn_mva * tr.parallel)
        assert s[where[idx]] == tr.sn_mva * tr.parallel
