"""Local flexibility market (LFM): needs, clearing, activation, settlement.

Process (Jin, Wu & Jia 2019, Applied Energy 261:114387, Sect. 3; MARKETS.md):

1. :func:`forecast_grid` / :func:`detect_needs`: the DSO predicts the next
   intervals' grid state and posts a :class:`FlexRequest` per element (branch
   or feeder voltage) that would violate a limit, with the MW needed per
   interval, and publishes a traffic light per area (:func:`traffic_light`).
2. Aggregators offer profiles (:class:`FlexProfiles`, built by
   :mod:`simulators.market.aggregator`).
3. :func:`clear_lfm` selects whole profiles by a MILP (HiGHS).
4. :func:`activations` turns the accepted profiles into MW set-points.
5. :func:`settle_lfm` pays delivered flexibility and penalises shortfall.

Location effectiveness
----------------------
A request concerns one constrained quantity. Its need is expressed in MW of
that quantity: branch flow [MW] for a thermal request, MW of injection *at the
violating bus* for a voltage request. One MW of flexibility at bus ``j``
relieves ``eff_j`` MW of it: ``eff_j = max(0, dP_branch/dp_j)`` (flow
reduction per MW less consumption downstream; the loss-aware PTDF, about 1
downstream and 0 elsewhere on a radial feeder) or
``eff_j = max(0, dv_k/dp_j / dv_k/dp_k)`` for a voltage request at bus ``k``.
Flexibility that does not relieve the constraint counts zero.

Clearing (MILP, binary acceptance ``a_j`` of whole profiles)
-------------------------------------------------------------
``E_rtj = eff_r[bus_j] * q_jt^(dir_r)`` is profile ``j``'s effective relief of
request ``r`` in interval ``t`` (``q^(+1)`` its upward, ``q^(-1)`` its
downward MW). ``C_j`` is its offer cost [EUR].

* ``objective="welfare"`` (Jin et al. Eq. 1-3, binary acceptance of requests
  ``b_r`` too): ``max sum_r V_r b_r - sum_j C_j a_j`` s.t.
  ``sum_j E_rtj a_j >= need_rt b_r``; ``V_r = value * sum_t need_rt * dt``.
  A request that cannot be met is "not met" and its whole need is shortfall.
* ``objective="dso_cost_min"``: ``min sum_j C_j a_j + penalty * dt * sum s_rt``
  s.t. ``sum_j E_rtj a_j + s_rt >= need_rt``, ``0 <= s_rt <= need_rt``
  (partial coverage; the shortfall ``s`` is penalised at the DSO's
  alternative cost).
* At most one profile per exclusive group (the up and down variants of the
  same members' headroom).

Products and offer cost ``C_j`` (``dt`` interval length [h])
-------------------------------------------------------------
* ``srp`` (scheduled re-profiling, firm): ``price * sum_t q_jt * dt``.
* ``crp`` (conditional re-profiling, an option the DSO calls):
  ``reservation * E_j + p_act * price * E_j`` with ``E_j = sum_t q_jt dt`` and
  ``p_act`` the expected activation probability (default 1: the DSO buys
  options only against forecast needs).
* ``crp2`` (bi-directional in ``[-y, x]`` MW): ``reservation * sum_t (x+y) dt
  + p_act * price * sum_t max(x, y) dt``. A band accepted for both an up and a
  down request in the same interval counts for both (the DSO calls one
  direction per interval; with opposite needs in one interval this overstates
  coverage).

Pricing: ``pay_as_bid`` pays ``C_j``; ``pay_as_clear`` pays every accepted
profile its offered energy times the highest accepted unit cost
``C_j / E_j`` [EUR/MWh] (SmartNet's marginal pricing, Jin et al. Sect. 4).

Defaults (documented assumptions; the reviews give no numbers): the value of
relief and the shortfall penalty equal 300 EUR/MWh, the household retail price
the DSO would otherwise compensate for curtailed energy (BDEW
Strompreisanalyse 2021, ~32 ct/kWh); traffic light amber above 90 % loading or
within 0.01 pu of the voltage band, red at a violation (the network core's
light, :mod:`simulators.common.network.traffic_light`); the
settlement penalty for undelivered energy is 1.0 x the unit price on top of
non-payment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

from simulators.common.highs import new_highs
from simulators.common.network.traffic_light import AMBER, GREEN, RED  # noqa: F401 (re-exported)
from simulators.common.network.traffic_light import traffic_light as area_traffic_light
from simulators.common.network.linear import LinearNetwork

logger = logging.getLogger(__name__)

PRODUCTS = ("srp", "crp", "crp2")
SRP, CRP, CRP2 = 0, 1, 2


@dataclass(frozen=True)
class LfmLimits:
    """Limits and thresholds of the DSO's need detection (see module docstring)."""

    vm_min_pu: float = 0.9  # EN 50160:2010
    vm_max_pu: float = 1.1  # EN 50160:2010
    max_loading_percent: float = 100.0
    amber_loading_percent: float = 90.0
    amber_vm_margin_pu: float = 0.01
    value_eur_per_mwh: float = 300.0
    lead_time_s: int = 900  # offers are due one interval before the need


