"""The one AC network model: pandapower's matrices, a compiled Newton-Raphson.

pandapower builds its internal bus-branch model (``ppci``: Ybus, Yf, Yt, bus
types, lookups) once, in an initial ``pandapower.runpp``. Every later solve
only changes bus power injections, so :class:`AcModel` keeps that model and
per solve

1. builds the complex bus injection vector ``Sbus`` from the caller's powers,
   either per element table (loads, sgens, storages, gens; the grid
   simulator) or per bus as a whole grid state (:meth:`AcModel.solve_bus`;
   the DSO check),
2. solves the Newton-Raphson power flow with lightsim2grid's KLU-based solver
   (C++; the same Newton-Raphson formulation as pandapower, and the solver
   pandapower itself uses with ``runpp(lightsim2grid=True)``), warm-started
   from the previous solution,
3. evaluates branch flows and loadings with pandapower's own result formulas
   (``pandapower.results_branch``: current from the from/to-side apparent
   power and voltage; line loading against ``max_i_ka*df*parallel``,
   transformer loading by rated current at both sides, i.e.
   ``trafo_loading="current"``), losses and the slack (ext_grid) exchange.

Nets with several slack buses (SimBench HV grids) are solved with a Python
Newton-Raphson on the same matrices (:meth:`AcModel._newton`), each slack at
its fixed voltage as in pandapower (lightsim2grid's solver would turn every
slack bus but the first into a PV bus).

Sign conventions are pandapower's: loads, storages and the per-bus injections
``p_mw``/``q_mvar`` are consumer reference; sgens and gens generator
reference; the external grid result is generator reference (positive =
import from the upstream grid).

Limitations (checked at construction, :class:`NetworkModelError`):
voltage-dependent loads (``const_z/const_i`` percent) and the element tables
``trafo3w``, ``impedance``, ``xward``, ``dcline``, ``vsc``, ``tcsc``, ``svc``,
``ssc`` are not supported; gens keep fixed voltage set points (no Q limits).

``tests/common/network`` compares every result with ``pandapower.runpp``.
"""

from __future__ import annotations

import copy
import logging
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .errors import NetworkModelError

log = logging.getLogger(__name__)

_SQRT3 = np.sqrt(3.0)
# ppc column indices (pandapower.pypower.idx_bus / idx_brch)
_BUS_BASE_KV, _BUS_VA = 9, 8
_BR_F, _BR_T = 0, 1
_GEN_BUS, _GEN_VG = 0, 5

#: Newton-Raphson defaults. The tolerance [pu] is tighter than pandapower's
#: default (1e-8 MVA) so that differences to pandapower come from
#: pandapower's tolerance, not ours.
NR_TOL_PU = 1e-10
NR_MAX_IT = 30

_UNSUPPORTED_TABLES = ("trafo3w", "impedance", "xward", "dcline", "vsc", "tcsc", "svc", "ssc")
_VOLTAGE_DEPENDENT = ("const_z_p_percent", "const_i_p_percent", "const_z_q_percent",
                      "const_i_q_percent", "const_z_percent", "const_i_percent")
#: element tables whose powers enter ``Sbus``, with their sign (generator reference)
_ELEMENTS = (("load", -1.0), ("sgen", 1.0), ("storage", -1.0), ("gen", 1.0))


