"""A lean AC power flow on pandapower's own network matrices, for DSO validation.

:class:`AcModel` runs ``pandapower.runpp`` once to build the admittance
matrices (``Ybus``, ``Yf``, ``Yt``) of the DSO's copy of the network, then
solves repeated schedules with a warm-started Newton-Raphson on those matrices
(no DataFrame round trips), which is what makes iterative curtailment cheap.
Results follow pandapower's definitions (``res_bus.vm_pu``,
``res_line.loading_percent`` from the larger of the two end currents over
``max_i_ka * df * parallel``, ``res_trafo.loading_percent`` with
``trafo_loading="current"``); the tests compare them with ``pandapower.runpp``.

Scope: nets with one or more ext_grid slack buses and PQ injections (SimBench
LV/MV grids); voltage-controlled ``gen`` elements are not supported.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

import numpy as np
import pandapower as pp
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from simulators.market.errors import DsoCheckError

log = logging.getLogger(__name__)

_F_BUS, _T_BUS, _BASE_KV = 0, 1, 9  # pypower column indices (branch F/T_BUS, bus BASE_KV)


@dataclass
class AcState:
    """Solution of one schedule.

    Attributes
    ----------
    vm_pu : numpy.ndarray
        Voltage magnitude per bus in ``net.bus.index`` order [pu].
    line_loading_percent, trafo_loading_percent : numpy.ndarray
        Loadings per line / trafo in table order [%].
    converged : bool
    """

    vm_pu: np.ndarray
    line_loading_percent: np.ndarray
    trafo_loading_percent: np.ndarray
    converged: bool
    V: np.ndarray
    jac_lu: object | None  # LU of the power-flow Jacobian, factorised on first use


class AcModel:
    """Fast repeated AC power flow of the DSO's network copy.

    Parameters
    ----------
    net : pandapowerNet
        The DSO's network. It is deep-copied; its loads, sgens and storages are
        switched off because all injections are passed to :meth:`solve`.
    """

    def __init__(self, net) -> None:
        net = copy.deepcopy(net)
        if len(net.gen) and net.gen.in_service.any():
            raise DsoCheckError("ac_check supports nets without in-service 'gen' elements (PV buses)")
        for el in ("load", "sgen", "storage"):
            if len(net[el]):
                net[el]["in_service"] = False
        pp.runpp(net, numba=False)  # one-off: builds the matrices; a JIT compile would cost seconds
        ppi = net._ppc["internal"]
        self.net = net
        self.base_mva = float(ppi["baseMVA"])
        self.Ybus = sp.csr_matrix(ppi["Ybus"])
        self.ref = np.asarray(ppi["ref"], dtype=np.int64)
        self.pq = np.asarray(ppi["pq"], dtype=np.int64)
        if len(ppi["pv"]):
            raise DsoCheckError("ac_check supports nets without PV buses")
        self.n = self.Ybus.shape[0]
        self.V0 = np.asarray(ppi["V"], dtype=complex).copy()
        # V0: the no-load solution, which carries the transformer phase shifts
        self.bus_lookup = np.asarray(net._pd2ppc_lookups["bus"])[net.bus.index.values]
        branch_is = np.asarray(ppi["branch_is"], dtype=bool)
        ppc_to_ppci = np.full(len(branch_is), -1)
        ppc_to_ppci[branch_is] = np.arange(branch_is.sum())
        Yf, Yt = sp.csr_matrix(ppi["Yf"]), sp.csr_matrix(ppi["Yt"])
        base_kv = ppi["bus"][:, _BASE_KV].real
        br = ppi["branch"]
        self._branch = {}
        for el in ("line", "trafo"):
            a, b = net._pd2ppc_lookups["branch"].get(el, (0, 0))
            rows = ppc_to_ppci[a:b]
            live = rows >= 0
            r = rows[live]
            fb = br[r, _F_BUS].real.astype(np.int64)
            tb = br[r, _T_BUS].real.astype(np.int64)
            self._branch[el] = dict(
                live=live, Yf=Yf[r], Yt=Yt[r],
                kf=self.base_mva / (np.sqrt(3) * base_kv[fb]),
                kt=self.base_mva / (np.sqrt(3) * base_kv[tb]),
            )
        ln = net.line
        self._line_imax = (ln.max_i_ka * ln.df * ln.parallel).values
        tr = net.trafo
        self._trafo_vn = np.vstack([tr.vn_hv_kv.values, tr.vn_lv_kv.values]).T
        self._trafo_den = (tr.sn_mva * tr.parallel * tr.df).values
        self._V_last = self.V0.copy()
        self._ls_solver = None
        if len(self.ref) == 1:  # lightsim2grid's NR treats further slack buses as PV buses
            from lightsim2grid.solver import KLUSolver

            self._ls_solver = KLUSolver()
            self._Ybus_csc = sp.csc_matrix(self.Ybus, dtype=np.complex128)
            self._slack_w = np.zeros(self.n)
            self._slack_w[self.ref] = 1.0

    def sbus(self, p_mw: np.ndarray, q_mvar: np.ndarray | None = None) -> np.ndarray:
        """Complex bus injections [pu] from consumer-reference per-bus power [MW, Mvar]."""
        s = -(np.asarray(p_mw, float) + 1j * (0.0 if q_mvar is None else np.asarray(q_mvar, float)))
        out = np.zeros(self.n, dtype=complex)
        np.add.at(out, self.bus_lookup, s / self.base_mva)
        return out

    def solve(self, p_mw: np.ndarray, q_mvar: np.ndarray | None = None,
              tol: float = 1e-8, max_iter: int = 20) -> AcState:
        """Newton-Raphson (polar) for per-bus consumption ``p_mw``/``q_mvar``.

        Warm-starts from the previous solution. With one slack bus the
        iterations run in lightsim2grid's compiled KLU Newton-Raphson (the same
        formulation as the Python loop below, used for several slack buses).
        The Jacobian factor needed by :meth:`sensitivity` is computed only when
        asked for.
        """
        S = self.sbus(p_mw, q_mvar)
        if self._ls_solver is not None:
            V0 = self._V_last.copy()
            ok = bool(self._ls_solver.compute_pf(
                self._Ybus_csc, V0, S, self.ref.astype(np.int32), self._slack_w,
                np.zeros(0, dtype=np.int32), self.pq.astype(np.int32), max_iter, tol))
            V = np.asarray(self._ls_solver.get_V()) if ok else V0
            converged = ok and bool(np.all(np.isfinite(V)))
        else:
            V, converged = self._newton(S, tol, max_iter)
        self._V_last = V if converged else self.V0.copy()
        vm = np.abs(V)[self.bus_lookup]
        return AcState(vm, self._loading("line", V), self._loading("trafo", V), converged, V, None)

    def _newton(self, S: np.ndarray, tol: float, max_iter: int) -> tuple[np.ndarray, bool]:
        V = self._V_last.copy()
        pq = self.pq
        pvpq = pq  # no PV buses
        npq = len(pq)
        for _ in range(max_iter + 1):
            mis = V * np.conj(self.Ybus @ V) - S
            F = np.concatenate([mis[pvpq].real, mis[pq].imag])
            if np.max(np.abs(F), initial=0.0) < tol:
                return V, True
            dx = -splu(self._jacobian(V).tocsc()).solve(F)
            Va, Vm = np.angle(V), np.abs(V)
            Va[pvpq] += dx[:npq]
            Vm[pq] += dx[npq:]
            V = Vm * np.exp(1j * Va)
        return V, False

    def _jacobian(self, V: np.ndarray) -> sp.csr_matrix:
        """Power-flow Jacobian (pypower's dSbus_dV layout, PQ buses only)."""
        Y = self.Ybus
        Ibus = Y @ V
        dV = sp.diags(V)
        dVn = sp.diags(V / np.abs(V))
        dS_dVm = dV @ (Y @ dVn).conj() + sp.diags(np.conj(Ibus)) @ dVn
        dS_dVa = 1j * dV @ (sp.diags(Ibus) - Y @ dV).conj()
        pq = self.pq
        a = sp.csr_matrix(dS_dVa)[pq][:, pq]
        m = sp.csr_matrix(dS_dVm)[pq][:, pq]
        return sp.vstack([sp.hstack([a.real, m.real]), sp.hstack([a.imag, m.imag])]).tocsr()

    def _currents_ka(self, el: str, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b = self._branch[el]
        n = len(b["live"])
        i_f = np.zeros(n)
        i_t = np.zeros(n)
        i_f[b["live"]] = np.abs(b["Yf"] @ V) * b["kf"]
        i_t[b["live"]] = np.abs(b["Yt"] @ V) * b["kt"]
        return i_f, i_t

    def _loading(self, el: str, V: np.ndarray) -> np.ndarray:
        i_f, i_t = self._currents_ka(el, V)
        if el == "line":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.maximum(i_f, i_t) / self._line_imax * 100.0
        lds = np.vstack([i_f, i_t]).T * self._trafo_vn * np.sqrt(3)
        return lds.max(axis=1) / self._trafo_den * 100.0

    def sensitivity(self, state: AcState, kind: str, idx: int) -> np.ndarray:
        """d(quantity)/d(injection at each bus) [unit per MW, generator reference].

        ``kind`` is ``"vm"`` (bus ``idx`` position in ``net.bus``, pu/MW),
        ``"line"`` or ``"trafo"`` (row ``idx``, %/MW). Linearised at ``state``
        through the power-flow Jacobian. Returns one value per bus in
        ``net.bus.index`` order.
        """
        npq = len(self.pq)
        # d[Va_pq, Vm_pq]/dP_pq: columns of J^-1 for the P rows
        rhs = np.zeros((2 * npq, npq))
        rhs[np.arange(npq), np.arange(npq)] = 1.0
        if state.jac_lu is None:
            state.jac_lu = splu(self._jacobian(state.V).tocsc())
        dx = state.jac_lu.solve(rhs)  # (2npq, npq)
        V = state.V
        dV = np.zeros((self.n, npq), dtype=complex)
        dV[self.pq] = (np.exp(1j * np.angle(V[self.pq]))[:, None]
                       * (dx[npq:] + 1j * np.abs(V[self.pq])[:, None] * dx[:npq]))
        if kind == "vm":
            b = self.bus_lookup[idx]
            row = (np.conj(V[b]) / abs(V[b]) * dV[b]).real
        else:
            br = self._branch[kind]
            live_idx = int(np.cumsum(br["live"])[idx] - 1)
            i_f, i_t = self._currents_ka(kind, V)
            use_from = i_f[idx] >= i_t[idx]
            Yrow = (br["Yf"] if use_from else br["Yt"])[live_idx]
            k = (br["kf"] if use_from else br["kt"])[live_idx]
            I = (Yrow @ V)[0]
            dI = np.asarray(Yrow @ dV).ravel()
            d_abs = (np.conj(I) / max(abs(I), 1e-12) * dI).real * k
            if kind == "line":
                row = d_abs / self._line_imax[idx] * 100.0
            else:
                vn = self._trafo_vn[idx, 0 if use_from else 1]
                row = d_abs * vn * np.sqrt(3) / self._trafo_den[idx] * 100.0
        per_ppc = np.zeros(self.n)
        per_ppc[self.pq] = row / self.base_mva  # per pu -> per MW
        return per_ppc[self.bus_lookup]
