"""DSO validation on the whole-grid state: ac_check on an overloaded case, caps, zones,
the retail backstop rule (the AC model itself is tested in tests/common/network)."""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pytest

from simulators.market import make_orders
from simulators.market.dso import DsoValidator, dso_check
from simulators.market.execution import COUNTERPARTY_CURTAILED, Execution, backstop
from simulators.market.mechanisms import clear
from simulators.common.tariffs import TariffConfig, marginal_import_price_eur_per_mwh

RETAIL, FEED_IN = 400.0, 82.0  # the default flat tariff (simulators/market/schema.py)


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


def far_near(net):
    lv_bus = int(net.trafo.lv_bus.iloc[0])
    load_buses = net.load.bus.values
    dist = pp.topology.calc_distance_to_bus(net, lv_bus)
    return (load_buses[np.argsort(-dist[load_buses].values)][:3],
            load_buses[np.argsort(dist[load_buses].values)][:3])


def overloaded(net, buyer_limit=300.0):
    """Sellers at the far end of the longest feeder export to buses near the LV busbar.

    0.3 MWh over 15 min = 1.2 MW through 0.27 kA lines at 0.4 kV (max ~0.19 MVA): overloaded.
    Buyers bid ``buyer_limit`` (300 < retail 400: flexible demand).
    """
    far, near = far_near(net)
    o = make_orders([0, 1, 2, 3, 4, 5], [-1, -1, -1, 1, 1, 1], [0.1] * 6, [50, 60, 70] + [buyer_limit] * 3,
                    bus=np.r_[far, near])
    return Execution.from_clearing(o, clear(o, "pay_as_clear").trades, RETAIL, FEED_IN)


def test_backstop_rule():
    # the contract: unmatched BID executes with the retailer iff limit >= retail, OFFER iff limit <= feed-in
    o = make_orders([0, 1, 2, 3], [1, 1, -1, -1], [1e-3] * 4, [RETAIL, RETAIL - 1, FEED_IN, FEED_IN + 1])
    assert backstop(o, RETAIL, FEED_IN).tolist() == [True, False, True, False]
    ex = Execution.from_clearing(o, clear(o, "pay_as_clear").trades[:0], RETAIL, FEED_IN)
    assert ex.retail_mwh.tolist() == [1e-3, 0.0, 1e-3, 0.0]  # exact: copies of the order quantity
    assert ex.flexible.tolist() == [False, True, True, True]


def test_block_prices_backstop_uses_each_homes_marginal_price():
    # two BIDs at 150 EUR/MWh, tiers 0-1 kWh at 100, 1-2 kWh at 200 EUR/MWh (set for the test):
    # home 0 in tier 1 (next kWh 100 <= 150) goes to the retailer, home 1 in tier 2 (200 > 150) is
    # flexible volume left unexecuted, as the home's own rule says (exact: copies of the quantity)
    o = make_orders([0, 1], [1, 1], [1e-3] * 2, [150.0, 150.0])
    t = TariffConfig(kind="ibp", ibp_tiers_kwh=(1.0, 2.0), ibp_prices_eur_per_mwh=(100.0, 200.0, 400.0))
    retail = marginal_import_price_eur_per_mwh(t, "2016-06-01T00:00:00", 0, [0.5e-3, 1.5e-3])
    ex = Execution.from_clearing(o, clear(o, "pay_as_clear").trades[:0], retail, FEED_IN)
    assert ex.retail_mwh.tolist() == [1e-3, 0.0]
    assert ex.flexible.tolist() == [False, True]


def test_state_counts_each_position_once(validator, lv_rural1):
    ex = overloaded(lv_rural1)
    base = np.linspace(0.0, 0.01, len(lv_rural1.bus))
    p = validator.state_p_mw(ex, base, 0.25)
    # independent sum: base + 4 * executed net energy of each order at its bus (MW over 15 min)
    ref = base.copy()
    for row, net_mwh in zip(ex.book, ex.net_mwh()):
        ref[lv_rural1.bus.index.get_loc(row["bus"])] += net_mwh / 0.25
    np.testing.assert_allclose(p, ref, rtol=0, atol=1e-15)
    # the sellers' whole volume is matched locally: total injection = total draw (0.3 MWh)
    assert p.sum() - base.sum() == pytest.approx(0.0, abs=1e-12)


