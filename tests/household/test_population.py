"""Population: exact SimBench baseline, PV conservation, seeded assignment."""

import numpy as np
import simbench

from simulators.household import HouseholdModel, HouseholdsConfig, build_population
from simulators.common.netdata import profile_row

#: every load of 1-LV-rural1 becomes a home (13: 3 H0 homes and 10 farms), as these tests assume
ALL = ["household", "commercial", "agricultural"]


def test_zero_shares_reproduce_simbench_loads_exactly(rural_net):
    # Reference: simbench's own get_absolute_values, summed per bus in load order.
    net = rural_net
    ref = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    start, n = "2016-06-01T00:00:00", 96
    m = HouseholdModel(net, HouseholdsConfig(include=ALL), start, 900, n, seed=1)
    r0 = profile_row(start)
    bus_pos = np.searchsorted(net.bus.index.to_numpy(), net.load.bus.to_numpy())
    for k in range(n):
        out, msgs = m.step(k)
        for col, key in (("p_mw", "bus_p_mw"), ("q_mvar", "bus_q_mvar")):
            vals = ref[("load", col)].iloc[r0 + k].to_numpy()
            expect = np.bincount(bus_pos, weights=vals, minlength=len(net.bus))
            assert np.array_equal(out[key], expect)  # exact, no tolerance
        assert len(msgs) == 0
    assert m.pop.modelled_sgens() == []


def test_pv_absorb_conserves_installed_capacity(rural_net):
    cfg = HouseholdsConfig.model_validate({"pv": {"share": 0.0, "sgen_mode": "absorb"}, "include": ALL})
    pop = build_population(rural_net, cfg, np.random.default_rng(0))
    # every PV sgen of rural1 sits at a household bus: all are absorbed
    assert sorted(pop.modelled_sgens()) == sorted(rural_net.sgen.index.tolist())
    assert abs(pop.pv_mw.sum() - rural_net.sgen.p_mw.sum()) < 1e-12
    # available power equals the SimBench sgen profile sum (reference: simbench)
    ref = simbench.get_absolute_values(rural_net, profiles_instead_of_study_cases=True)[("sgen", "p_mw")]
    row = 17000  # a June noon-ish row
    assert abs(pop.pv_avail_mw(row).sum() - ref.iloc[row].sum()) < 1e-12
    keep = build_population(rural_net, HouseholdsConfig(), np.random.default_rng(0))
    assert keep.modelled_sgens() == [] and keep.pv_mw.sum() == 0.0


def test_seed_determinism_and_difference(rural_net):
    cfg = HouseholdsConfig.model_validate({"pv": {"share": 0.5}, "ev": {"share": 0.5}, "include": ALL})
    a = build_population(rural_net, cfg, np.random.default_rng(7))
    b = build_population(rural_net, cfg, np.random.default_rng(7))
    assert np.array_equal(a.has_pv, b.has_pv) and np.array_equal(a.pv_drawn_mw, b.pv_drawn_mw)
    # round(0.5*13) = 7 PV homes
    assert a.has_pv.sum() == 7
    others = [build_population(rural_net, cfg, np.random.default_rng(s)) for s in range(8, 12)]
    assert any(not np.array_equal(a.has_pv, o.has_pv) for o in others)


def test_default_homes_are_the_household_profiles_only(rural_net):
    # Reference: simbench's get_absolute_values of the three H0 loads (the L1-A/L2-A farms stay grid loads)
    net = rural_net
    ref = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)[("load", "p_mw")]
    start = "2016-06-01T00:00:00"
    m = HouseholdModel(net, HouseholdsConfig(), start, 900, 4, seed=1)
    assert list(m.pop.load_class) == ["household"] * 3
    h0 = net.load.profile.str.startswith("H0").to_numpy()
    assert sorted(m.pop.load_idx) == sorted(net.load.index[h0])
    r0 = profile_row(start)
    for k in range(4):
        out, _ = m.step(k)
        # same products of relative profile and nominal power; 1e-15 MW allows the summation order
        assert abs(out["bus_p_mw"].sum() - ref.iloc[r0 + k].to_numpy()[h0].sum()) < 1e-15
