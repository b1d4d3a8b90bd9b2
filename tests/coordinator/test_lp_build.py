"""The coordinator LP: assembled column-wise without sparse stacking, and its exact skip.

The LP handed to HiGHS must be the same, array for array, as the row-wise
stack ``[R, -R, I, -I, 0; tso row]`` converted to columns (the construction
before the direct assembly, kept here as the definition), so the solver sees
identical input and returns identical activations.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from simulators.common.network import build_linear_grid
from simulators.common.netdata import load_net
from simulators.coordinator import CoordinatorConfig
from simulators.coordinator import schemes as S


def stacked_lp(offers, avail, state, penalty, need, price, groups, buses):
    """The definition: row-wise sparse stack, converted to columns."""
    n = len(offers)
    R, lo, hi = S._lp_rows(state, offers, groups, buses)
    nr = R.shape[0]
    has_tso = abs(need) > S.EPS_MW
    cost = np.concatenate([offers.price, offers.price, np.full(2 * nr, penalty), [-price] if has_tso else []])
    cost[:2 * n] += 1e-6
    ub = np.concatenate([np.where(avail, offers.up_mw, 0.0), np.where(avail, offers.down_mw, 0.0),
                         np.full(2 * nr, np.inf), [abs(need)] if has_tso else []])
    rows = sp.hstack([R, -R, sp.identity(nr, format="csr"), -sp.identity(nr, format="csr")]
                     + ([sp.csr_matrix((nr, 1))] if has_tso else [])).tocsr()
    rlo, rhi = lo, hi
    if has_tso:
        sgn = np.sign(need)
        trow = sp.csr_matrix(np.concatenate([np.full(n, sgn), np.full(n, -sgn), np.zeros(2 * nr), [-1.0]]))
        rows = sp.vstack([rows, trow]).tocsr()
        rlo, rhi = np.concatenate([lo, [0.0]]), np.concatenate([hi, [np.inf]])
    csc = rows.tocsc()
    return dict(num_col_=rows.shape[1], num_row_=rows.shape[0], col_cost_=cost, col_lower_=np.zeros(len(cost)),
                col_upper_=ub, row_lower_=rlo, row_upper_=rhi, start_=csc.indptr, index_=csc.indices,
                value_=csc.data)


@pytest.fixture(scope="module")
def case():
    """SimBench 1-LV-semiurb4 (a grid no other coordinator test uses), its linear model
    and a state with voltages and loadings near and beyond the DSO limits."""
    net = load_net({"simbench": "1-LV-semiurb4--0-sw"})
    g = build_linear_grid(net)
    dso = CoordinatorConfig().dso
    return g, dso


def random_offers(rng, g, n):
    pos = rng.integers(0, g.n_bus, n)
    up = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0, 0.05, n))
    down = np.where(rng.random(n) < 0.3, 0.0, rng.uniform(0, 0.05, n))
    return S.Offers(np.arange(n) + 100, np.arange(n), pos, g.bus_area[pos], up, down,
                    rng.choice([0.0, 20.0, 50.0, 80.0], n))


@pytest.mark.parametrize("need", [0.0, 0.07, -0.04])
def test_assembled_lp_equals_the_stacked_definition(case, need):
    """Every array of the LP equal to the stacked construction (exact, no
    tolerance), over random offers, row sets and availability."""
    g, dso = case
    rng = np.random.default_rng(7)
    for trial in range(15):
        state = S.GridState(g, dso, rng.normal(0.02, 0.03, g.n_bus), None)
        off = random_offers(rng, g, int(rng.integers(1, 12)))
        avail = rng.random(len(off)) < 0.8
        groups = np.sort(rng.choice(len(g.group_area), int(rng.integers(0, 6)), replace=False))
        buses = np.sort(rng.choice(g.n_bus, int(rng.integers(0, 6)), replace=False))
        want = stacked_lp(off, avail, state, 1e4, need, 70.0, groups, buses)
        lp = S.lp_model(off, avail, state, 1e4, need, 70.0, groups, buses)
        assert lp.num_col_ == want["num_col_"] and lp.num_row_ == want["num_row_"]
        for k in ("col_cost_", "col_lower_", "col_upper_", "row_lower_", "row_upper_"):
            assert np.array_equal(np.asarray(getattr(lp, k)), want[k]), k
        for k in ("start_", "index_", "value_"):
            assert np.array_equal(np.asarray(getattr(lp.a_matrix_, k)), want[k]), k


def test_no_headroom_skips_the_lp_with_the_solved_result(case):
    """Offers without available headroom: the skip returns what HiGHS returns on
    the full LP (y exactly 0, met 0: the LP fixes u = d = 0 and s <= 0), and it is
    taken (counted); with headroom, the LP is solved (counted)."""
    g, dso = case
    rng = np.random.default_rng(9)
    state = S.GridState(g, dso, rng.normal(0.05, 0.03, g.n_bus), None)
    off = random_offers(rng, g, 6)
    avail = np.zeros(6, bool)
    for need in (0.0, 0.05, -0.05):
        before = dict(S.LP_STATS)
        y, met = S.solve_lp(off, avail, state, 1e4, need, 70.0)
        assert S.LP_STATS["skipped_no_headroom"] == before["skipped_no_headroom"] + 1
        assert S.LP_STATS["solved"] == before["solved"]
        # the full computation: HiGHS on the LP (the skip holds for any row set)
        vb, vv = state.violations()
        y_full, met_full = S._solve_once(off, avail, state, 1e4, need, 70.0,
                                         np.flatnonzero(vb > 0), np.flatnonzero(vv > 0))
        assert S.LP_STATS["solved"] > before["solved"]
        assert np.array_equal(y, y_full) and y.tolist() == [0.0] * 6
        assert met == met_full == 0.0
    empty = S.Offers(*(np.zeros(0, t) for t in (np.int64, np.int64, np.int64, np.int64, float, float, float)))
    assert S.solve_lp(empty, np.zeros(0, bool), state, 1e4, 0.05, 70.0)[0].shape == (0,)
    before = S.LP_STATS["solved"]
    y, _ = S.solve_lp(off, np.ones(6, bool), state, 1e4, 0.05, 70.0)
    assert S.LP_STATS["solved"] > before and np.abs(y).sum() > 0


def test_reused_solver_gives_the_fresh_solver_solution(case):
    """The per-thread HiGHS instance, cleared between LPs, solves each LP exactly
    as a new instance does (same column values bit for bit: no basis survives
    ``clearModel``) and keeps ``output_flag`` off; it is the same object each time."""
    from simulators.common.highs import cleared_highs, new_highs

    g, dso = case
    rng = np.random.default_rng(13)
    assert cleared_highs() is cleared_highs()
    for _ in range(40):
        off = random_offers(rng, g, int(rng.integers(1, 25)))
        state = S.GridState(g, dso, rng.normal(0.03, 0.03, g.n_bus), None)
        vb, vv = state.violations()
        lp = S.lp_model(off, np.ones(len(off), bool), state, 1e4, float(rng.choice([0.0, 0.05, -0.05])), 70.0,
                        np.flatnonzero(vb > 0), np.flatnonzero(vv > 0))
        fresh = new_highs()
        fresh.passModel(lp)
        fresh.run()
        h = cleared_highs()
        h.passModel(lp)
        h.run()
        assert np.array_equal(np.asarray(h.getSolution().col_value), np.asarray(fresh.getSolution().col_value))
        assert h.getOptionValue("output_flag")[-1] is False
