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


@pytest.mark.parametrize("code", ["1-MV-semiurb--0-sw", "1-HV-mixed--0-sw"])  # grids other tests parse too
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


def test_pcc_of_many_areas_equals_area_by_area():
    """With more areas than the loop threshold, ``pcc_mw`` is one sparse product;
    expected: exactly ``pcc_area_mw`` area by area (same row sums in the same
    order, so no tolerance), and each LV area's PCC is the sum of its buses by
    hand (radial: the trafo carries everything downstream; float tolerance
    1e-12); the area "rest" (no PCC transformer) exchanges everything in the tree."""
    from simulators.common.network import radial

    net = pp.create_empty_network()
    mv = pp.create_bus(net, 20.0)
    pp.create_ext_grid(net, mv)
    lv_buses = []
    for _ in range(radial._FEW_AREAS + 3):
        b1, b2 = pp.create_bus(net, 0.4), pp.create_bus(net, 0.4)
        pp.create_transformer(net, mv, b1, "0.4 MVA 20/0.4 kV")
        pp.create_line(net, b1, b2, 0.1, "NAYY 4x150 SE")
        lv_buses.append((b1, b2))
    mv2 = pp.create_bus(net, 20.0)  # under no area transformer: the area "rest"
    pp.create_line(net, mv, mv2, 1.0, "NA2XS2Y 1x95 RM/25 12/20 kV")
    g = build_linear_grid(net)
    assert g.n_area > radial._FEW_AREAS and g.area_labels[-1] == "rest"
    p = np.random.default_rng(5).normal(0.0, 0.05, g.n_bus)
    got = g.pcc_mw(p)
    assert np.array_equal(got, np.array([g.pcc_area_mw(p, a) for a in range(g.n_area)]))
    by_hand = sorted(p[g.bus_positions(np.array(b))].sum() for b in lv_buses)
    np.testing.assert_allclose(sorted(got[:-1]), by_hand, rtol=0, atol=1e-12)
    assert got[-1] == p[g.in_tree].sum()  # "rest": everything below the slack
    # bus lookup (index built once): positions in net order, -1 for unknown buses, twice the same
    probe = np.r_[net.bus.index.to_numpy()[::-1], [10**6]]
    want = np.r_[np.arange(len(net.bus))[::-1], [-1]]
    assert g.bus_positions(probe).tolist() == want.tolist() == g.bus_positions(probe).tolist()