@dataclass
class FlexRequest:
    """A DSO flexibility request over the forecast horizon.

    Attributes
    ----------
    request_id : int
    element : str
        ``"line"``, ``"trafo"`` or ``"bus"`` (voltage).
    element_index : int
        pandapower index of the line/trafo/bus.
    bus : int
        pandapower bus the request is located at (the violating bus, or the
        downstream end of the branch).
    direction : int
        +1 upward (less consumption / more generation), -1 downward.
    need_mw : ndarray [T]
        Relief needed per interval [MW of the constrained quantity].
    start_s, interval_s : int
        Start of the horizon and interval length [s].
    deadline_s : int
        Latest time for offers [s].
    effectiveness : ndarray [n_bus]
        Relief per MW of flexibility at each bus (``network.bus_index`` order).
    value_eur_per_mwh : float
        DSO's value of relief [EUR/MWh].
    """

    request_id: int
    element: str
    element_index: int
    bus: int
    direction: int
    need_mw: np.ndarray
    start_s: int
    interval_s: int
    deadline_s: int
    effectiveness: np.ndarray
    value_eur_per_mwh: float

    @property
    def duration_intervals(self) -> int:
        """Number of intervals from the first to the last one with a need."""
        nz = np.flatnonzero(self.need_mw > 0)
        return int(nz[-1] - nz[0] + 1) if len(nz) else 0


@dataclass
class FlexProfiles:
    """Profiles offered to the LFM (one row per profile, T intervals).

    Attributes
    ----------
    bus : ndarray[int] [P]
        pandapower bus of the profile's members.
    aggregator : ndarray[int] [P]
    product : ndarray[int] [P]
        0 srp, 1 crp, 2 crp2.
    up_mw, down_mw : ndarray [P, T]
        Upward / downward flexibility per interval [MW], non-negative.
    price_eur_per_mwh : ndarray [P]
        Energy (srp) or activation (crp, crp2) price [EUR/MWh].
    reservation_eur_per_mwh : ndarray [P]
        Reservation price of options (0 for srp) [EUR/MWh].
    group : ndarray[int] [P]
        Exclusive group (at most one accepted per group); -1 for none.
    """

    bus: np.ndarray
    aggregator: np.ndarray
    product: np.ndarray
    up_mw: np.ndarray
    down_mw: np.ndarray
    price_eur_per_mwh: np.ndarray
    reservation_eur_per_mwh: np.ndarray
    group: np.ndarray

    def __len__(self) -> int:
        return len(self.bus)