def test_ac_check_curtails_executed_volume_until_feasible(validator, lv_rural1):
    ex = overloaded(lv_rural1)
    q0 = ex.executed_mwh.copy()
    base = np.zeros(len(lv_rural1.bus))
    vm, ll, tl = pp_state(lv_rural1, validator.state_p_mw(ex, base, 0.25))
    assert vm.max() > 1.1 or np.nanmax(ll) > 100 or tl.max() > 100  # infeasible per pandapower
    res = dso_check("ac_check", validator, ex, base, 0.25)
    assert res.feasible
    # curtailment only lowers executed volume; the sellers (the cause) carry a grid reason (1-4)
    assert np.all(ex.executed_mwh <= q0 + 1e-15)
    assert np.all(np.isin(ex.reason[:3][ex.curtailed_mwh[:3] > 0], [1, 2, 3, 4]))
    # flexible buyers that lost their local seller are not executed (no backstop at 300 < 400);
    # a flexible buyer may also be cut directly where its draw loads a violated line
    assert COUNTERPARTY_CURTAILED in ex.reason[3:]
    assert np.all(ex.reason[ex.curtailed_mwh > 0] > 0)
    np.testing.assert_allclose(ex.executed_mwh + ex.curtailed_mwh, q0, rtol=0, atol=1e-15)
    t = res.trades
    assert np.any(t["curtailed_mwh"] > 0) and np.all(t["reason"][t["curtailed_mwh"] > 0] > 0)
    vm, ll, tl = pp_state(lv_rural1, res.p_mw)
    # after validation: feasible per an independent pandapower run (EN 50160 band 0.9-1.1 pu; 100 %),
    # tolerance 1e-6 % / 1e-9 pu: the two Newton-Raphson solutions at 1e-10 tolerance
    assert vm.min() >= 0.9 - 1e-9 and vm.max() <= 1.1 + 1e-9
    assert np.nanmax(ll) <= 100 + 1e-6 and tl.max() <= 100 + 1e-6
    np.testing.assert_allclose(res.p_mw, validator.state_p_mw(ex, base, 0.25), atol=1e-15)


def test_ac_check_backstop_buyers_keep_demand_through_retailer(validator, lv_rural1):
    ex = overloaded(lv_rural1, buyer_limit=RETAIL)  # inflexible buyers: their demand stays executed
    dso_check("ac_check", validator, ex, np.zeros(len(lv_rural1.bus)), 0.25)
    # their 0.4 MW each overloads the lines near the busbar by itself: left as is, recorded infeasible
    assert ex.curtailed_mwh[:3].sum() > 0
    np.testing.assert_allclose(ex.executed_mwh[3:], 0.1, rtol=1e-12)
    assert ex.retail_mwh[3:].sum() > 0 and ex.curtailed_mwh[3:].sum() == 0


def test_inflexible_demand_is_never_shed(validator, lv_rural1):
    far, _ = far_near(lv_rural1)
    # 3 x 0.05 MWh in 15 min = 0.6 MW at the far end: undervoltage / overload, demand bid at retail
    o = make_orders([0, 1, 2], [1, 1, 1], [0.05] * 3, [RETAIL] * 3, bus=far)
    ex = Execution.from_clearing(o, clear(o, "pay_as_clear").trades, RETAIL, FEED_IN)
    res = dso_check("ac_check", validator, ex, np.zeros(len(lv_rural1.bus)), 0.25)
    assert res.iterations >= 1 and not res.feasible and ex.curtailed_mwh.sum() == 0
    assert res.vm_min_pu < 0.9 or res.max_loading_percent > 100
    np.testing.assert_array_equal(ex.executed_mwh, [0.05] * 3)


