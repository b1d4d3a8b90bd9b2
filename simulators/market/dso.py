"""DSO validation of a cleared interval: ``none``, ``caps``, ``ac_check``, ``zonal``.

The DSO checks the forecast of the *whole* grid in the delivery interval
(Guerrero et al. 2018, IEEE Trans. Smart Grid 10(5): the operator checks the
network impact of the trades on the network state):

* elements no market participant replaces (every SimBench load/sgen/storage
  the household simulator does not model) at their profile values -- the
  ``base`` per bus, consumer reference [MW];
* plus each participant's executed net position per bus from its orders
  after the retail backstop rule (:mod:`.execution`): BIDs draw, OFFERs
  inject ``executed / dt`` [MW].

Nothing is counted twice (a replaced element is only in the orders) and
nothing is missing (an element is either replaced or in the base). The state
is solved with the network core's :meth:`AcModel.solve_bus`.

Curtailment rule of ``ac_check`` (documented, deterministic):

1. solve the AC power flow of the state;
2. find the violations, normalised to their limits: ``vm - vmax``,
   ``vmin - vm`` [pu] or ``(loading - max_loading) / 100`` for lines and
   trafos; take the worst one that some curtailable order relieves;
3. compute every curtailable order's sensitivity ``s_o`` of the violated
   quantity to its executed power (the bus injection sensitivity of
   :func:`~simulators.common.network.injection_sensitivity` at the current
   point, times ``-side``: lowering it removes ``s_o`` per MW); the order with the largest ``s_o > 0``
   (ties: the later-listed order) loses ``min(P_o, 1.05 * excess / s_o + 1e-6)``
   [MW] of executed volume, its retail part first, then its local trades
   (:func:`.execution.cut_order`; the counterparty of a cut trade keeps the
   volume through the retailer if the backstop rule applies to it);
4. repeat until feasible, or no curtailable order with ``s_o > 0`` is left
   (``feasible = False``, nothing more is cut: inflexible demand is never shed).

Each cut sets the order's and the trade's ``reason`` (:data:`REASONS`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from simulators.common.network import AcModel, injection_sensitivity
from simulators.common.network.topology import ZONE_KINDS, zones
from simulators.market.errors import DsoCheckError
from simulators.market.execution import Execution, cut_order, cut_trade

log = logging.getLogger(__name__)

#: ``reason`` codes written into trades (0 = untouched).
REASONS: dict[int, str] = {
    0: "approved",  # untouched by the DSO check
    1: "overvoltage",  # cut because a bus would exceed the upper voltage limit
    2: "undervoltage",  # cut because a bus would fall below the lower voltage limit
    3: "line_overload",  # cut because a line would exceed its loading limit
    4: "trafo_overload",  # cut because a transformer would exceed its loading limit
    5: "zone_import_cap",  # cut by a zone's import cap
    6: "zone_export_cap",  # cut by a zone's export cap
    7: "zone_own_needs_first",  # exports cut so that a zone covers its own needs first
    8: "counterparty_curtailed",  # volume lost because the counterparty was curtailed
    9: "ledger_not_final",  # dropped because its ledger transaction was not final in time
}


#: Zone of a trade party without a location (bus -1); zone ids may be negative.
NO_ZONE = np.iinfo(np.int64).min


@dataclass
class DsoResult:
    """Validated execution and the checked network state.

    Attributes
    ----------
    execution : Execution
        Executed volume per order after curtailment (trades inside).
    feasible : bool
        Final state within limits (True for ``none``/``caps`` without a power flow;
        False where only shedding inflexible demand would help -- recorded, not shed).
    iterations : int
        Power flows solved.
    p_mw : numpy.ndarray or None
        The checked per-bus state after curtailment, consumer reference [MW]
        (None for ``none``).
    vm_min_pu, vm_max_pu, max_loading_percent : float
        Final state (NaN without a power flow).
    """

    execution: Execution
    feasible: bool
    iterations: int = 0
    p_mw: np.ndarray | None = None
    vm_min_pu: float = np.nan
    vm_max_pu: float = np.nan
    max_loading_percent: float = np.nan

    @property
    def trades(self) -> np.ndarray:
        """Trades with ``quantity_mwh`` lowered, ``curtailed_mwh`` and ``reason`` set."""
        return self.execution.trades

    @property
    def curtailed_mask(self) -> np.ndarray:
        """Trades with any curtailment."""
        return self.trades["curtailed_mwh"] > 0


class DsoValidator:
    """The DSO's view of its network, reused over intervals.

    Parameters
    ----------
    net : pandapowerNet
        The DSO's network (deep-copied).
    voltage_band_pu : (float, float)
        Allowed voltage band; EN 50160 gives +-10 % of nominal (0.9, 1.1).
    max_loading_percent : float
        Line/trafo loading limit [%].
    zones : str
        ``"feeder"`` or ``"trafo"``: zones for ``caps`` and ``zonal``.
    zone_import_mw, zone_export_mw : float or None
        Caps per zone [MW] (None = unlimited).
    """

    def __init__(self, net, voltage_band_pu=(0.9, 1.1), max_loading_percent=100.0,
                 zones="feeder", zone_import_mw=None, zone_export_mw=None) -> None:
        if len(net.gen) and net.gen.in_service.any():
            raise DsoCheckError("ac_check supports nets without in-service 'gen' elements (PV buses)")
        # pandapower's default Newton-Raphson tolerance (1e-8) and a 20-iteration limit
        self.model = AcModel(net, elements=False, tol_pu=1e-8, max_iter=20)
        if len(self.model.pv):
            raise DsoCheckError("ac_check supports nets without PV buses")
        self.bus_index = self.model.net.bus.index.values
        self.vmin, self.vmax = voltage_band_pu
        self.max_loading = float(max_loading_percent)
        self.zone = build_zones(self.model.net, zones)
        self.zone_import_mw = zone_import_mw
        self.zone_export_mw = zone_export_mw
        # bus index -> row position by binary search (one call per batch of orders)
        self._order = np.argsort(self.bus_index, kind="stable")
        self._sorted = self.bus_index[self._order].astype(np.int64)

    # -- helpers -------------------------------------------------------------
    def positions(self, buses: np.ndarray) -> np.ndarray:
        """Row positions of pandapower bus indices (-1 stays -1)."""
        b = np.asarray(buses, dtype=np.int64)
        out = np.full(len(b), -1, dtype=np.int64)
        loc = np.flatnonzero(b >= 0)
        if not len(loc):
            return out
        i = np.minimum(np.searchsorted(self._sorted, b[loc]), max(len(self._sorted) - 1, 0))
        found = self._sorted[i] == b[loc] if len(self._sorted) else np.zeros(len(loc), bool)
        if not found.all():
            bad = int(b[loc[np.argmin(found)]])  # the first unknown bus, in order
            raise DsoCheckError(f"trade bus {bad} is not a bus of the DSO network")
        out[loc] = self._order[i]
        return out

    def state_p_mw(self, ex: Execution, base_p_mw: np.ndarray, interval_h: float) -> np.ndarray:
        """Per-bus consumption [MW]: base + executed net positions of the orders."""
        p = np.asarray(base_p_mw, dtype=float).copy()
        pos = self.positions(ex.book["bus"])
        loc = pos >= 0
        np.add.at(p, pos[loc], ex.net_mwh()[loc] / interval_h)
        return p

    def _violations(self, st):
        """[(excess, kind, index, reason)] of every violated element, worst first.

        Order: upper voltage, lower voltage, lines, trafos, each in element
        order, then stably sorted by descending excess (ties keep that order).
        """
        vm = np.asarray(st.vm_pu, dtype=float)
        parts = [(vm - self.vmax, "vm", 1), (self.vmin - vm, "vm", 2)]
        for kind, arr, code in (("line", st.line_loading_percent, 3), ("trafo", st.trafo_loading_percent, 4)):
            parts.append(((np.nan_to_num(np.asarray(arr, dtype=float), nan=-np.inf) - self.max_loading) / 100.0,
                          kind, code))
        out = []
        for ex, kind, code in parts:
            idx = np.flatnonzero(ex > 1e-9)  # NaN (unsupplied bus) compares False
            out += [(e, kind, i, code) for e, i in zip(ex[idx].tolist(), idx.tolist())]
        return sorted(out, key=lambda c: -c[0])

    # -- methods -------------------------------------------------------------
    def ac_check(self, ex: Execution, base_p_mw: np.ndarray, interval_h: float,
                 base_q_mvar: np.ndarray | None = None, priority: np.ndarray | None = None,
                 max_iter: int | None = None) -> DsoResult:
        """Curtail orders until the AC power flow is within limits (module docstring).

        ``priority`` (int per order, optional): orders with a larger value are
        cut first among those with a positive sensitivity (used by ``zonal``).
        """
        pos = self.positions(ex.book["bus"])
        loc = pos >= 0
        inj_sign = -np.where(ex.book["side"] > 0, 1.0, -1.0)  # bus injection per MW executed
        max_iter = max_iter or 4 * len(ex.book) + 20
        it = 0
        feasible = False
        while True:
            p = self.state_p_mw(ex, base_p_mw, interval_h)
            st = self.model.solve_bus(p, base_q_mvar)
            it += 1
            if not st.converged:
                log.warning("ac_check: power flow did not converge; schedule left as is")
                break
            viol = self._violations(st)
            if not viol:
                feasible = True
                break
            if it > max_iter:
                break
            for excess, kind, idx, code in viol:  # the worst violation some curtailable order relieves
                sens_bus = injection_sensitivity(self.model, st, kind, idx)
                if code == 2:  # undervoltage: the violated quantity is -vm
                    sens_bus = -sens_bus
                scale = 1.0 if kind == "vm" else 0.01  # loading excess is in fractions of 100 %
                s = np.zeros(len(ex.book))
                # violation removed per MW the order's executed volume is lowered
                s[loc] = inj_sign[loc] * sens_bus[pos[loc]] * scale
                s[(ex.executed_mwh <= 1e-12) | ~ex.flexible] = 0.0
                cand = np.flatnonzero(s > 1e-12)
                if len(cand):
                    break
            if not len(cand):
                break
            if priority is not None:
                top = priority[cand].max()
                cand = cand[priority[cand] == top]
            k = int(cand[len(cand) - 1 - np.argmax(s[cand][::-1])])  # largest s, ties: later order
            p_k = ex.executed_mwh[k] / interval_h
            cut_mw = min(p_k, 1.05 * excess / s[k] + 1e-6)
            cut_order(ex, k, cut_mw * interval_h if cut_mw < p_k else ex.executed_mwh[k], code)
        loadings = np.concatenate([st.line_loading_percent, st.trafo_loading_percent])
        return DsoResult(ex, feasible, it, p, float(st.vm_pu.min()), float(st.vm_pu.max()),
                         float(np.nanmax(loadings)) if len(loadings) else np.nan)

    def caps(self, ex: Execution, base_p_mw: np.ndarray, interval_h: float) -> DsoResult:
        """Zone import / export caps on the whole-grid state.

        A zone's net consumption is the sum of the state over its buses; above
        ``zone_import_mw`` the zone's flexible BIDs, below ``-zone_export_mw`` its
        OFFERs lose executed volume pro rata until the zone is within its cap
        (as far as that volume reaches; reasons ``zone_import_cap`` /
        ``zone_export_cap``).
        """
        pos = self.positions(ex.book["bus"])
        zone = np.where(pos >= 0, self.zone[np.maximum(pos, 0)], NO_ZONE)
        buy = ex.book["side"] > 0
        for cap, sign, side_mask, code in ((self.zone_import_mw, 1.0, buy, 5),
                                           (self.zone_export_mw, -1.0, ~buy, 6)):
            if cap is None:
                continue
            p = self.state_p_mw(ex, base_p_mw, interval_h)
            for z in np.unique(self.zone).tolist():
                excess_mw = sign * p[self.zone == z].sum() - cap
                if excess_mw <= 1e-12:
                    continue
                m = np.flatnonzero((zone == z) & side_mask & ex.flexible & (ex.executed_mwh > 0))
                vol = ex.executed_mwh[m].sum()
                if vol <= 0:
                    continue
                f = min(1.0, excess_mw * interval_h / vol)
                for o, e in zip(m.tolist(), ex.executed_mwh[m].tolist()):
                    cut_order(ex, o, e * f, code)
        return DsoResult(ex, True, 0, self.state_p_mw(ex, base_p_mw, interval_h))

    def zonal(self, ex: Execution, base_p_mw: np.ndarray, interval_h: float,
              base_q_mvar: np.ndarray | None = None) -> DsoResult:
        """Zonal local controllers (Honarmand et al. 2021, Energies 14:3110, §4.2.3).

        Our reading of the five steps: (1) each trade is sent to the local
        controller (LC) of the seller's zone; (2) LC1 approves trades inside its
        zone first; (3) a zone serves its own needs first: a zone's local
        exports are cut (pro rata, reason ``zone_own_needs_first``) by the
        volume it imports locally at the same time -- the parties keep that
        volume through the retailer where the backstop rule applies; (4) the
        zone caps hold on the whole-grid state (:meth:`caps`); then the DSO's AC
        check approves the state, curtailing orders with inter-zone trades
        before the others; (5) demand left unserved locally is supplied
        upstream by the retailer at the tariff (the backstop rule).
        """
        t = ex.trades
        zb = self._zones_of(t["buyer_bus"])
        zs = self._zones_of(t["seller_bus"])
        inter = zb != zs
        for z in np.unique(np.concatenate([zb[inter], zs[inter]])):
            exp_m = np.flatnonzero(inter & (zs == z))
            imp = t["quantity_mwh"][inter & (zb == z)].sum()
            exp = t["quantity_mwh"][exp_m].sum()
            if imp > 0 and exp > 0:
                f = 1.0 - max(exp - imp, 0.0) / exp
                for i, q in zip(exp_m.tolist(), t["quantity_mwh"][exp_m].tolist()):
                    if q * f > 0:
                        cut_trade(ex, i, q * f, 7)
        self.caps(ex, base_p_mw, interval_h)
        prio = np.zeros(len(ex.book), np.int64)
        prio[t["buyer_order"][inter]] = 1
        prio[t["seller_order"][inter]] = 1
        return self.ac_check(ex, base_p_mw, interval_h, base_q_mvar, priority=prio)

    # -- internals -----------------------------------------------------------
    def _zones_of(self, buses: np.ndarray) -> np.ndarray:
        """Zone per pandapower bus; :data:`NO_ZONE` for trades without a location (-1)."""
        pos = self.positions(buses)
        return np.where(pos >= 0, self.zone[np.maximum(pos, 0)], NO_ZONE)


def build_zones(net, kind: str = "feeder") -> np.ndarray:
    """Zone id per bus (``net.bus.index`` order): the network core's zones.

    ``"feeder"``: feeder ids (:func:`simulators.common.network.topology.feeder_of_bus`;
    a transformer busbar and every bus upstream of the feeders are zones of
    their own, with negative ids). ``"trafo"``: the index of the transformer
    whose LV side feeds the bus, -1 upstream of every transformer.
    """
    if kind not in ZONE_KINDS:
        raise DsoCheckError(f"zones={kind!r} unknown; allowed: 'feeder', 'trafo'")
    return zones(net, kind)


def dso_check(method: str, validator: DsoValidator | None, ex: Execution,
              base_p_mw: np.ndarray | None, interval_h: float,
              base_q_mvar: np.ndarray | None = None) -> DsoResult:
    """Dispatch ``market.dso_check``: ``none``, ``caps``, ``ac_check`` or ``zonal``.

    ``ex`` is modified in place (curtailment) and returned in the result.
    """
    if method == "none":
        return DsoResult(ex, True)
    if validator is None:
        raise DsoCheckError(f"dso_check={method!r} needs the DSO network (a DsoValidator)")
    if method == "caps":
        return validator.caps(ex, base_p_mw, interval_h)
    if method == "ac_check":
        return validator.ac_check(ex, base_p_mw, interval_h, base_q_mvar)
    if method == "zonal":
        return validator.zonal(ex, base_p_mw, interval_h, base_q_mvar)
    raise DsoCheckError(f"dso_check={method!r} unknown; allowed: none, caps, ac_check, zonal")
