"""DSO validation: ac_check on an overloaded case, caps, zones (the AC model itself is
tested in tests/common/network)."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pytest

from simulators.market import make_orders
from simulators.market.dso import DsoValidator, dso_check
from simulators.market.mechanisms import clear


def pp_state(net, p_mw):
    """Independent reference: pandapower.runpp with the per-bus consumption as loads."""
    n = copy.deepcopy(net)
    for el in ("load", "sgen", "storage"):
        n[el]["in_service"] = False
    pp.create_loads(n, n.bus.index.values, p_mw=p_mw)
    pp.runpp(n, tolerance_mva=1e-10)
    return n.res_bus.vm_pu.values, n.res_line.loading_percent.values, n.res_trafo.loading_percent.values


@pytest.fixture(scope="module")
def validator(lv_rural1):
    return DsoValidator(lv_rural1)


def overloaded_trades(net):
    """Sellers at the far end of the longest feeder export to the LV busbar's neighbour buses.

    0.3 MWh over 15 min = 1.2 MW through 0.27 kA lines at 0.4 kV (max ~0.19 MVA): overloaded.
    """
    lv_bus = int(net.trafo.lv_bus.iloc[0])
    load_buses = net.load.bus.values
    dist = pp.topology.calc_distance_to_bus(net, lv_bus)
    far = load_buses[np.argsort(-dist[load_buses].values)][:3]
    near = load_buses[np.argsort(dist[load_buses].values)][:3]
    o = make_orders([0, 1, 2, 3, 4, 5], [-1, -1, -1, 1, 1, 1], [0.1] * 6, [50, 60, 70, 300, 300, 300],
                    bus=np.r_[far, near])
    return clear(o, "pay_as_clear").trades


def test_ac_check_makes_overloaded_schedule_feasible(validator, lv_rural1):
    trades = overloaded_trades(lv_rural1)
    base = np.zeros(len(lv_rural1.bus))
    p_before = validator.schedule_p_mw(trades, base, 0.25)
    vm, ll, tl = pp_state(lv_rural1, p_before)
    # without validation: infeasible per pandapower
    assert vm.max() > 1.1 or np.nanmax(ll) > 100 or tl.max() > 100
    res = dso_check("ac_check", validator, trades, base, 0.25)
    assert res.feasible
    assert np.any(res.trades["curtailed_mwh"] > 0)
    assert np.all(res.trades["reason"][res.trades["curtailed_mwh"] > 0] > 0)
    np.testing.assert_allclose(res.trades["quantity_mwh"] + res.trades["curtailed_mwh"], trades["quantity_mwh"])
    vm, ll, tl = pp_state(lv_rural1, validator.schedule_p_mw(res.trades, base, 0.25))
    # after validation: feasible per the independent pandapower run (band 0.9-1.1 pu, EN 50160; 100 %)
    assert vm.min() >= 0.9 - 1e-9 and vm.max() <= 1.1 + 1e-9
    assert np.nanmax(ll) <= 100 + 1e-6 and tl.max() <= 100 + 1e-6


def test_ac_check_untouched_when_feasible(validator, lv_rural1):
    trades = overloaded_trades(lv_rural1)
    trades["quantity_mwh"] *= 1e-3
    res = dso_check("ac_check", validator, trades, np.zeros(len(lv_rural1.bus)), 0.25)
    assert res.feasible and res.iterations == 1 and res.trades["curtailed_mwh"].sum() == 0


def test_caps_and_zones(lv_rural1):
    v = DsoValidator(lv_rural1, zone_import_mw=0.1, zone_export_mw=None)
    trades = overloaded_trades(lv_rural1)
    res = v.caps(trades, 0.25)
    zb = v._zones_of(res.trades["buyer_bus"])
    zs = v._zones_of(res.trades["seller_bus"])
    for z in np.unique(zb[zb != zs]):
        imp = res.trades["quantity_mwh"][(zb == z) & (zs != z)].sum() / 0.25
        assert imp <= 0.1 + 1e-12
    # every load bus of the LV grid lies in a feeder zone (>= 0); the MV bus is upstream (-1)
    assert np.all(v.zone[np.isin(lv_rural1.bus.index, lv_rural1.load.bus)] >= 0)
    zr = v.zonal(trades, np.zeros(len(lv_rural1.bus)), 0.25)
    assert zr.feasible


def test_none_is_identity():
    o = make_orders([0, 1], [1, -1], [1e-3, 1e-3], [300, 100])
    t = clear(o, "pay_as_clear").trades
    r = dso_check("none", None, t, None, 0.25)
    np.testing.assert_array_equal(r.trades, t)