@dataclass(frozen=True)
class AcResult:
    """Result of one AC power flow (NaN everywhere if it did not converge).

    All per-element arrays follow the net's table order (``bus_index``,
    ``line_index``, ``trafo_index``, ``ext_grid_index`` of :class:`AcModel`).

    Attributes
    ----------
    converged : bool
    vm_pu, va_degree : numpy.ndarray
        Bus voltage magnitude [pu] and angle [degree].
    line_loading_percent, line_p_from_mw, line_i_ka : numpy.ndarray
        Line loading [%], active power into the from end [MW], the larger of
        the two end currents [kA].
    trafo_loading_percent, trafo_p_hv_mw : numpy.ndarray
        Transformer loading [%] and active power into the HV side [MW].
    ext_grid_p_mw, ext_grid_q_mvar : numpy.ndarray
        Slack exchange, generator reference (positive = import) [MW, Mvar].
    pl_mw : float
        Active losses of all lines and transformers [MW].
    V : numpy.ndarray or None
        Complex voltage per internal (ppci) bus [pu], the linearisation point
        of :func:`simulators.common.network.sensitivity.injection_sensitivity`.
    """

    converged: bool
    vm_pu: np.ndarray
    va_degree: np.ndarray
    line_loading_percent: np.ndarray
    line_p_from_mw: np.ndarray
    line_i_ka: np.ndarray
    trafo_loading_percent: np.ndarray
    trafo_p_hv_mw: np.ndarray
    ext_grid_p_mw: np.ndarray
    ext_grid_q_mvar: np.ndarray
    pl_mw: float
    V: np.ndarray | None = None


def jacobian(Ybus: sp.spmatrix, V: np.ndarray, pvpq: np.ndarray, pq: np.ndarray) -> sp.csc_matrix:
    """Power-flow Jacobian ``d[P(pvpq); Q(pq)] / d[Va(pvpq); Vm(pq)]`` [pu].

    pypower's layout, from pandapower's sparse ``dSbus_dV``; the one Jacobian
    of the package (Newton-Raphson with several slacks, sensitivities, the
    linear network model).
    """
    from pandapower.pypower.dSbus_dV import dSbus_dV

    dS_dVm, dS_dVa = dSbus_dV(Ybus, V)
    return sp.vstack([
        sp.hstack([dS_dVa[pvpq][:, pvpq].real, dS_dVm[pvpq][:, pq].real]),
        sp.hstack([dS_dVa[pq][:, pvpq].imag, dS_dVm[pq][:, pq].imag]),
    ], format="csc")


def _incidence(bus_pos: np.ndarray, weight: np.ndarray, n_bus: int) -> sp.csr_matrix:
    """Sparse [n_bus, n_elements] matrix adding element values into buses."""
    n = len(bus_pos)
    ok = bus_pos >= 0
    return sp.csr_matrix((weight[ok], (bus_pos[ok], np.arange(n)[ok])), shape=(n_bus, n))


def check_supported(net) -> None:
    """Raise :class:`NetworkModelError` for what :class:`AcModel` cannot model."""
    for col in _VOLTAGE_DEPENDENT:
        if col in net.load and (net.load[col].fillna(0) != 0).any():
            raise NetworkModelError(
                f"load.{col}: voltage-dependent loads are not supported by the AC network "
                "model; set them to 0 (constant power)"
            )
    for table in _UNSUPPORTED_TABLES:
        if table in net and len(net[table]) and net[table].get("in_service", True).any():
            raise NetworkModelError(
                f"{table}: elements of this type are not supported by the AC network model"
            )


