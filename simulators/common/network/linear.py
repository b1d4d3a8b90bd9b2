"""The one linearisation: voltage, flow and loading sensitivities to bus injections.

Everything here is the first-order expansion of the AC power flow of
:mod:`.acmodel` through its Jacobian (:func:`.acmodel.jacobian`):

* :func:`linearize` builds a :class:`LinearNetwork` (all sensitivities of all
  buses and branch ends at once; used by the DLMP clearing and the local
  flexibility market);
* :func:`injection_sensitivity` gives one row of it at a solved
  :class:`.acmodel.AcResult` (the sensitivity of one voltage or one branch
  loading to the injection at every bus; used by the DSO's ``ac_check``
  curtailment).

The DLMP clearing and the flexibility market need voltages, branch flows and
losses as *linear* functions of the active/reactive bus injections. This module
builds that linear model from a pandapower net.

Method
------
The linearisation is the first-order Taylor expansion of the full AC power flow
equations at a solved operating point (the "perturbed power flow" or
sensitivity-factor model; Zhou, Tian & Tan 2018, "Linearized power flow
model...", and the Jacobian-based voltage sensitivities of Christakou et al.
2013, IEEE Trans. Smart Grid 4(2):741). It is equivalent to LinDistFlow
(Baran & Wu 1989, IEEE Trans. Power Delivery 4(2):1401) when expanded around the
flat start with losses neglected, but expanded around a *solved* AC power flow
it keeps the operating point's voltage level and losses and is therefore more
accurate for injections near that point (the error grows quadratically with the
distance from the operating point).

With the state ``x = [Va(pv,pq); Vm(pq)]`` and the injection mismatch
``f(x) = [P(pv,pq); Q(pq)]`` (generator reference, per unit on ``baseMVA``),
the Jacobian ``J = df/dx`` of pandapower's Newton-Raphson solution gives
``dx/d[p; q] = J^-1``. Consumer reference ``p_cons = -P * baseMVA`` gives
``dx/dp_cons = -J^-1 / baseMVA``. From it:

* ``dv_dp``, ``dv_dq`` [pu/MW, pu/Mvar]: bus voltage magnitude sensitivities.
* branch-end flows ``P, Q`` [MW, Mvar] via ``dS_branch/dx`` (``dSbr_dV``): the
  loss-aware power transfer distribution factors. For a radial net the active
  part is close to the topological PTDF (+1 when the bus is downstream of the
  branch, 0 otherwise); ``ptdf`` holds that topological matrix too.
* ``dpslack_dp`` [MW/MW]: slack (ext_grid) active power per unit of consumption
  at each bus, ``1 + mlf`` with ``mlf`` the marginal loss factor.

pandapower's internal case (``net._ppc['internal']``, after one ``runpp``)
supplies ``Ybus``, ``Yf``, ``Yt``, the branch table and the solved voltage
``V``; ``net._pd2ppc_lookups['bus']`` maps pandapower buses to internal buses
(buses fused by closed bus-bus switches share one internal bus, hence one
sensitivity column) and ``net._pd2ppc_lookups['branch']`` gives the line and
trafo row ranges.

Accuracy (tested in ``tests/market/test_linearize.py``): on
``1-LV-rural1--0-sw`` with every load and sgen scaled by an independent random
factor in [0.5, 1.5] around the operating point, ``|dvm| <= 0.005 pu`` and
``|dloading| <= 5`` percentage points against pandapower's AC power flow.

Thermal limits
--------------
pandapower's line loading is a current ratio ``I / I_max``; with the end
voltage frozen at its operating-point value it becomes an apparent-power ratio
``|S_end| / S_max_end`` with ``S_max_end = sqrt(3) * vm0 * vn_kv * I_max``
(lines, ``I_max = max_i_ka * df * parallel``) or
``sn_mva * parallel * vm0 * vn_bus_kv / vn_side_kv`` (two-winding trafos,
``trafo_loading='current'``). Both ends of every branch are modelled.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field

import numpy as np
import pandapower as pp
import pandas as pd
from pandapower.pypower.dSbr_dV import dSbr_dV
from pandapower.pypower.dSbus_dV import dSbus_dV
from pandapower.pypower.idx_brch import F_BUS, T_BUS
from scipy.sparse.linalg import splu

from .acmodel import AcModel, AcResult, jacobian
from .errors import NetworkModelError
from .radial import build_linear_grid
from .topology import feeder_area, feeder_of_bus

logger = logging.getLogger(__name__)

BRANCH_LINE = 0
BRANCH_TRAFO = 1


@dataclass
class LinearNetwork:
    """Linear model of a radial distribution net around an operating point.

    All per-bus arrays follow ``net.bus.index`` order (``bus_index``); all
    per-end arrays follow ``end_branch`` (lines first, then trafos; two rows per
    branch: from/hv end then to/lv end). Consumer reference throughout:
    ``p_mw > 0`` is consumption.

    Attributes
    ----------
    bus_index : ndarray[int]
        pandapower bus ids [n_bus].
    slack_pos : int
        Position of the ext_grid bus in ``bus_index``.
    p0_mw, q0_mvar : ndarray
        Net consumption per bus at the operating point (ext_grid excluded)
        [MW], [Mvar].
    vm0_pu : ndarray
        Voltage magnitude at the operating point [pu].
    dv_dp, dv_dq : ndarray [n_bus, n_bus]
        d vm_i / d p_j [pu/MW] and d vm_i / d q_j [pu/Mvar].
    p_slack0_mw : float
        ext_grid active power at the operating point [MW].
    dpslack_dp, dpslack_dq : ndarray [n_bus]
        d p_ext_grid / d p_j [MW/MW] (``1 + mlf_j``), d p_ext_grid / d q_j.
    end_kind, end_element : ndarray[int] [n_end]
        Branch kind (0 line, 1 trafo) and pandapower element index per end.
    end_p0_mw, end_q0_mvar : ndarray [n_end]
        Flow into the branch at this end at the operating point [MW], [Mvar].
    dpe_dp, dpe_dq, dqe_dp, dqe_dq : ndarray [n_end, n_bus]
        Branch-end flow sensitivities [MW/MW] etc.
    s_max_mva : ndarray [n_end]
        Apparent power that corresponds to 100 % loading at this end [MVA].
    ptdf : ndarray [n_branch, n_bus]
        Topological PTDF: 1 where the bus lies downstream of the branch
        (:func:`radial_ptdf`, the radial model's downstream matrix).
    area : ndarray[int] [n_bus]
        Feeder area per bus: the network core's feeders numbered by array
        position (:func:`.topology.feeder_area`; 0 = buses in no feeder:
        transformer busbars and everything upstream).
    """

    bus_index: np.ndarray
    slack_pos: int
    p0_mw: np.ndarray
    q0_mvar: np.ndarray
    vm0_pu: np.ndarray
    dv_dp: np.ndarray
    dv_dq: np.ndarray
    p_slack0_mw: float
    dpslack_dp: np.ndarray
    dpslack_dq: np.ndarray
    end_kind: np.ndarray
    end_element: np.ndarray
    end_p0_mw: np.ndarray
    end_q0_mvar: np.ndarray
    dpe_dp: np.ndarray
    dpe_dq: np.ndarray
    dqe_dp: np.ndarray
    dqe_dq: np.ndarray
    s_max_mva: np.ndarray
    ptdf: np.ndarray
    area: np.ndarray
    net: object = field(repr=False, default=None)
    _ac: AcModel | None = field(repr=False, default=None)

    @property
    def n_bus(self) -> int:
        """Number of pandapower buses."""
        return len(self.bus_index)

    @property
    def mlf(self) -> np.ndarray:
        """Marginal loss factor per bus, ``d losses / d p_j`` [MW/MW]."""
        return self.dpslack_dp - 1.0

    @property
    def branch_kind(self) -> np.ndarray:
        """Kind per branch (one row per branch; ends are ``2k, 2k+1``)."""
        return self.end_kind[0::2]

    @property
    def branch_element(self) -> np.ndarray:
        """pandapower element index per branch."""
        return self.end_element[0::2]

    def predict(self, dp_mw: np.ndarray, dq_mvar: np.ndarray | None = None) -> dict:
        """Linear prediction of the grid state for consumption changes.

        Parameters
        ----------
        dp_mw, dq_mvar : ndarray [n_bus]
            Change of net consumption per bus from the operating point [MW],
            [Mvar].

        Returns
        -------
        dict
            ``vm_pu`` [n_bus], ``end_p_mw``, ``end_q_mvar``, ``end_loading_percent``
            [n_end], ``loading_percent`` [n_branch] (max of both ends),
            ``p_slack_mw`` [MW].
        """
        dp = np.asarray(dp_mw, dtype=float)
        dq = np.zeros_like(dp) if dq_mvar is None else np.asarray(dq_mvar, dtype=float)
        vm = self.vm0_pu + self.dv_dp @ dp + self.dv_dq @ dq
        pe = self.end_p0_mw + self.dpe_dp @ dp + self.dpe_dq @ dq
        qe = self.end_q0_mvar + self.dqe_dp @ dp + self.dqe_dq @ dq
        le = 100.0 * np.hypot(pe, qe) / self.s_max_mva
        return {
            "vm_pu": vm,
            "end_p_mw": pe,
            "end_q_mvar": qe,
            "end_loading_percent": le,
            "loading_percent": np.maximum(le[0::2], le[1::2]),
            "p_slack_mw": float(self.p_slack0_mw + self.dpslack_dp @ dp + self.dpslack_dq @ dq),
        }

    def ac_check(self, dp_mw: np.ndarray, dq_mvar: np.ndarray | None = None) -> dict:
        """Run the core's AC power flow (:class:`.acmodel.AcModel`) for consumption
        changes and compare.

        Parameters
        ----------
        dp_mw, dq_mvar : ndarray [n_bus]
            Change of net consumption per bus from the operating point [MW],
            [Mvar].

        Returns
        -------
        dict
            ``converged`` (bool), AC ``vm_pu`` and ``loading_percent`` (branch
            order), ``max_dvm_pu`` and ``max_dloading_percent`` (max absolute
            difference linear minus AC; NaN when not converged).
        """
        dq = np.zeros(self.n_bus) if dq_mvar is None else np.asarray(dq_mvar, dtype=float)
        if self._ac is None:  # built on first use: most linearisations are never checked
            self._ac = AcModel(self.net, elements=False, tol_pu=1e-8)
        pred = self.predict(dp_mw, dq)
        res = self._ac.solve_bus(self.p0_mw + np.asarray(dp_mw, dtype=float), self.q0_mvar + dq)
        if not res.converged:
            logger.warning("AC check of the cleared schedule did not converge")
            nan = float("nan")
            return {"converged": False, "vm_pu": None, "loading_percent": None,
                    "max_dvm_pu": nan, "max_dloading_percent": nan}
        vm = res.vm_pu
        load = self._ac_loading(res)
        return {
            "converged": True,
            "vm_pu": vm,
            "loading_percent": load,
            "max_dvm_pu": float(np.max(np.abs(pred["vm_pu"] - vm))),
            "max_dloading_percent": float(np.max(np.abs(pred["loading_percent"] - load))),
        }

    def _ac_loading(self, res: AcResult) -> np.ndarray:
        """AC loading per branch in ``branch_element`` order [%]."""
        kind, elem = self.branch_kind, self.branch_element
        out = np.empty(len(kind))
        line = kind == BRANCH_LINE
        ac = self._ac
        out[line] = res.line_loading_percent[pd.Index(ac.line_index).get_indexer(elem[line])]
        out[~line] = res.trafo_loading_percent[pd.Index(ac.trafo_index).get_indexer(elem[~line])]
        return out


def _consumption_p_q(net) -> tuple[np.ndarray, np.ndarray]:
    """Net consumption per bus from a solved net, ext_grid excluded [MW, Mvar]."""
    p = net.res_bus.p_mw.copy()
    q = net.res_bus.q_mvar.copy()
    for b, pe, qe in zip(net.ext_grid.bus, net.res_ext_grid.p_mw, net.res_ext_grid.q_mvar):
        p.loc[b] += pe
        q.loc[b] += qe
    return p.to_numpy(), q.to_numpy()


def _state_sensitivity(ppci) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``dx/d[P;Q]`` (generator reference, pu) and the Jacobian's index sets."""
    ref, pv, pq = ppci["ref"], ppci["pv"], ppci["pq"]
    pvpq = np.r_[pv, pq]
    jac = jacobian(ppci["Ybus"], ppci["V"], pvpq, pq).toarray()
    return np.linalg.inv(jac), pvpq, pq, ref


def linearize(net, *, run_pf: bool = True) -> LinearNetwork:
    """Build the :class:`LinearNetwork` of ``net`` at its current injections.

    Parameters
    ----------
    net : pandapowerNet
        Radial distribution net with exactly one ext_grid (the slack); it is
        deep-copied, the caller's net is not modified.
    run_pf : bool
        Solve the AC power flow first (default). The solved state is the
        operating point of the expansion.

    Returns
    -------
    LinearNetwork
    """
    net = copy.deepcopy(net)
    if len(net.ext_grid) != 1:
        raise ValueError(f"linearize: the net needs exactly one ext_grid, got {len(net.ext_grid)}")
    if run_pf:
        pp.runpp(net)
    ppci = net._ppc["internal"]
    base = float(ppci["baseMVA"])
    inv_j, pvpq, pq, ref = _state_sensitivity(ppci)
    if len(ref) != 1:
        raise ValueError(f"linearize: expected one slack bus, got {len(ref)}")
    nb_i = ppci["bus"].shape[0]
    npvpq = len(pvpq)
    # d state / d consumption (MW, Mvar): columns = internal buses
    dx_dp = np.zeros((inv_j.shape[0], nb_i))
    dx_dq = np.zeros((inv_j.shape[0], nb_i))
    dx_dp[:, pvpq] = -inv_j[:, :npvpq] / base
    dx_dq[:, pq] = -inv_j[:, npvpq:] / base
    v = ppci["V"]
    # voltage magnitude rows
    dvi_dp = np.zeros((nb_i, nb_i))
    dvi_dq = np.zeros((nb_i, nb_i))
    dvi_dp[pq] = dx_dp[npvpq:]
    dvi_dq[pq] = dx_dq[npvpq:]
    # slack injection rows
    ds_dvm, ds_dva = dSbus_dV(ppci["Ybus"], v)
    r = ref[0]
    grad = np.r_[np.asarray(ds_dva.tocsr()[r, pvpq].todense()).ravel(),
                 np.asarray(ds_dvm.tocsr()[r, pq].todense()).ravel()].real * base
    dps_dp = grad @ dx_dp
    dps_dq = grad @ dx_dq
    dps_dp[r] += 1.0  # consumption at the slack bus is supplied directly
    # branch flows
    dsf_dva, dsf_dvm, dst_dva, dst_dvm, sf, st = dSbr_dV(ppci["branch"], ppci["Yf"], ppci["Yt"], v)

    def end_sens(ds_dva_, ds_dvm_):
        g = np.hstack([np.asarray(ds_dva_.tocsr()[:, pvpq].todense()),
                       np.asarray(ds_dvm_.tocsr()[:, pq].todense())]) * base
        return g.real @ dx_dp, g.real @ dx_dq, g.imag @ dx_dp, g.imag @ dx_dq

    f_sens = end_sens(dsf_dva, dsf_dvm)
    t_sens = end_sens(dst_dva, dst_dvm)

    lookups = net._pd2ppc_lookups
    bus_lk = lookups["bus"][net.bus.index.to_numpy()]
    n_ppc_br = net._ppc["branch"].shape[0]
    br_is = np.asarray(ppci.get("branch_is", np.ones(n_ppc_br, bool)), dtype=bool)
    ppc2ppci = np.cumsum(br_is) - 1
    rows, kinds, elems, smax_parts = [], [], [], []
    vm_i = np.abs(v)
    vn_bus = net.bus.vn_kv
    if "line" in lookups["branch"]:
        a, _ = lookups["branch"]["line"]
        ln = net.line[net.line.in_service]
        ppc_rows = a + np.flatnonzero(net.line.in_service.to_numpy())
        imax = (ln.max_i_ka * ln.df * ln.parallel).to_numpy()
        rows.append(ppc2ppci[ppc_rows])
        kinds.append(np.full(len(ln), BRANCH_LINE))
        elems.append(ln.index.to_numpy())
        smax_parts.append((np.sqrt(3) * imax * vn_bus.loc[ln.from_bus].to_numpy(),
                           np.sqrt(3) * imax * vn_bus.loc[ln.to_bus].to_numpy()))
    if "trafo" in lookups["branch"]:
        a, _ = lookups["branch"]["trafo"]
        tr = net.trafo[net.trafo.in_service]
        ppc_rows = a + np.flatnonzero(net.trafo.in_service.to_numpy())
        rows.append(ppc2ppci[ppc_rows])
        kinds.append(np.full(len(tr), BRANCH_TRAFO))
        elems.append(tr.index.to_numpy())
        sn = (tr.sn_mva * tr.parallel).to_numpy()
        smax_parts.append((sn * vn_bus.loc[tr.hv_bus].to_numpy() / tr.vn_hv_kv.to_numpy(),
                           sn * vn_bus.loc[tr.lv_bus].to_numpy() / tr.vn_lv_kv.to_numpy()))
    br_rows = np.concatenate(rows)
    n_br = len(br_rows)
    fbus = ppci["branch"][br_rows, F_BUS].real.astype(int)
    tbus = ppci["branch"][br_rows, T_BUS].real.astype(int)
    smax_f = np.concatenate([s[0] for s in smax_parts]) * vm_i[fbus]
    smax_t = np.concatenate([s[1] for s in smax_parts]) * vm_i[tbus]

    def interleave(fa, ta):
        out = np.empty((2 * n_br,) + fa.shape[1:], dtype=fa.dtype)
        out[0::2], out[1::2] = fa, ta
        return out

    def cols(m):  # internal-bus columns -> pandapower-bus columns
        return m[..., bus_lk]

    sens = [cols(interleave(f[br_rows], t[br_rows])) for f, t in zip(f_sens, t_sens)]
    p0, q0 = _consumption_p_q(net)
    ptdf = radial_ptdf(net, np.concatenate(kinds), np.concatenate(elems))
    area = feeder_area(feeder_of_bus(net))
    eg = net.ext_grid.bus.iloc[0]
    return LinearNetwork(
        bus_index=net.bus.index.to_numpy(),
        slack_pos=int(np.flatnonzero(net.bus.index.to_numpy() == eg)[0]),
        p0_mw=p0,
        q0_mvar=q0,
        vm0_pu=vm_i[bus_lk],
        dv_dp=dvi_dp[bus_lk][:, bus_lk],
        dv_dq=dvi_dq[bus_lk][:, bus_lk],
        p_slack0_mw=float(net.res_ext_grid.p_mw.iloc[0]),
        dpslack_dp=dps_dp[bus_lk],
        dpslack_dq=dps_dq[bus_lk],
        end_kind=np.repeat(np.concatenate(kinds), 2),
        end_element=np.repeat(np.concatenate(elems), 2),
        end_p0_mw=interleave(sf[br_rows].real, st[br_rows].real) * base,
        end_q0_mvar=interleave(sf[br_rows].imag, st[br_rows].imag) * base,
        dpe_dp=sens[0],
        dpe_dq=sens[1],
        dqe_dp=sens[2],
        dqe_dq=sens[3],
        s_max_mva=np.maximum(interleave(smax_f, smax_t), 1e-9),
        ptdf=ptdf,
        area=area,
        net=net,
    )


def radial_ptdf(net, kinds: np.ndarray, elements: np.ndarray) -> np.ndarray:
    """Topological PTDF [n_branch, n_bus] from the radial model's downstream matrix.

    Row ``k`` is branch ``(kinds[k], elements[k])`` (``BRANCH_LINE`` /
    ``BRANCH_TRAFO`` and pandapower index); 1 where the bus lies downstream
    of the branch (:func:`.radial.build_linear_grid`), shared equally between
    parallel branches; 0 for branches inside meshes.
    """
    grid = build_linear_grid(net, areas=[])
    group = {(kind, int(idx)): g for g, members in enumerate(grid.group_elements) for kind, idx in members}
    out = np.zeros((len(kinds), grid.n_bus))
    for k, (kind, idx) in enumerate(zip(kinds.tolist(), elements.tolist())):
        g = group.get(("line" if kind == BRANCH_LINE else "trafo", int(idx)))
        if g is not None:
            out[k] = grid.A[g].toarray().ravel() / len(grid.group_elements[g])
    return out


def injection_sensitivity(model: AcModel, result: AcResult, kind: str, idx: int) -> np.ndarray:
    """One row of the linearisation at a solved state: d(quantity)/d(injection).

    Parameters
    ----------
    model : AcModel
        The network (without PV buses: every non-slack bus is PQ).
    result : AcResult
        A converged solution of ``model`` (the linearisation point).
    kind : {"vm", "line", "trafo"}
        ``"vm"``: voltage magnitude of the bus at position ``idx`` of
        ``model.bus_index`` [pu/MW]; ``"line"`` / ``"trafo"``: loading of row
        ``idx`` of that table [%/MW], at the end with the larger current.
    idx : int

    Returns
    -------
    numpy.ndarray
        One value per bus in ``bus_index`` order, per MW of *generator
        reference* active injection at that bus (0 at the slack bus).

    Raises
    ------
    NetworkModelError
        The net has PV buses.
    """
    if len(model.pv):
        raise NetworkModelError("injection_sensitivity supports nets without PV buses (in-service gens)")
    pq = model.pq.astype(np.int64)
    npq = len(pq)
    V = result.V
    # d[Va_pq, Vm_pq]/dP_pq: columns of J^-1 for the P rows
    rhs = np.zeros((2 * npq, npq))
    rhs[np.arange(npq), np.arange(npq)] = 1.0
    dx = splu(jacobian(model.Ybus_csr, V, pq, pq)).solve(rhs)  # (2npq, npq)
    dV = np.zeros((model.n_ppci_bus, npq), dtype=complex)
    dV[pq] = (np.exp(1j * np.angle(V[pq]))[:, None]
              * (dx[npq:] + 1j * np.abs(V[pq])[:, None] * dx[:npq]))
    if kind == "vm":
        b = model.bus_lookup[idx]
        row = (np.conj(V[b]) / abs(V[b]) * dV[b]).real
    elif kind in ("line", "trafo"):
        r = int((model.line_rows if kind == "line" else model.trafo_rows)[idx])
        _, _, i_f, i_t = model.branch_currents_ka(V)
        if kind == "line":  # pandapower: the larger end current
            use_from = i_f[r] >= i_t[r]
        else:  # trafo_loading="current": the larger of i * vn at the two sides
            use_from = i_f[r] * model.trafo_vn_kv[idx, 0] >= i_t[r] * model.trafo_vn_kv[idx, 1]
        Yrow = (model.Yf if use_from else model.Yt)[r]
        end_bus = (model.f if use_from else model.t)[r]
        k = model.base_mva / (np.sqrt(3) * model.base_kv[end_bus])  # pu current -> kA
        I = (Yrow @ V)[0]
        dI = np.asarray(Yrow @ dV).ravel()
        d_abs = (np.conj(I) / max(abs(I), 1e-12) * dI).real * k
        if kind == "line":
            row = d_abs / model.line_imax_ka[idx] * 100.0
        else:
            vn = model.trafo_vn_kv[idx, 0 if use_from else 1]
            row = d_abs * vn * np.sqrt(3) / model.trafo_sn_eff_mva[idx] * 100.0
    else:
        raise NetworkModelError(f"sensitivity kind {kind!r} unknown; allowed: 'vm', 'line', 'trafo'")
    per_ppc = np.zeros(model.n_ppci_bus)
    per_ppc[pq] = row / model.base_mva  # per pu -> per MW
    return per_ppc[model.bus_lookup]