@dataclass
class LfmResult:
    """Outcome of :func:`clear_lfm`.

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"infeasible"`` or ``"solver_error"``.
    accepted : ndarray[bool] [P]
    request_met : ndarray[bool] [R]
        Request fully covered in every interval.
    covered_mw, shortfall_mw : ndarray [R, T]
        Effective relief procured and need not covered [MW].
    offer_cost_eur, payment_eur : ndarray [P]
        Offer cost of each profile and what the DSO pays it [EUR].
    clearing_price_eur_per_mwh : float
        Uniform price (pay_as_clear) or NaN.
    objective_eur : float
        MILP objective (welfare [EUR] or DSO cost [EUR]).
    welfare_eur : float
        Value of covered need minus offer cost [EUR].
    dso_cost_eur : float
        Payments plus the penalty of the shortfall [EUR].
    """

    status: str
    accepted: np.ndarray
    request_met: np.ndarray
    covered_mw: np.ndarray
    shortfall_mw: np.ndarray
    offer_cost_eur: np.ndarray
    payment_eur: np.ndarray
    clearing_price_eur_per_mwh: float = float("nan")
    objective_eur: float = float("nan")
    welfare_eur: float = float("nan")
    dso_cost_eur: float = float("nan")
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------- DSO side
def forecast_grid(network: LinearNetwork, dp_mw: np.ndarray, dq_mvar: np.ndarray | None = None
                  ) -> dict[str, np.ndarray]:
    """Linear forecast of the grid state for consumption changes per interval.

    Parameters
    ----------
    network : LinearNetwork
    dp_mw, dq_mvar : ndarray [T, n_bus]
        Forecast net consumption minus the operating point [MW], [Mvar].

    Returns
    -------
    dict
        ``vm_pu`` [T, n_bus], ``loading_percent`` and ``branch_p_mw``
        (flow into the branch at its from/hv end) [T, n_branch].
    """
    dp = np.atleast_2d(dp_mw)
    dq = np.zeros_like(dp) if dq_mvar is None else np.atleast_2d(dq_mvar)
    vm = network.vm0_pu + dp @ network.dv_dp.T + dq @ network.dv_dq.T
    pe = network.end_p0_mw + dp @ network.dpe_dp.T + dq @ network.dpe_dq.T
    qe = network.end_q0_mvar + dp @ network.dqe_dp.T + dq @ network.dqe_dq.T
    le = 100 * np.hypot(pe, qe) / network.s_max_mva
    return {"vm_pu": vm, "loading_percent": np.maximum(le[:, 0::2], le[:, 1::2]),
            "branch_p_mw": pe[:, 0::2]}


def branch_area(network: LinearNetwork) -> np.ndarray:
    """Area (feeder id) of each branch: that of its downstream buses, 0 if mixed."""
    out = np.zeros(network.ptdf.shape[0], dtype=int)
    for k, row in enumerate(network.ptdf):
        areas = np.unique(network.area[row > 0])
        if len(areas) == 1:
            out[k] = areas[0]
    return out


def traffic_light(forecast: dict, network: LinearNetwork, limits: LfmLimits) -> np.ndarray:
    """Traffic light per interval and feeder area: 0 green, 1 amber, 2 red.

    The network core's light (:func:`simulators.common.network.traffic_light.traffic_light`)
    on the forecast, with the feeder areas of ``network`` (``0..network.area.max()``,
    0 = substation buses; a branch belongs to the area of its downstream buses,
    :func:`branch_area`).

    Returns
    -------
    ndarray[int8] [T, n_area]
    """
    return area_traffic_light(forecast["vm_pu"], forecast["loading_percent"], network.area,
                                branch_area(network), int(network.area.max()) + 1, limits)


