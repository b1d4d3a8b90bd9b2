"""Network-aware clearing: distribution locational marginal prices (DLMP).

One interval's buy/sell orders are cleared by welfare maximisation subject to
the linearised power flow of :mod:`simulators.common.network.linear`; the upstream
grid is a supplier at the retail price and a buyer at the feed-in price at the
slack bus. The LP (HiGHS, ``highspy``) in minimisation form, with ``x`` the
accepted order powers [MW], ``p`` the net consumption per bus [MW] and
``g+``, ``g-`` import and export at the slack [MW]::

    min  sum_sell c_o x_o - sum_buy c_o x_o + c_retail g+ - c_feedin g-
    s.t. p_i - sum_{buy at i} x_o + sum_{sell at i} x_o = base_i       (lambda_i)
         g+ - g- - sum_i (1 + mlf_i) p_i = P0_slack - sum_i (1+mlf_i) p0_i (lambda_0)
         vmin <= vm0 + dv_dp (p - p0) + dv_dq dq <= vmax                (mu_v)
         +-P_e R_e + Q_e Qr_e <= S_e^2   for both ends e of every branch  (mu_e)
         0 <= x_o <= q_o / dt,  g+, g- >= 0

Thermal limits: the loading circle ``P^2 + Q^2 <= S^2`` is replaced by its two
tangent lines at the operating point's reactive flow ``Qr`` (clipped to
``0.99 S``): ``+-P R + Q Qr <= S^2`` with ``R = sqrt(S^2 - Qr^2)``. Because
market orders move active power only, ``Q`` stays close to ``Qr`` and the
tangent is exact to second order in the reactive-flow change (it is an outer
approximation, so a loading slightly above the limit, by
``(dQ)^2 / (2 S^2)`` in relative terms, is possible; the AC check reports it).
``S`` is ``s_max_mva * max_loading_percent / 100``.

Losses: ``P_slack`` is linear in ``p`` with marginal loss factors ``mlf`` from
the AC Jacobian at the operating point (see ``linearize``). With
``losses=False`` the factors are set to zero (the operating point's losses are
kept as a constant).

DLMP and decomposition: ``DLMP_i = lambda_i`` (the cost of one more MW of
consumption at bus i [EUR/MWh]). Stationarity of the free variable ``p_i`` gives
exactly ``lambda_i = lambda_0 + lambda_0 mlf_i - sum_v mu_v dv_dp[v, i]
- sum_e mu_e a_e,i``, i.e. energy (slack price) + loss + voltage + congestion
(``a_e,i`` is the thermal row's coefficient: the loss-aware PTDF of the end
combined with its reactive part).

Defaults: voltage band 0.9-1.1 pu (EN 50160:2010, +-10 % of nominal for 95 %
of 10-min means); loading <= 100 %; retail price 300 EUR/MWh (BDEW
Strompreisanalyse 2021: German household price ~32 ct/kWh incl. taxes); feed-in
80 EUR/MWh (EEG 2023 feed-in tariff for PV <= 10 kWp, 8.2 ct/kWh).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp

from simulators.common.highs import cleared_highs
from simulators.common.network.linear import LinearNetwork

logger = logging.getLogger(__name__)

STATUS_OPTIMAL = "optimal"
STATUS_INFEASIBLE = "infeasible"
STATUS_SOLVER_ERROR = "solver_error"


@dataclass(frozen=True)
class DlmpLimits:
    """Limits and prices of the DLMP clearing (defaults: see module docstring).

    Attributes
    ----------
    vm_min_pu, vm_max_pu : float
        Voltage band [pu] (EN 50160).
    max_loading_percent : float
        Thermal limit of lines and trafos [%].
    retail_price_eur_per_mwh : float
        Price of energy bought from the upstream grid [EUR/MWh].
    feed_in_price_eur_per_mwh : float
        Price paid by the upstream grid for exported energy [EUR/MWh].
    import_limit_mw : float
        Upper bound of import and of export at the slack [MW].
    losses : bool
        Model marginal losses (``False``: constant losses).
    ac_check : bool
        Run the AC power flow of the cleared schedule.
    """

    vm_min_pu: float = 0.9
    vm_max_pu: float = 1.1
    max_loading_percent: float = 100.0
    retail_price_eur_per_mwh: float = 300.0
    feed_in_price_eur_per_mwh: float = 80.0
    import_limit_mw: float = np.inf
    losses: bool = True
    ac_check: bool = True


@dataclass
class DlmpResult:
    """Outcome of :func:`clear_dlmp` (arrays empty or NaN unless optimal).

    Attributes
    ----------
    status : str
        ``"optimal"``, ``"infeasible"`` or ``"solver_error"``.
    accepted_mwh : ndarray [n_orders]
        Accepted energy per order [MWh] (0 for orders not cleared).
    order_price_eur_per_mwh : ndarray [n_orders]
        DLMP at the order's bus [EUR/MWh] (NaN for unknown buses).
    dlmp_eur_per_mwh, energy_eur_per_mwh, loss_eur_per_mwh,
    congestion_eur_per_mwh, voltage_eur_per_mwh : ndarray [n_bus]
        DLMP and its components [EUR/MWh]; components sum to the DLMP.
    p_mw : ndarray [n_bus]
        Cleared net consumption per bus [MW].
    import_mw, export_mw : float
        Exchange with the upstream grid [MW].
    welfare_eur : float
        Buyers' value minus sellers' cost minus grid cost for the interval [EUR].
    vm_pu, loading_percent : ndarray
        Linear prediction of bus voltages [pu] and branch loadings [%].
    max_dvm_pu, max_dloading_percent : float
        Linearisation error against the AC power flow (NaN if not checked).
    ac_converged : bool
        AC check converged.
    """

    status: str
    accepted_mwh: np.ndarray
    order_price_eur_per_mwh: np.ndarray
    dlmp_eur_per_mwh: np.ndarray
    energy_eur_per_mwh: np.ndarray
    loss_eur_per_mwh: np.ndarray
    congestion_eur_per_mwh: np.ndarray
    voltage_eur_per_mwh: np.ndarray
    p_mw: np.ndarray
    import_mw: float = float("nan")
    export_mw: float = float("nan")
    welfare_eur: float = float("nan")
    vm_pu: np.ndarray | None = None
    loading_percent: np.ndarray | None = None
    max_dvm_pu: float = float("nan")
    max_dloading_percent: float = float("nan")
    ac_converged: bool = False
    objective_eur_per_h: float = float("nan")


def _failed(status: str, n_orders: int, n_bus: int) -> DlmpResult:
    nan = np.full(n_bus, np.nan)
    return DlmpResult(status, np.zeros(n_orders), np.full(n_orders, np.nan), nan, nan.copy(),
                      nan.copy(), nan.copy(), nan.copy(), nan.copy())


def _thermal_rows(net: LinearNetwork, limits: DlmpLimits, dq: np.ndarray, p0: np.ndarray):
    """Tangent-facet rows ``a p <= b`` of both thermal directions, per end."""
    s = net.s_max_mva * limits.max_loading_percent / 100.0
    pconst = net.end_p0_mw - net.dpe_dp @ p0 + net.dpe_dq @ dq
    qconst = net.end_q0_mvar - net.dqe_dp @ p0 + net.dqe_dq @ dq
    qr = np.clip(net.end_q0_mvar + net.dqe_dq @ dq, -0.99 * s, 0.99 * s)
    r = np.sqrt(s * s - qr * qr)
    rows, rhs = [], []
    for sign in (1.0, -1.0):
        # (sign*R*P + Qr*Q) / S <= S, P and Q affine in p
        rows.append((sign * r[:, None] * net.dpe_dp + qr[:, None] * net.dqe_dp) / s[:, None])
        rhs.append(s - (sign * r * pconst + qr * qconst) / s)
    return np.vstack(rows), np.concatenate(rhs)


def _prune(a: np.ndarray, lo: np.ndarray, hi: np.ndarray, p_lo: np.ndarray, p_hi: np.ndarray):
    """Drop rows that cannot bind for any ``p`` in the box (interval arithmetic)."""
    c, h = (p_lo + p_hi) / 2, (p_hi - p_lo) / 2
    mid, rad = a @ c, np.abs(a) @ h
    keep = (mid + rad > hi - 1e-9) | (mid - rad < lo + 1e-9)
    return keep


def clear_dlmp(orders: np.ndarray, network: LinearNetwork, limits: DlmpLimits | None = None,
               *, interval_h: float = 0.25, base_p_mw: np.ndarray | None = None,
               base_q_mvar: np.ndarray | None = None) -> DlmpResult:
    """Clear one interval's orders against the linearised network.

    Parameters
    ----------
    orders : ndarray of MESSAGE_DTYPE
        Orders with ``side`` (+1 buy, -1 sell), ``bus`` (pandapower bus id),
        ``quantity_mwh`` [MWh] and ``price_eur_per_mwh`` [EUR/MWh]. Orders with
        another side or a bus outside the net are not cleared.
    network : LinearNetwork
        Linear model at the interval's operating point.
    limits : DlmpLimits, optional
        Limits and grid prices (defaults: :class:`DlmpLimits`).
    interval_h : float
        Interval length [h]; an order's power is ``quantity_mwh / interval_h``.
    base_p_mw, base_q_mvar : ndarray [n_bus], optional
        Net consumption per bus without the orders [MW], [Mvar]; defaults to the
        operating point (``network.p0_mw``, ``network.q0_mvar``).

    Returns
    -------
    DlmpResult
        Never raises on solver failure; ``status`` says what happened.
    """
    lim = limits or DlmpLimits()
    nb, no = network.n_bus, len(orders)
    base = network.p0_mw if base_p_mw is None else np.asarray(base_p_mw, dtype=float)
    base_q = network.q0_mvar if base_q_mvar is None else np.asarray(base_q_mvar, dtype=float)
    dq = base_q - network.q0_mvar
    pos = np.full(int(network.bus_index.max()) + 1, -1)
    pos[network.bus_index] = np.arange(nb)
    bus = np.asarray(orders["bus"], dtype=np.int64)
    side = np.asarray(orders["side"], dtype=np.int64)
    ok = (bus >= 0) & (bus < len(pos)) & np.isin(side, (1, -1))
    opos = np.where(ok, pos[np.clip(bus, 0, len(pos) - 1)], -1)
    ok &= opos >= 0
    qmax = np.where(ok, np.maximum(orders["quantity_mwh"], 0.0) / interval_h, 0.0)
    price = np.asarray(orders["price_eur_per_mwh"], dtype=float)

    mlf = network.mlf if lim.losses else np.zeros(nb)
    dps = 1.0 + mlf
    # columns: x (no), p (nb), g+, g-
    ncol = no + nb + 2
    cost = np.concatenate([np.where(side < 0, price, -price) * ok, np.zeros(nb),
                           [lim.retail_price_eur_per_mwh, -lim.feed_in_price_eur_per_mwh]])
    col_lo = np.concatenate([np.zeros(no), np.full(nb, -np.inf), [0.0, 0.0]])
    col_hi = np.concatenate([qmax, np.full(nb, np.inf), [lim.import_limit_mw] * 2])
    # box of p for redundant-row pruning
    buys = np.bincount(opos[ok], weights=(qmax * (side > 0))[ok], minlength=nb)
    sells = np.bincount(opos[ok], weights=(qmax * (side < 0))[ok], minlength=nb)
    p_lo, p_hi = base - sells, base + buys
    # bus balance rows (sparse part)
    xi = np.flatnonzero(ok)
    bal = sp.coo_matrix((np.r_[np.ones(nb), np.where(side[xi] > 0, -1.0, 1.0)],
                         (np.r_[np.arange(nb), opos[xi]], np.r_[no + np.arange(nb), xi])),
                        shape=(nb, ncol))
    sys_row = sp.csr_matrix(np.concatenate([np.zeros(no), -dps, [1.0, -1.0]])[None, :])
    sys_rhs = network.p_slack0_mw - dps @ network.p0_mw + network.dpslack_dq @ dq
    # voltage rows on p
    vrows = np.ones(nb, bool)
    vrows[network.slack_pos] = False
    vrows &= np.abs(network.dv_dp).sum(axis=1) > 0
    av = network.dv_dp[vrows]
    vconst = (network.vm0_pu - network.dv_dp @ network.p0_mw + network.dv_dq @ dq)[vrows]
    v_lo, v_hi = lim.vm_min_pu - vconst, lim.vm_max_pu - vconst
    keep_v = _prune(av, v_lo, v_hi, p_lo, p_hi)
    at, t_hi = _thermal_rows(network, lim, dq, network.p0_mw)
    keep_t = _prune(at, np.full(len(t_hi), -np.inf), t_hi, p_lo, p_hi)
    net_rows = np.vstack([av[keep_v], at[keep_t]])
    net_block = sp.hstack([sp.csr_matrix((len(net_rows), no)), sp.csr_matrix(net_rows),
                           sp.csr_matrix((len(net_rows), 2))])
    a = sp.vstack([bal.tocsr(), sys_row, net_block]).tocsc()
    row_lo = np.concatenate([base, [sys_rhs], v_lo[keep_v], np.full(keep_t.sum(), -np.inf)])
    row_hi = np.concatenate([base, [sys_rhs], v_hi[keep_v], t_hi[keep_t]])
    sol = _solve_lp(cost, col_lo, col_hi, a, row_lo, row_hi)
    if isinstance(sol, str):
        return _failed(sol, no, nb)
    xval, ydual, obj = sol
    y_bal, y_sys = ydual[:nb], ydual[nb]
    y_v = ydual[nb + 1: nb + 1 + keep_v.sum()]
    y_t = ydual[nb + 1 + keep_v.sum():]
    energy = np.full(nb, y_sys)
    loss = y_sys * mlf
    voltage = -(y_v @ av[keep_v]) if len(y_v) else np.zeros(nb)
    congestion = -(y_t @ at[keep_t]) if len(y_t) else np.zeros(nb)
    p = xval[no: no + nb]
    accepted = np.where(ok, np.clip(xval[:no], 0.0, qmax), 0.0) * interval_h
    res = DlmpResult(
        status=STATUS_OPTIMAL,
        accepted_mwh=accepted,
        order_price_eur_per_mwh=np.where(ok, y_bal[np.maximum(opos, 0)], np.nan),
        dlmp_eur_per_mwh=y_bal,
        energy_eur_per_mwh=energy,
        loss_eur_per_mwh=loss,
        congestion_eur_per_mwh=congestion,
        voltage_eur_per_mwh=voltage,
        p_mw=p,
        import_mw=float(xval[-2]),
        export_mw=float(xval[-1]),
        welfare_eur=-obj * interval_h,
        objective_eur_per_h=obj,
    )
    pred = network.predict(p - network.p0_mw, dq)
    res.vm_pu, res.loading_percent = pred["vm_pu"], pred["loading_percent"]
    if lim.ac_check and network.net is not None:
        chk = network.ac_check(p - network.p0_mw, dq)
        res.ac_converged = chk["converged"]
        res.max_dvm_pu = chk["max_dvm_pu"]
        res.max_dloading_percent = chk["max_dloading_percent"]
    return res


def _solve_lp(cost, col_lo, col_hi, a: sp.csc_matrix, row_lo, row_hi):
    """Solve ``min c x, row_lo <= A x <= row_hi, col_lo <= x <= col_hi`` with HiGHS.

    Returns ``(x, row_dual, objective)`` or a status string.
    """
    h = cleared_highs()
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.where(np.isfinite(col_lo), col_lo, -inf)
    lp.col_upper_ = np.where(np.isfinite(col_hi), col_hi, inf)
    lp.row_lower_ = np.where(np.isfinite(row_lo), row_lo, -inf)
    lp.row_upper_ = np.where(np.isfinite(row_hi), row_hi, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr.astype(np.int32)
    lp.a_matrix_.index_ = a.indices.astype(np.int32)
    lp.a_matrix_.value_ = a.data.astype(float)
    try:
        h.passModel(lp)
        h.run()
        status = h.getModelStatus()
    except Exception as exc:  # HiGHS raises plain exceptions on internal failure
        logger.warning("DLMP LP failed in HiGHS: %s", exc)
        return STATUS_SOLVER_ERROR
    if status == highspy.HighsModelStatus.kOptimal:
        s = h.getSolution()
        return (np.asarray(s.col_value), np.asarray(s.row_dual),
                float(h.getInfo().objective_function_value))
    if status in (highspy.HighsModelStatus.kInfeasible,
                  highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return STATUS_INFEASIBLE
    logger.warning("DLMP LP ended with HiGHS status %s", h.modelStatusToString(status))
    return STATUS_SOLVER_ERROR
