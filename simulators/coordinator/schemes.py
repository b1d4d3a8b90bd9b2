"""The five SmartNet coordination schemes on one interval's offers.

Activation sign (MESSAGE_DTYPE ``side``)
----------------------------------------
``side = -1``: **upward** regulation (the offering agent injects more /
consumes less, uses the offer's ``quantity_mwh`` headroom); ``side = +1``:
**downward** regulation (consumes more / injects less, uses
``quantity2_mwh``). Internally an activation of ``x`` MW changes the bus
consumption by ``-x`` (up) or ``+x`` (down), consumer reference.

Rules common to all schemes
---------------------------
* An offer is activated at most once per interval (GOPACS): the first buyer
  that activates it, even partly, consumes it; the rest is not re-offered.
* Activated power never exceeds the offered headroom in that direction.
* Offers are divisible; merit order is price ascending, ties by ``msg_id``.
* Pay-as-bid: each buyer pays the offer price times the activated energy.

Schemes
-------
``centralized``  TSO merit order on all offers, no DSO check.
``local``        DSO LP relieves its forecast violations first; the remaining
                 offers are checked by the DSO (linear model, traffic light)
                 and the TSO activates the feasible part in merit order.
``shared_balancing``  DSO relieves violations, then keeps each area's PCC
                 exchange within ``schedule +- band`` with local offers; the
                 TSO activates nothing.
``common``       one LP: TSO value of met need minus offer cost minus
                 penalised violations, with network constraints.
``integrated``   TSO, DSO and BRP bid; buyers served in descending price,
                 ties DSO > TSO > BRP (grid security before system balance
                 before commercial balancing); each takes the cheapest
                 feasible offers it values (price <= its bid).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from simulators.common.highs import cleared_highs
from simulators.common.network.traffic_light import AMBER, RED


log = logging.getLogger(__name__)

TSO, DSO, BRP = 1, 2, 3  #: buyer codes in the activation log
BUYER_NAMES = {TSO: "tso", DSO: "dso", BRP: "brp"}
EPS_MW = 1e-9


@dataclass
class Offers:
    """One interval's flexibility offers (one per agent), as arrays.

    ``up_mw`` / ``down_mw`` are the headroom as power over the interval [MW]
    (``quantity_mwh * 3600 / step_s``).
    """

    msg_id: np.ndarray
    agent: np.ndarray
    bus_pos: np.ndarray
    area: np.ndarray
    up_mw: np.ndarray
    down_mw: np.ndarray
    price: np.ndarray

    def __len__(self) -> int:
        return len(self.msg_id)


@dataclass
class Result:
    """Activations of one interval (``x_mw`` > 0 up, < 0 down)."""

    x_mw: np.ndarray
    buyer: np.ndarray
    blocked_by_light: int = 0
    tso_met_mw: float = 0.0
    p_before_tso: np.ndarray | None = None
    notes: dict = field(default_factory=dict)


class GridState:
    """Current bus consumption and the DSO's limits on the linear model."""

    def __init__(self, grid, dso, base_p_mw: np.ndarray, base_vm_pu: np.ndarray | None):
        self.g = grid
        self.Ac = grid.A_csc
        self.dso = dso
        self.base_p = base_p_mw.astype(float).copy()
        self.p = self.base_p.copy()
        self.cap = dso.power_factor * grid.s_max_mva * dso.max_loading_percent / 100.0
        self.f = grid.flows_mw(self.p)
        vm0 = grid.vm_pu(self.p) if base_vm_pu is None else np.asarray(base_vm_pu, float)
        self.vm = np.where(grid.in_tree, np.nan_to_num(vm0, nan=1.0), np.nan)

    def loading_percent(self) -> np.ndarray:
        return 100.0 * np.abs(self.f) / np.maximum(self.dso.power_factor * self.g.s_max_mva, 1e-12)

    def violations(self) -> tuple[np.ndarray, np.ndarray]:
        """Violation per branch group [MW] and per bus [pu] (0 where within limits)."""
        vb = np.maximum(np.abs(self.f) - self.cap, 0.0)
        vm = np.nan_to_num(self.vm, nan=1.0)
        vv = np.maximum(np.maximum(vm - self.dso.vm_max_pu, self.dso.vm_min_pu - vm), 0.0)
        return vb, vv

    def column(self, bus_pos: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Groups upstream of a bus, and the bus voltage change per MW of consumption there."""
        grp = self.Ac.indices[self.Ac.indptr[bus_pos]:self.Ac.indptr[bus_pos + 1]]
        dv = -(self.g.A[grp].T @ self.g.r_pu_per_mw[grp])
        return grp, np.flatnonzero(dv), dv[dv != 0]

    def headroom(self, bus_pos: int, dp_sign: float) -> float:
        """Largest consumption change ``dp_sign * t`` [MW] at a bus that creates no new
        violation and worsens none (a violated limit may only be relieved)."""
        grp, vi, dv = self.column(bus_pos)
        t = np.inf
        if grp.size:
            f, cap = self.f[grp], self.cap[grp]
            t = np.min(np.maximum(cap - f, 0.0) if dp_sign > 0 else np.maximum(f + cap, 0.0))
        if vi.size:
            d = dv * dp_sign
            v = self.vm[vi]
            lim = np.where(d > 0, np.maximum(self.dso.vm_max_pu - v, 0.0), np.maximum(v - self.dso.vm_min_pu, 0.0))
            t = min(t, float(np.min(lim / np.abs(d))))
        return float(t)

    def apply(self, bus_pos: np.ndarray, dp_mw: np.ndarray) -> None:
        """Add consumption changes ``dp_mw`` [MW] at bus positions."""
        d = np.zeros(self.g.n_bus)
        np.add.at(d, bus_pos, dp_mw)
        if not np.any(d):
            return
        df = self.g.A @ d
        self.p += d
        self.f += df
        self.vm -= self.g.A.T @ (self.g.r_pu_per_mw * df)


def merit_order(offers: Offers, used: np.ndarray, state: GridState, need_mw: float,
                limit_price: float, *, check: bool, light: np.ndarray | None,
                areas: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Activate the cheapest offers in the direction of ``need_mw``.

    Parameters
    ----------
    offers, used : Offers, numpy.ndarray
        Offers and the bool mask of offers already activated this interval.
    state : GridState
        Updated in place with the activations.
    need_mw : float
        Signed need [MW] (> 0 up).
    limit_price : float
        Buyer's price [EUR/MWh]; dearer offers are not taken.
    check : bool
        Cap every activation at the DSO headroom (linear model).
    light : numpy.ndarray or None
        Traffic light per area; red areas excluded, amber areas capped.
    areas : numpy.ndarray or None
        Restrict to offers in these areas.

    Returns
    -------
    x_mw : numpy.ndarray
        Signed activation per offer [MW].
    blocked : int
        Offers the ungated merit order would have activated that the light
        excluded (red) or reduced (amber).
    """
    x = np.zeros(len(offers))
    if abs(need_mw) <= EPS_MW or not len(offers):
        return x, 0
    up = need_mw > 0
    cap = offers.up_mw if up else offers.down_mw
    ok = (~used) & (cap > EPS_MW) & (offers.price <= limit_price) & (offers.bus_pos >= 0)
    if areas is not None:
        ok &= np.isin(offers.area, areas)
    cand = np.flatnonzero(ok)
    cand = cand[np.lexsort((offers.msg_id[cand], offers.price[cand]))]
    if not cand.size:
        return x, 0
    before = np.cumsum(cap[cand]) - cap[cand]  # merit order without gate: volume ahead of each offer
    planned = cand[before < abs(need_mw)]
    planned_q = np.minimum(cap[planned], abs(need_mw) - before[before < abs(need_mw)])
    plan = dict(zip(planned.tolist(), planned_q.tolist()))
    remaining, blocked = abs(need_mw), 0
    dp_sign = -1.0 if up else 1.0
    for j in cand:
        if remaining <= EPS_MW:
            break
        q = min(cap[j], remaining)
        lt = light[offers.area[j]] if light is not None and offers.area[j] >= 0 else 0
        if lt == RED:
            blocked += int(j in plan)
            continue
        if check or lt == AMBER:
            q = min(q, state.headroom(int(offers.bus_pos[j]), dp_sign))
        if lt == AMBER and j in plan and q < plan[j] - 1e-9:
            blocked += 1
        if q <= EPS_MW:
            continue
        x[j] = q if up else -q
        remaining -= q
        state.apply(np.array([offers.bus_pos[j]]), np.array([dp_sign * q]))
    return x, blocked


# ---------------------------------------------------------------- LPs (HiGHS)

def _lp_rows(state: GridState, offers: Offers, groups: np.ndarray, buses: np.ndarray,
             Ab: sp.csr_matrix | None = None):
    """Constraint rows for a set of branch groups and buses.

    Rows are written in terms of ``y_j = x_up_j - x_dn_j`` (upward activation
    [MW]): flow change ``-A[g, b_j] y_j``, voltage change ``+V_ij y_j`` with
    ``V_ij = sum_g A[g,i] A[g,b_j] r_g``. ``Ab`` is ``A[:, offers.bus_pos]``
    when the caller has it already.
    """
    if Ab is None:
        Ab = state.g.A[:, offers.bus_pos]  # [G, n_off]
    F = -Ab[groups]
    Ai = state.g.A[:, buses].T.multiply(state.g.r_pu_per_mw).tocsr()  # [n_b, G]
    V = (Ai @ Ab).tocsr()
    flo = -state.cap[groups] - state.f[groups]
    fhi = state.cap[groups] - state.f[groups]
    vlo = state.dso.vm_min_pu - state.vm[buses]
    vhi = state.dso.vm_max_pu - state.vm[buses]
    return sp.vstack([F, V]).tocsr(), np.concatenate([flo, vlo]), np.concatenate([fhi, vhi])


def solve_lp(offers: Offers, avail: np.ndarray, state: GridState, penalty: float,
             tso_need_mw: float = 0.0, tso_price: float = 0.0, max_rounds: int = 20) -> tuple[np.ndarray, float]:
    """Least-cost activations with network constraints (constraint generation).

    Minimise ``sum_j c_j (u_j + d_j) - tso_price * s + penalty * (slack)``
    subject to the linear flow and voltage limits (each with a penalised
    slack), ``0 <= u_j <= up_j``, ``0 <= d_j <= down_j`` (zero for offers not
    ``avail``) and, if ``tso_need_mw != 0``, the met TSO need
    ``0 <= s <= |need|``, ``s <= sign(need) * sum_j (u_j - d_j)``.
    Rows start with the violated and amber elements; elements the solution
    violates are added and the LP re-solved until none is violated.

    Exact skip: when every upper bound of ``u`` and ``d`` is 0 (no offers, or
    none available with headroom), the LP's only solution in ``u, d`` is 0:
    ``y = 0`` and ``s <= sgn * sum(u - d) = 0`` forces ``met = 0``. That is
    returned without building the LP (counted in :data:`LP_STATS`
    ``["skipped_no_headroom"]``); a non-optimal LP returns the same.

    Returns
    -------
    y_mw : numpy.ndarray
        Net upward activation per offer [MW] (``u - d``; both never > 0).
    met_mw : float
        TSO need met [MW].
    """
    n = len(offers)
    if np.all(np.where(avail, offers.up_mw, 0.0) == 0.0) and np.all(np.where(avail, offers.down_mw, 0.0) == 0.0):
        LP_STATS["skipped_no_headroom"] += 1
        return np.zeros(n), 0.0
    vb, vv = state.violations()
    amber = 100.0 * np.abs(state.f) / np.maximum(state.cap, 1e-12) > state.dso.amber_loading_percent / state.dso.max_loading_percent * 100
    groups = np.flatnonzero((vb > 0) | amber)
    vm = np.nan_to_num(state.vm, nan=1.0)
    m = state.dso.amber_vm_margin_pu
    buses = np.flatnonzero((vv > 0) | (vm > state.dso.vm_max_pu - m) | (vm < state.dso.vm_min_pu + m))
    y, met = np.zeros(n), 0.0
    Ab = state.g.A[:, offers.bus_pos]  # [G, n_off], the same matrix for every round
    for _ in range(max_rounds):
        y, met = _solve_once(offers, avail, state, penalty, tso_need_mw, tso_price, groups, buses, Ab)
        df = Ab @ y
        fb = np.abs(state.f - df) - state.cap
        vnew = vm + state.g.A.T @ (state.g.r_pu_per_mw * df)
        newg = np.setdiff1d(np.flatnonzero((fb > 1e-7) & (fb > vb + 1e-7)), groups)
        newb = np.setdiff1d(np.flatnonzero(((vnew > state.dso.vm_max_pu + 1e-7) | (vnew < state.dso.vm_min_pu - 1e-7))
                                           & state.g.in_tree), buses)
        if not newg.size and not newb.size:
            break
        groups, buses = np.union1d(groups, newg), np.union1d(buses, newb)
    return y, met


#: Counters of :func:`solve_lp` over the process (tests read them).
LP_STATS: dict[str, int] = {"skipped_no_headroom": 0, "solved": 0}


def lp_model(offers, avail, state, penalty, need, price, groups, buses, Ab=None) -> highspy.HighsLp:
    """The HiGHS LP of one constraint-generation round (:func:`solve_lp`).

    Columns ``u (n), d (n), slack_lo (nr), slack_hi (nr), [s]``; rows the
    ``nr`` network rows ``[R, -R, I, -I, 0]`` and, with a TSO need, the row
    ``sgn * sum(u - d) - s >= 0``. The column-wise matrix is assembled
    directly from ``R`` (column by column, each column's rows ascending, as a
    row-wise stack converted to columns gives them).
    """
    n = len(offers)
    R, lo, hi = _lp_rows(state, offers, groups, buses, Ab)
    nr = R.shape[0]
    has_tso = abs(need) > EPS_MW
    nc = 2 * n + 2 * nr + int(has_tso)
    cost = np.concatenate([offers.price, offers.price, np.full(2 * nr, penalty), [-price] if has_tso else []])
    # price 0 offers: tiny cost so u and d are never both positive
    cost[:2 * n] += 1e-6
    lb = np.zeros(nc)
    ub = np.concatenate([np.where(avail, offers.up_mw, 0.0), np.where(avail, offers.down_mw, 0.0),
                         np.full(2 * nr, np.inf), [abs(need)] if has_tso else []])
    rlo, rhi = lo, hi
    Rc = R.tocsc()
    cnt_r = np.diff(Rc.indptr)
    extra = int(has_tso)  # the TSO row: one more entry in every u, d column and in s
    counts = np.concatenate([cnt_r + extra, cnt_r + extra, np.ones(2 * nr, np.int64),
                             [1] if has_tso else []]).astype(np.int64)
    start = np.zeros(nc + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    index = np.empty(start[-1], np.int64)
    value = np.empty(start[-1], float)
    # u and d columns: R's column, then the TSO row
    col_of = np.repeat(np.arange(n), cnt_r)
    within = np.arange(Rc.nnz) - Rc.indptr[col_of]
    for off, data, sgn_v in ((0, Rc.data, 1.0), (n, -Rc.data, -1.0)):
        at = start[off + col_of] + within
        index[at], value[at] = Rc.indices, data
        if has_tso:
            last = start[off + 1:off + n + 1] - 1
            index[last], value[last] = nr, np.sign(need) * sgn_v
    index[start[2 * n]:start[2 * n + 2 * nr]] = np.tile(np.arange(nr), 2)
    value[start[2 * n]:start[2 * n + nr]] = 1.0
    value[start[2 * n + nr]:start[2 * n + 2 * nr]] = -1.0
    if has_tso:
        index[-1], value[-1] = nr, -1.0
        rlo, rhi = np.concatenate([lo, [0.0]]), np.concatenate([hi, [np.inf]])
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = nc, nr + int(has_tso)
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lb, ub
    lp.row_lower_, lp.row_upper_ = rlo, rhi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start.astype(np.int32)
    lp.a_matrix_.index_ = index.astype(np.int32)
    lp.a_matrix_.value_ = value
    return lp


def _solve_once(offers, avail, state, penalty, need, price, groups, buses, Ab=None):
    n = len(offers)
    has_tso = abs(need) > EPS_MW
    lp = lp_model(offers, avail, state, penalty, need, price, groups, buses, Ab)
    h = cleared_highs()
    h.passModel(lp)
    h.run()
    LP_STATS["solved"] += 1
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        log.warning("coordinator LP not optimal: %s; no activation", h.modelStatusToString(h.getModelStatus()))
        return np.zeros(n), 0.0
    sol = np.asarray(h.getSolution().col_value)
    y = sol[:n] - sol[n:2 * n]
    y[np.abs(y) < 1e-9] = 0.0
    return y, float(sol[-1]) if has_tso else 0.0