def detect_needs(forecast: dict, limits: LfmLimits, network: LinearNetwork, *,
                 start_s: int = 0, interval_s: int = 900) -> list[FlexRequest]:
    """Post one request per overloaded branch and per feeder with a voltage violation.

    Parameters
    ----------
    forecast : dict
        ``vm_pu`` [T, n_bus], ``loading_percent`` and ``branch_p_mw``
        [T, n_branch] (as returned by :func:`forecast_grid`).
    limits : LfmLimits
    network : LinearNetwork
        Supplies the sensitivities (location effectiveness).
    start_s, interval_s : int
        Start of the horizon and interval length [s].

    Returns
    -------
    list[FlexRequest]
        Thermal need: ``(loading - limit)/100 * S_max`` [MW, active power taken
        as the apparent excess]; voltage need at the worst bus of a feeder:
        voltage deficit divided by the bus's own sensitivity [MW].
    """
    vm, ld, pbr = forecast["vm_pu"], forecast["loading_percent"], forecast["branch_p_mw"]
    reqs: list[FlexRequest] = []
    deadline = start_s - limits.lead_time_s
    smax = network.s_max_mva[0::2]
    kinds = np.where(network.branch_kind == 0, "line", "trafo")
    for k in np.flatnonzero((ld > limits.max_loading_percent).any(axis=0)):
        need = np.maximum(ld[:, k] - limits.max_loading_percent, 0) / 100 * smax[k]
        t_peak = int(np.argmax(need))
        direction = 1 if pbr[t_peak, k] >= 0 else -1
        eff = np.maximum(direction * np.sign(pbr[t_peak, k] or 1.0)
                         * network.dpe_dp[2 * k], 0.0)
        down_bus = network.bus_index[network.ptdf[k] > 0]
        reqs.append(FlexRequest(len(reqs), str(kinds[k]), int(network.branch_element[k]),
                                int(down_bus[0]) if len(down_bus) else -1, direction, need,
                                start_s, interval_s, deadline, eff, limits.value_eur_per_mwh))
    dvdp_diag = np.diag(network.dv_dp)
    for direction, excess in ((1, limits.vm_min_pu - vm), (-1, vm - limits.vm_max_pu)):
        for a in np.unique(network.area[(excess > 0).any(axis=0)]):
            cols = np.flatnonzero((network.area == a) & (dvdp_diag < 0))
            if not len(cols):
                continue
            k = cols[np.argmax(excess[:, cols].max(axis=0))]
            need = np.maximum(excess[:, k], 0) / -dvdp_diag[k]
            eff = np.maximum(network.dv_dp[k] / dvdp_diag[k], 0.0)
            reqs.append(FlexRequest(len(reqs), "bus", int(network.bus_index[k]),
                                    int(network.bus_index[k]), direction, need, start_s,
                                    interval_s, deadline, eff, limits.value_eur_per_mwh))
    return reqs


# ---------------------------------------------------------------- clearing
def offer_cost(profiles: FlexProfiles, interval_h: float, activation_probability: float = 1.0
               ) -> np.ndarray:
    """Offer cost ``C_j`` of each profile [EUR] (see module docstring)."""
    up, dn = profiles.up_mw, profiles.down_mw
    e_dir = (up + dn).sum(axis=1) * interval_h  # srp/crp: one direction is zero
    e_max = np.maximum(up, dn).sum(axis=1) * interval_h
    act = np.where(profiles.product == SRP, 1.0, activation_probability)
    e_act = np.where(profiles.product == CRP2, e_max, e_dir)
    return profiles.reservation_eur_per_mwh * e_dir + act * profiles.price_eur_per_mwh * e_act


def effective_relief(requests: list[FlexRequest], profiles: FlexProfiles,
                     network: LinearNetwork) -> np.ndarray:
    """``E[r, t, j]``: relief of request r in interval t by profile j [MW]."""
    pos = np.full(int(network.bus_index.max()) + 1, 0)
    pos[network.bus_index] = np.arange(network.n_bus)
    pb = pos[profiles.bus]
    out = np.empty((len(requests), profiles.up_mw.shape[1], len(profiles)))
    for i, r in enumerate(requests):
        q = profiles.up_mw if r.direction > 0 else profiles.down_mw
        out[i] = (r.effectiveness[pb][:, None] * q).T
    return out