def test_ac_check_untouched_when_feasible(validator, lv_rural1):
    ex = overloaded(lv_rural1)
    ex.local_mwh *= 1e-3
    ex.trades["quantity_mwh"] *= 1e-3
    res = dso_check("ac_check", validator, ex, np.zeros(len(lv_rural1.bus)), 0.25)
    assert res.feasible and res.iterations == 1 and ex.curtailed_mwh.sum() == 0


def test_caps_on_the_whole_state(lv_rural1):
    v = DsoValidator(lv_rural1, zone_import_mw=None, zone_export_mw=0.1)
    ex = overloaded(lv_rural1)
    base = np.zeros(len(lv_rural1.bus))
    res = v.caps(ex, base, 0.25)
    # every zone's export (minus its net consumption) within the 0.1 MW cap (1e-9 MW: round-off)
    for z in np.unique(v.zone):
        assert -res.p_mw[v.zone == z].sum() <= 0.1 + 1e-9
    assert np.all(ex.reason[:3][ex.curtailed_mwh[:3] > 0] == 6)
    # every load bus of the LV grid lies in a feeder zone (>= 0); the MV bus is upstream (< 0)
    assert np.all(v.zone[np.isin(lv_rural1.bus.index, lv_rural1.load.bus)] >= 0)
    zr = v.zonal(overloaded(lv_rural1), base, 0.25)
    assert zr.feasible


def test_none_is_identity():
    o = make_orders([0, 1], [1, -1], [1e-3, 1e-3], [300, 100])
    t = clear(o, "pay_as_clear").trades
    ex = Execution.from_clearing(o, t, RETAIL, FEED_IN)
    r = dso_check("none", None, ex, None, 0.25)
    np.testing.assert_array_equal(r.trades, t)
    assert r.p_mw is None


def test_positions_and_violations_match_the_definition(validator, lv_rural1):
    """The batched bus lookup and violation list equal the element-by-element
    definition exactly (integers and the same float differences, no tolerance):
    positions by ``net.bus.index.get_loc``; violations as (excess, kind, index,
    reason) over buses, lines, trafos, worst first, ties in element order."""
    from types import SimpleNamespace

    from simulators.market.errors import DsoCheckError

    rng = np.random.default_rng(11)
    idx = lv_rural1.bus.index.to_numpy()
    buses = np.r_[rng.choice(idx, 50), [-1, -1]]
    rng.shuffle(buses)
    want = [lv_rural1.bus.index.get_loc(b) if b >= 0 else -1 for b in buses.tolist()]
    assert validator.positions(buses).tolist() == want
    with pytest.raises(DsoCheckError, match=f"trade bus {idx.max() + 7} is not a bus"):
        validator.positions(np.array([idx[0], idx.max() + 7, idx.max() + 9]))
    vm = rng.choice([1.0, 1.12, 0.85, np.nan], len(idx), p=[0.7, 0.1, 0.1, 0.1])
    vm[:2] = 1.12  # a tie: kept in bus order
    st = SimpleNamespace(vm_pu=vm, line_loading_percent=rng.choice([50.0, 112.0, np.nan], len(lv_rural1.line)),
                         trafo_loading_percent=np.array([130.0]))
    want = [(v - 1.1, "vm", i, 1) for i, v in enumerate(vm) if v - 1.1 > 1e-9]
    want += [(0.9 - v, "vm", i, 2) for i, v in enumerate(vm) if 0.9 - v > 1e-9]
    want += [((x - 100.0) / 100.0, "line", i, 3) for i, x in enumerate(st.line_loading_percent)
             if (x - 100.0) / 100.0 > 1e-9]
    want += [(0.3, "trafo", 0, 4)]
    want = sorted(want, key=lambda c: -c[0])
    got = validator._violations(st)
    assert [(k, i, c) for _, k, i, c in got] == [(k, i, c) for _, k, i, c in want]
    assert [e for e, *_ in got] == [e for e, *_ in want]  # bit for bit
    assert {c for *_, c in got} == {1, 2, 3, 4}