class AcModel:
    """AC power flow of one pandapower net, solved repeatedly with new injections.

    Parameters
    ----------
    net : pandapowerNet
        The network. With ``elements=True`` it is used in place and modified
        only by one initial ``runpp``; with ``elements=False`` a deep copy is
        taken and its loads, sgens and storages are switched off, because
        every injection comes from :meth:`solve_bus`.
    elements : bool
        Keep the net's element tables (``solve``) or model only the network
        (``solve_bus``). Both methods work in both modes.
    tol_pu : float
        Newton-Raphson tolerance on the largest mismatch [pu].
    max_iter : int
        Newton-Raphson iteration limit.

    Attributes
    ----------
    net : pandapowerNet
        The modelled net (the copy when ``elements=False``).
    bus_index, line_index, trafo_index, ext_grid_index : numpy.ndarray
        pandapower indices, the entity order of every result array.
    bus_lookup : numpy.ndarray
        Internal (ppci) bus of each pandapower bus in ``bus_index`` order
        (-1 for buses out of service). Buses fused by closed bus-bus switches
        share one internal bus.
    """

    def __init__(self, net, *, elements: bool = True, tol_pu: float = NR_TOL_PU,
                 max_iter: int = NR_MAX_IT) -> None:
        import pandapower as pp

        check_supported(net)
        if not elements:
            net = copy.deepcopy(net)
            for el in ("load", "sgen", "storage"):
                if len(net[el]):
                    net[el]["in_service"] = False
        self.net = net
        self.tol_pu, self.max_iter = float(tol_pu), int(max_iter)
        self.bus_index = net.bus.index.to_numpy()
        self.line_index = net.line.index.to_numpy()
        self.trafo_index = net.trafo.index.to_numpy()
        self.ext_grid_index = net.ext_grid.index.to_numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                pp.runpp(net, numba=False)  # one-off: a JIT compile would cost ~8 s
                converged = True
            except pp.LoadflowNotConverged:
                # the internal model is built before Newton-Raphson runs
                log.warning("initial power flow at nominal values did not converge")
                converged = False
        self._build_internal(net, converged)

    # ------------------------------------------------------------------ setup
    def _build_internal(self, net, converged: bool) -> None:
        it = net._ppc["internal"]
        self.base_mva = float(it["baseMVA"])
        self.Ybus = sp.csc_matrix(it["Ybus"], dtype=np.complex128)  # lightsim2grid wants CSC
        self.Ybus_csr = sp.csr_matrix(it["Ybus"])  # row access for Jacobians of single states
        self.Yf = sp.csr_matrix(it["Yf"])
        self.Yt = sp.csr_matrix(it["Yt"])
        self.ref = np.asarray(it["ref"], dtype=np.int32)
        self.pv = np.asarray(it["pv"], dtype=np.int32)
        self.pq = np.asarray(it["pq"], dtype=np.int32)
        n_bus = self.Ybus.shape[0]
        self.n_ppci_bus = n_bus
        # lightsim2grid's NR turns every slack bus but the first into a PV bus;
        # nets with several slack buses (SimBench HV grids) use _newton instead
        self._multi_slack = len(self.ref) > 1
        self.slack_weights = np.zeros(n_bus)
        self.slack_weights[self.ref] = 1.0 / len(self.ref)
        self.Sbus0 = np.asarray(it["Sbus"], dtype=np.complex128).copy()
        self.base_kv = it["bus"][:, _BUS_BASE_KV].real.copy()
        br = it["branch"]
        self.f = br[:, _BR_F].real.astype(np.int64)
        self.t = br[:, _BR_T].real.astype(np.int64)
        self.V_init = self._start_voltage(net, converged)
        self.V = self.V_init.copy()

        lookup = np.asarray(net._pd2ppc_lookups["bus"])

        def pos(buses: np.ndarray) -> np.ndarray:
            p = lookup[buses.astype(np.int64)]
            return np.where(p < n_bus, p, -1)

        self.bus_lookup = pos(self.bus_index)
        # element -> bus incidence, scaled and masked like pandapower does
        self._inc = {}
        self._nominal = {}
        for el, sign in _ELEMENTS:
            table = net[el] if el in net else None
            if table is None or not len(table):
                continue
            scale = table["scaling"].to_numpy(float) if "scaling" in table else np.ones(len(table))
            active = table["in_service"].to_numpy(bool) & net.bus.loc[table.bus, "in_service"].to_numpy(bool)
            w = np.where(active, scale, 0.0) * sign
            self._inc[el] = _incidence(pos(table.bus.to_numpy()), w, n_bus)
            q = table["q_mvar"].to_numpy(float) if "q_mvar" in table and el != "gen" else np.zeros(len(table))
            self._nominal[el] = (table["p_mw"].to_numpy(float), q)
        # injections (positive = generation) at nominal values, which Sbus0 contains
        self._s_nominal = self._element_injection(
            {el: p for el, (p, _) in self._nominal.items()},
            {el: q for el, (_, q) in self._nominal.items()},
        )
        # external per-bus consumer-reference injections
        self._inc_ext = _incidence(self.bus_lookup, -np.ones(len(self.bus_lookup)), n_bus)
        # gens sit on PV buses: their P enters Sbus, Q is solved; gen rows in ppc
        # keep their own set points, so only P changes are applied.

        # branch bookkeeping
        lookups = net._pd2ppc_lookups["branch"]
        branch_is = np.asarray(it.get("branch_is", np.ones(len(br), dtype=bool)))
        ppc_to_ppci = np.full(len(branch_is), -1)
        ppc_to_ppci[branch_is] = np.arange(branch_is.sum())
        #: internal branch row per line / trafo (-1: out of service)
        self.line_rows = self._rows(lookups, "line", ppc_to_ppci, len(self.line_index))
        self.trafo_rows = self._rows(lookups, "trafo", ppc_to_ppci, len(self.trafo_index))
        line = net.line
        self.line_imax_ka = (line.max_i_ka * line.df * line.parallel).to_numpy(float)
        trafo = net.trafo
        self.trafo_vn_kv = np.column_stack([trafo.vn_hv_kv.to_numpy(float), trafo.vn_lv_kv.to_numpy(float)])
        self.trafo_sn_eff_mva = (trafo.sn_mva * trafo.parallel * trafo.df).to_numpy(float)
        eg = net.ext_grid
        self._eg_pos = pos(eg.bus.to_numpy())
        self._eg_active = eg.in_service.to_numpy(bool)

        from lightsim2grid.solver import KLUSolver

        self._solver = KLUSolver()

    @staticmethod
    def _rows(lookups, name, ppc_to_ppci, n) -> np.ndarray:
        if name not in lookups:
            return np.full(n, -1)
        f, t = lookups[name]
        return ppc_to_ppci[f:t]

    def _start_voltage(self, net, converged: bool) -> np.ndarray:
        """Start vector for Newton-Raphson and for restarts after a failure.

        The solution at the net's nominal values when it converged; else
        pandapower's DC initialisation (angles include transformer phase
        shifts, e.g. 150 degrees of a Dyn5 MV/LV transformer, without which a
        flat start diverges).
        """
        it = net._ppc["internal"]
        V = np.asarray(it["V"], dtype=np.complex128)
        if converged and np.all(np.isfinite(V)):
            return V.copy()
        import pandapower as pp

        pp.rundcpp(net)
        va = np.deg2rad(net._ppc["internal"]["bus"][:, _BUS_VA].real)
        vm = np.ones(len(va))
        gen = it["gen"]
        if len(gen):
            vm[gen[:, _GEN_BUS].real.astype(np.int64)] = gen[:, _GEN_VG].real
        return vm * np.exp(1j * va)

    # -------------------------------------------------------------- injections
    def _element_injection(self, p: dict, q: dict) -> np.ndarray:
        s = np.zeros(self.n_ppci_bus, dtype=np.complex128)
        for el, inc in self._inc.items():
            if el in p:
                s += inc @ p[el]
            if el in q and el != "gen":
                s += 1j * (inc @ q[el])
        return s

    def bus_sbus(self, p_mw: np.ndarray, q_mvar: np.ndarray | None = None) -> np.ndarray:
        """Complex injection per internal bus [pu] of a whole grid state.

        Parameters
        ----------
        p_mw, q_mvar : numpy.ndarray
            Consumer-reference power per bus in ``bus_index`` order [MW, Mvar]
            (everything at the bus: loads, generation, households).
        """
        s = -(np.asarray(p_mw, float) + 1j * (0.0 if q_mvar is None else np.asarray(q_mvar, float)))
        out = np.zeros(self.n_ppci_bus, dtype=complex)
        ok = self.bus_lookup >= 0
        np.add.at(out, self.bus_lookup[ok], (s / self.base_mva)[ok])
        return out

    # ------------------------------------------------------------------- solve
    def solve(
        self,
        p_mw: dict[str, np.ndarray],
        q_mvar: dict[str, np.ndarray],
        ext_p_mw: np.ndarray | None = None,
        ext_q_mvar: np.ndarray | None = None,
    ) -> AcResult:
        """Solve one power flow from element powers (plus per-bus extras).

        Parameters
        ----------
        p_mw, q_mvar : dict
            Element powers by table name (``load``, ``sgen``, ``storage``,
            ``gen``), each an array over that table's rows in net order
            [MW, Mvar]; a missing table keeps its nominal value.
        ext_p_mw, ext_q_mvar : numpy.ndarray, optional
            Extra consumer-reference injections per bus in ``bus_index``
            order [MW, Mvar] (e.g. the household simulator's sum per bus).
        """
        full_p = {el: p_mw.get(el, nom[0]) for el, nom in self._nominal.items()}
        full_q = {el: q_mvar.get(el, nom[1]) for el, nom in self._nominal.items()}
        s = self._element_injection(full_p, full_q)
        if ext_p_mw is not None:
            s += self._inc_ext @ ext_p_mw
        if ext_q_mvar is not None:
            s += 1j * (self._inc_ext @ ext_q_mvar)
        return self.solve_sbus(self.Sbus0 + (s - self._s_nominal) / self.base_mva, s)

    def solve_bus(self, p_mw: np.ndarray, q_mvar: np.ndarray | None = None) -> AcResult:
        """Solve the power flow of a whole grid state given per bus.

        Parameters
        ----------
        p_mw, q_mvar : numpy.ndarray
            Consumer-reference power per bus in ``bus_index`` order [MW, Mvar]:
            *every* injection of the state (the net's own element tables are
            not added; build the model with ``elements=False``).

        Returns
        -------
        AcResult
            Voltages, branch loadings, losses and the slack exchange.
        """
        sbus = self.bus_sbus(p_mw, q_mvar)
        return self.solve_sbus(sbus, sbus * self.base_mva)

    def solve_sbus(self, Sbus: np.ndarray, s_el_mva: np.ndarray) -> AcResult:
        """Newton-Raphson for the internal injections ``Sbus`` [pu].

        ``s_el_mva`` is the same injection in MVA (generator reference) and
        only serves the slack exchange (slack generation = computed bus
        injection minus what the elements at the slack bus inject). Warm-starts
        from the previous solution; after a failure the next solve restarts
        from the start vector.
        """
        V0 = self.V.copy()
        if self._multi_slack:
            V, ok = self._newton(Sbus, V0)
        else:
            ok = bool(self._solver.compute_pf(
                self.Ybus, V0, Sbus, self.ref, self.slack_weights, self.pv, self.pq,
                self.max_iter, self.tol_pu,
            ))
            V = np.asarray(self._solver.get_V()) if ok else None
        if not ok or not np.all(np.isfinite(V)):
            # non-convergence is data; the next step restarts from the start vector
            self.V = self.V_init.copy()
            return self._nan_result()
        self.V = V
        return self._results(V, s_el_mva)

    def _newton(self, Sbus: np.ndarray, V0: np.ndarray) -> tuple[np.ndarray, bool]:
        """Polar Newton-Raphson with every slack bus at fixed voltage (pandapower's
        formulation for several ext_grids: no distributed slack)."""
        from scipy.sparse.linalg import spsolve

        pvpq = np.r_[self.pv, self.pq].astype(np.int64)
        pq = self.pq.astype(np.int64)
        n_pvpq = len(pvpq)
        V = V0.copy()
        va, vm = np.angle(V), np.abs(V)
        for _ in range(self.max_iter + 1):
            mis = V * np.conj(self.Ybus @ V) - Sbus
            F = np.r_[mis[pvpq].real, mis[pq].imag]
            if not np.all(np.isfinite(F)):
                return V, False
            if np.max(np.abs(F), initial=0.0) < self.tol_pu:
                return V, True
            dx = -spsolve(jacobian(self.Ybus, V, pvpq, pq), F)
            va[pvpq] += dx[:n_pvpq]
            vm[pq] += dx[n_pvpq:]
            V = vm * np.exp(1j * va)
        return V, False

    # ----------------------------------------------------------------- results
    def branch_currents_ka(self, V: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Branch-end powers [MVA] and currents [kA] per internal branch row.

        Returns ``(Sf, St, i_f, i_t)``; current from the end's apparent power
        and voltage as in ``pandapower.results_branch``.
        """
        bm = self.base_mva
        Sf = V[self.f] * np.conj(self.Yf @ V) * bm
        St = V[self.t] * np.conj(self.Yt @ V) * bm
        vm = np.abs(V)
        i_f = np.abs(Sf) / (vm[self.f] * self.base_kv[self.f]) / _SQRT3
        i_t = np.abs(St) / (vm[self.t] * self.base_kv[self.t]) / _SQRT3
        return Sf, St, i_f, i_t

    def _results(self, V: np.ndarray, s_el_mva: np.ndarray) -> AcResult:
        bm = self.base_mva
        Sf, St, i_f, i_t = self.branch_currents_ka(V)
        vm = np.abs(V)

        bus_ok = self.bus_lookup >= 0
        vm_pu = np.full(len(self.bus_lookup), np.nan)
        va_deg = np.full(len(self.bus_lookup), np.nan)
        vm_pu[bus_ok] = vm[self.bus_lookup[bus_ok]]
        va_deg[bus_ok] = np.rad2deg(np.angle(V[self.bus_lookup[bus_ok]]))

        lr = self.line_rows
        lok = lr >= 0
        line_i = np.zeros(len(lr))
        line_p = np.zeros(len(lr))
        line_i[lok] = np.maximum(i_f[lr[lok]], i_t[lr[lok]])
        line_p[lok] = Sf[lr[lok]].real
        with np.errstate(divide="ignore", invalid="ignore"):
            line_loading = np.where(self.line_imax_ka > 0, line_i / self.line_imax_ka, np.inf) * 100.0

        tr = self.trafo_rows
        tok = tr >= 0
        tr_load = np.zeros(len(tr))
        tr_p = np.zeros(len(tr))
        if tok.any():
            i_ft = np.column_stack([i_f[tr[tok]], i_t[tr[tok]]])
            lds = i_ft * self.trafo_vn_kv[tok] * _SQRT3
            tr_load[tok] = lds.max(axis=1) / self.trafo_sn_eff_mva[tok] * 100.0
            tr_p[tok] = Sf[tr[tok]].real

        # slack generation = computed bus injection minus the element injections
        # (loads, sgens, ... at the slack bus); pandapower's Sbus at the slack
        # bus holds a start value, so it is not used here
        s_calc = V * np.conj(self.Ybus @ V)
        eg_s = np.full(len(self._eg_pos), np.nan + 0j)
        egp = self._eg_pos
        valid = (egp >= 0) & self._eg_active
        if valid.any():
            b = egp[valid]
            s_gen = s_calc[b] * bm - s_el_mva[b]
            # several ext grids on one bus share equally (pandapower does the same)
            counts = np.bincount(b, minlength=self.n_ppci_bus)[b]
            eg_s[valid] = s_gen / counts
        pl = float(np.sum((Sf + St).real))
        return AcResult(
            True, vm_pu, va_deg, line_loading, line_p, line_i, tr_load, tr_p,
            eg_s.real, eg_s.imag, pl, V,
        )

    def _nan_result(self) -> AcResult:
        nb, nl, nt, ne = (len(self.bus_index), len(self.line_index),
                          len(self.trafo_index), len(self.ext_grid_index))
        nan = np.nan
        return AcResult(
            False, np.full(nb, nan), np.full(nb, nan), np.full(nl, nan), np.full(nl, nan),
            np.full(nl, nan), np.full(nt, nan), np.full(nt, nan), np.full(ne, nan),
            np.full(ne, nan), nan, None,
        )