def clear_lfm(requests: list[FlexRequest], profiles: FlexProfiles, network: LinearNetwork, *,
              objective: str = "welfare", pricing: str = "pay_as_bid",
              interval_h: float = 0.25, penalty_eur_per_mwh: float = 300.0,
              activation_probability: float = 1.0, relief: np.ndarray | None = None
              ) -> LfmResult:
    """Select whole profiles to cover the requests (MILP, HiGHS).

    Parameters
    ----------
    requests : list[FlexRequest]
        Needs over the same T intervals as the profiles.
    profiles : FlexProfiles
    network : LinearNetwork
        Bus order of the requests' effectiveness vectors.
    objective : {"welfare", "dso_cost_min"}
    pricing : {"pay_as_bid", "pay_as_clear"}
    interval_h : float
        Interval length [h].
    penalty_eur_per_mwh : float
        Shortfall penalty of ``dso_cost_min`` [EUR/MWh].
    activation_probability : float
        Expected share of options (crp, crp2) that is called [-].
    relief : ndarray [R, T, P], optional
        Precomputed :func:`effective_relief`.

    Returns
    -------
    LfmResult
        Never raises on solver failure; ``status`` says what happened.
    """
    n_p, n_r = len(profiles), len(requests)
    n_t = profiles.up_mw.shape[1]
    need = np.array([r.need_mw for r in requests]).reshape(n_r, n_t)
    e = effective_relief(requests, profiles, network) if relief is None else relief
    cost = offer_cost(profiles, interval_h, activation_probability)
    value = np.array([r.value_eur_per_mwh for r in requests]) * need.sum(axis=1) * interval_h
    welfare = objective == "welfare"
    rows = np.repeat(np.arange(n_r * n_t), n_p)
    cov_a = sp.csr_matrix((e.ravel(), (rows, np.tile(np.arange(n_p), n_r * n_t))),
                          shape=(n_r * n_t, n_p))
    if welfare:  # columns a (P), b (R); rows E a - need b >= 0
        extra = sp.csr_matrix((-need.ravel(), (np.arange(n_r * n_t),
                                               np.repeat(np.arange(n_r), n_t))),
                              shape=(n_r * n_t, n_r))
        c = np.r_[cost, -value]
        lo, hi = np.zeros(n_p + n_r), np.ones(n_p + n_r)
        rlo = np.zeros(n_r * n_t)
        integ = np.ones(n_p + n_r, bool)
    else:  # columns a (P), s (R*T); rows E a + s >= need
        extra = sp.identity(n_r * n_t, format="csr")
        c = np.r_[cost, np.full(n_r * n_t, penalty_eur_per_mwh * interval_h)]
        lo, hi = np.zeros(n_p + n_r * n_t), np.r_[np.ones(n_p), need.ravel()]
        rlo = need.ravel()
        integ = np.r_[np.ones(n_p, bool), np.zeros(n_r * n_t, bool)]
    a = sp.hstack([cov_a, extra]).tocsr()
    rhi = np.full(len(rlo), np.inf)
    groups = np.unique(profiles.group[profiles.group >= 0])
    if len(groups):
        gi = np.flatnonzero(profiles.group >= 0)
        g = sp.csr_matrix((np.ones(len(gi)), (np.searchsorted(groups, profiles.group[gi]), gi)),
                          shape=(len(groups), a.shape[1]))
        a = sp.vstack([a, g]).tocsr()
        rlo, rhi = np.r_[rlo, np.zeros(len(groups))], np.r_[rhi, np.ones(len(groups))]
    sol = _solve_milp(c, lo, hi, a.tocsc(), rlo, rhi, integ)
    if isinstance(sol, str):
        z = np.zeros(n_p)
        return LfmResult(sol, z.astype(bool), np.zeros(n_r, bool), np.zeros((n_r, n_t)),
                         need.copy(), cost, z)
    x, obj = sol
    acc = x[:n_p] > 0.5
    covered = np.einsum("rtp,p->rt", e, acc.astype(float))
    if welfare:
        met = x[n_p:] > 0.5
        short = np.where(met[:, None], 0.0, need)
        covered = np.where(met[:, None], covered, 0.0)
    else:
        short = np.maximum(need - covered, 0.0)
        met = ~(short > 1e-9).any(axis=1)
    pay, price = _payments(cost, profiles, acc, pricing, interval_h)
    cov_val = np.minimum(covered, need)
    w = float((np.array([r.value_eur_per_mwh for r in requests])[:, None] * cov_val).sum()
              * interval_h - cost[acc].sum()) if n_r else -float(cost[acc].sum())
    return LfmResult("optimal", acc, met, covered, short, cost, pay, price, obj, w,
                     float(pay.sum() + penalty_eur_per_mwh * short.sum() * interval_h))


