"""DSO validation of cleared trades: ``none``, ``caps``, ``ac_check``, ``zonal``.

Physical model of a schedule (Guerrero et al. 2018, "Decentralized P2P energy
trading under network constraints in a low-voltage network", IEEE Trans.
Smart Grid 10(5), where the operator checks the network impact of each trade):
on top of the interval's *base* consumption per bus (the DSO's forecast of
everything else, consumer reference [MW]), a trade of ``q`` [MWh] over an
interval of ``dt`` [h] injects ``q/dt`` [MW] at the seller's bus and draws it at
the buyer's bus. Curtailing a trade removes that transfer (the seller does not
inject, the buyer does not draw it); a trade curtailed to zero is *rejected*.
Trades whose buyer or seller bus is -1 have no location and are not touched.

Curtailment rule of ``ac_check`` (documented, deterministic):

1. solve the AC power flow of base + all trades (the network core's
   :class:`~simulators.common.network.AcModel`, per-bus whole-state API);
2. find the worst violation, normalised to its limit: ``vm - vmax``,
   ``vmin - vm`` [pu] or ``(loading - max_loading) / 100`` for lines and trafos;
3. compute every trade's sensitivity ``s_t`` of the violated quantity to
   its transfer (seller-bus minus buyer-bus injection sensitivity, from the
   Jacobian at the current point:
   :func:`~simulators.common.network.injection_sensitivity`); the trade with the largest ``s_t > 0``
   (ties: the later-listed trade) is curtailed by
   ``min(P_t, 1.05 * excess / s_t + 1e-6)`` [MW];
4. repeat until feasible, or no trade with ``s_t > 0`` is left (the base
   schedule itself is infeasible: ``feasible = False``, nothing more is cut).

Each cut sets the trade's ``reason`` (:data:`REASONS`) and adds to its
``curtailed_mwh``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from simulators.common.network import AcModel, injection_sensitivity
from simulators.common.network.topology import ZONE_KINDS, zones
from simulators.market.errors import DsoCheckError

log = logging.getLogger(__name__)

#: ``reason`` codes written into trades (0 = untouched).
REASONS: dict[int, str] = {
    0: "approved",
    1: "overvoltage",
    2: "undervoltage",
    3: "line_overload",
    4: "trafo_overload",
    5: "zone_import_cap",
    6: "zone_export_cap",
    7: "zone_own_needs_first",
}


#: Zone of a trade party without a location (bus -1); zone ids may be negative.
NO_ZONE = np.iinfo(np.int64).min


@dataclass
class DsoResult:
    """Validated trades and the final network state.

    Attributes
    ----------
    trades : numpy.ndarray
        Copy of the input trades with ``quantity_mwh`` reduced, ``curtailed_mwh``
        and ``reason`` set.
    feasible : bool
        Final schedule within limits (True for ``none``/``caps`` without a power flow).
    iterations : int
        Power flows solved.
    vm_min_pu, vm_max_pu, max_loading_percent : float
        Final state (NaN without a power flow).
    """

    trades: np.ndarray
    feasible: bool
    iterations: int = 0
    vm_min_pu: float = np.nan
    vm_max_pu: float = np.nan
    max_loading_percent: float = np.nan

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
        self._pos = {int(b): i for i, b in enumerate(self.bus_index)}

    # -- helpers -------------------------------------------------------------
    def positions(self, buses: np.ndarray) -> np.ndarray:
        """Row positions of pandapower bus indices (-1 stays -1)."""
        try:
            return np.fromiter((self._pos[b] if b >= 0 else -1 for b in buses.tolist()),
                               dtype=np.int64, count=len(buses))
        except KeyError as exc:
            raise DsoCheckError(f"trade bus {exc.args[0]} is not a bus of the DSO network") from None

    def schedule_p_mw(self, trades: np.ndarray, base_p_mw: np.ndarray, interval_h: float) -> np.ndarray:
        """Per-bus consumption [MW] of base + trades (consumer reference)."""
        p = np.asarray(base_p_mw, dtype=float).copy()
        pw = trades["quantity_mwh"] / interval_h
        pb, ps = self.positions(trades["buyer_bus"]), self.positions(trades["seller_bus"])
        loc = (pb >= 0) & (ps >= 0)
        np.add.at(p, pb[loc], pw[loc])
        np.add.at(p, ps[loc], -pw[loc])
        return p

    def _worst(self, st):
        """(excess, kind, index, reason) of the worst violation, excess <= 0 if none."""
        cands = [
            (st.vm_pu.max() - self.vmax, "vm", int(np.argmax(st.vm_pu)), 1),
            (self.vmin - st.vm_pu.min(), "vm", int(np.argmin(st.vm_pu)), 2),
        ]
        for kind, arr, code in (("line", st.line_loading_percent, 3), ("trafo", st.trafo_loading_percent, 4)):
            if len(arr) and np.isfinite(arr).any():
                i = int(np.nanargmax(arr))
                cands.append(((arr[i] - self.max_loading) / 100.0, kind, i, code))
        return max(cands, key=lambda c: c[0])

    # -- methods -------------------------------------------------------------
    def ac_check(self, trades: np.ndarray, base_p_mw: np.ndarray, interval_h: float,
                 base_q_mvar: np.ndarray | None = None, priority: np.ndarray | None = None,
                 max_iter: int | None = None) -> DsoResult:
        """Curtail trades until the AC power flow is within limits (module docstring).

        ``priority`` (int per trade, optional): trades with a larger value are
        cut first among those with a positive sensitivity (used by ``zonal``).
        """
        t = trades.copy()
        pb, ps = self.positions(t["buyer_bus"]), self.positions(t["seller_bus"])
        loc = (pb >= 0) & (ps >= 0)
        max_iter = max_iter or 4 * len(t) + 20
        it = 0
        feasible = False
        while True:
            st = self.model.solve_bus(self.schedule_p_mw(t, base_p_mw, interval_h), base_q_mvar)
            it += 1
            if not st.converged:
                log.warning("ac_check: power flow did not converge; schedule left as is")
                break
            excess, kind, idx, code = self._worst(st)
            if excess <= 1e-9:
                feasible = True
                break
            if it > max_iter:
                break
            sens_bus = injection_sensitivity(self.model, st, kind, idx)
            if code == 2:  # undervoltage: the violated quantity is -vm
                sens_bus = -sens_bus
            scale = 1.0 if kind == "vm" else 0.01  # loading excess is in fractions of 100 %
            s = np.zeros(len(t))
            s[loc] = (sens_bus[ps[loc]] - sens_bus[pb[loc]]) * scale
            s[t["quantity_mwh"] <= 0] = 0.0
            cand = np.flatnonzero(s > 1e-12)
            if not len(cand):
                break
            if priority is not None:
                top = priority[cand].max()
                cand = cand[priority[cand] == top]
            k = int(cand[len(cand) - 1 - np.argmax(s[cand][::-1])])  # largest s, ties: later trade
            p_k = t["quantity_mwh"][k] / interval_h
            cut_mw = min(p_k, 1.05 * excess / s[k] + 1e-6)
            cut = cut_mw * interval_h
            t["quantity_mwh"][k] -= cut
            if t["quantity_mwh"][k] < 1e-12:
                cut += t["quantity_mwh"][k]
                t["quantity_mwh"][k] = 0.0
            t["curtailed_mwh"][k] += cut
            t["reason"][k] = code
        loadings = np.concatenate([st.line_loading_percent, st.trafo_loading_percent])
        return DsoResult(t, feasible, it, float(st.vm_pu.min()), float(st.vm_pu.max()),
                         float(np.nanmax(loadings)) if len(loadings) else np.nan)

    def caps(self, trades: np.ndarray, interval_h: float) -> DsoResult:
        """Pro-rata cut of inter-zone trades to the zone import, then export caps."""
        t = trades.copy()
        zb = self._zones_of(t["buyer_bus"])
        zs = self._zones_of(t["seller_bus"])
        inter = (zb != zs) & (zb != NO_ZONE) & (zs != NO_ZONE)
        for cap, zcol, code in ((self.zone_import_mw, zb, 5), (self.zone_export_mw, zs, 6)):
            if cap is None:
                continue
            for z in np.unique(zcol[inter]):
                m = inter & (zcol == z)
                flow_mw = t["quantity_mwh"][m].sum() / interval_h
                if flow_mw > cap + 1e-12:
                    self._scale(t, m, cap / flow_mw, code)
        return DsoResult(t, True)

    def zonal(self, trades: np.ndarray, base_p_mw: np.ndarray, interval_h: float,
              base_q_mvar: np.ndarray | None = None) -> DsoResult:
        """Zonal local controllers (Honarmand et al. 2021, Energies 14:3110, §4.2.3).

        Our reading of the five steps: (1) each trade is sent to the local
        controller (LC) of the seller's zone; (2) LC1 approves trades inside its
        zone first; (3) a zone serves its own needs first: a zone's exports
        are cut (pro rata, reason ``zone_own_needs_first``) by the volume it
        imports at the same time, and by its export cap; (4) LC2 admits
        imports up to its import cap; then the DSO's AC check approves the
        schedule, cutting inter-zone trades before intra-zone ones;
        (5) demand left unserved is supplied upstream by the retailer at the
        tariff (booked by settlement).
        """
        t = trades.copy()
        zb = self._zones_of(t["buyer_bus"])
        zs = self._zones_of(t["seller_bus"])
        inter = zb != zs
        for z in np.unique(np.concatenate([zb[inter], zs[inter]])):
            exp_m = inter & (zs == z)
            imp = t["quantity_mwh"][inter & (zb == z)].sum()
            exp = t["quantity_mwh"][exp_m].sum()
            if imp > 0 and exp > 0:
                self._scale(t, exp_m, max(exp - imp, 0.0) / exp, 7)
        capped = self.caps(t, interval_h).trades
        res = self.ac_check(capped, base_p_mw, interval_h, base_q_mvar, priority=inter.astype(np.int64))
        return res

    # -- internals -----------------------------------------------------------
    def _zones_of(self, buses: np.ndarray) -> np.ndarray:
        """Zone per pandapower bus; :data:`NO_ZONE` for trades without a location (-1)."""
        pos = self.positions(buses)
        return np.where(pos >= 0, self.zone[np.maximum(pos, 0)], NO_ZONE)

    @staticmethod
    def _scale(t: np.ndarray, mask: np.ndarray, factor: float, code: int) -> None:
        old = t["quantity_mwh"][mask]
        new = old * factor
        t["curtailed_mwh"][mask] += old - new
        t["quantity_mwh"][mask] = new
        r = t["reason"][mask]
        r[old - new > 0] = code
        t["reason"][mask] = r


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


def dso_check(method: str, validator: DsoValidator | None, trades: np.ndarray,
              base_p_mw: np.ndarray | None, interval_h: float,
              base_q_mvar: np.ndarray | None = None) -> DsoResult:
    """Dispatch ``market.dso_check``: ``none``, ``caps``, ``ac_check`` or ``zonal``."""
    if method == "none":
        return DsoResult(trades.copy(), True)
    if validator is None:
        raise DsoCheckError(f"dso_check={method!r} needs the DSO network (a DsoValidator)")
    if method == "caps":
        return validator.caps(trades, interval_h)
    if method == "ac_check":
        return validator.ac_check(trades, base_p_mw, interval_h, base_q_mvar)
    if method == "zonal":
        return validator.zonal(trades, base_p_mw, interval_h, base_q_mvar)
    raise DsoCheckError(f"dso_check={method!r} unknown; allowed: none, caps, ac_check, zonal")