def _payments(cost, profiles, acc, pricing, interval_h):
    if pricing == "pay_as_bid":
        return np.where(acc, cost, 0.0), float("nan")
    energy = np.maximum(profiles.up_mw, profiles.down_mw).sum(axis=1) * interval_h
    unit = np.divide(cost, energy, out=np.zeros_like(cost), where=energy > 0)
    price = float(unit[acc].max()) if acc.any() else float("nan")
    return np.where(acc, price * energy, 0.0), price


def _solve_milp(c, lo, hi, a: sp.csc_matrix, rlo, rhi, integ):
    h = new_highs()
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1e-9)
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = c.astype(float), lo, hi
    lp.row_lower_ = np.where(np.isfinite(rlo), rlo, -inf)
    lp.row_upper_ = np.where(np.isfinite(rhi), rhi, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in integ]
    try:
        h.passModel(lp)
        h.run()
        status = h.getModelStatus()
    except Exception as exc:  # HiGHS raises plain exceptions on internal failure
        logger.warning("LFM MILP failed in HiGHS: %s", exc)
        return "solver_error"
    if status == highspy.HighsModelStatus.kOptimal:
        return np.asarray(h.getSolution().col_value), float(h.getInfo().objective_function_value)
    if status == highspy.HighsModelStatus.kInfeasible:
        return "infeasible"
    logger.warning("LFM MILP ended with HiGHS status %s", h.modelStatusToString(status))
    return "solver_error"


# ------------------------------------------------------- activation, settlement
def activations(result: LfmResult, requests: list[FlexRequest], profiles: FlexProfiles,
                relief: np.ndarray) -> np.ndarray:
    """MW set-points of accepted profiles, +up / -down, [P, T].

    srp profiles are firm: delivered in full in their direction. Options (crp,
    crp2) are called in the intervals where a met request they relieve has a
    need, in that request's direction (up wins if both).
    """
    n_p, n_t = profiles.up_mw.shape
    call_up = np.zeros((n_p, n_t), bool)
    call_dn = np.zeros((n_p, n_t), bool)
    for i, r in enumerate(requests):
        if not result.request_met[i] and result.covered_mw[i].sum() <= 0:
            continue
        helps = (relief[i] > 0) & (r.need_mw[:, None] > 0)  # [T, P]
        if r.direction > 0:
            call_up |= helps.T
        else:
            call_dn |= helps.T
    acc = result.accepted[:, None]
    firm = (profiles.product == SRP)[:, None]
    up = np.where(firm, profiles.up_mw, profiles.up_mw * call_up)
    dn = np.where(firm, profiles.down_mw, profiles.down_mw * (call_dn & ~call_up))
    return np.where(acc, up - dn, 0.0)


def settle_lfm(activation_mw: np.ndarray, delivered_mw: np.ndarray,
               unit_price_eur_per_mwh: np.ndarray, *, interval_h: float = 0.25,
               penalty_factor: float = 1.0) -> dict[str, np.ndarray]:
    """Settle promised vs delivered flexibility per profile.

    Parameters
    ----------
    activation_mw, delivered_mw : ndarray [P, T]
        Activated and metered flexibility, signed (+up / -down) [MW].
    unit_price_eur_per_mwh : ndarray [P]
        Price paid per delivered MWh [EUR/MWh].
    interval_h : float
        Interval length [h].
    penalty_factor : float
        Penalty per undelivered MWh as a multiple of the unit price [-].

    Returns
    -------
    dict
        ``delivered_mwh``, ``shortfall_mwh``, ``payment_eur``, ``penalty_eur``,
        ``net_eur`` per profile [P]. Delivery in the wrong direction counts as
        zero; over-delivery is not paid.
    """
    sgn = np.sign(activation_mw)
    useful = np.clip(delivered_mw * sgn, 0.0, np.abs(activation_mw))
    short = np.abs(activation_mw) - useful
    d_mwh = useful.sum(axis=1) * interval_h
    s_mwh = short.sum(axis=1) * interval_h
    pay = d_mwh * unit_price_eur_per_mwh
    pen = s_mwh * unit_price_eur_per_mwh * penalty_factor
    return {"delivered_mwh": d_mwh, "shortfall_mwh": s_mwh, "payment_eur": pay,
            "penalty_eur": pen, "net_eur": pay - pen}
