"""Per-interval orchestration of the network-aware markets (``dlmp``, ``lfm``).

Pure model code (no mosaik) called by :class:`simulators.market.operator.MarketOperator`
at every gate closure; the clearing itself lives in :mod:`.dlmp`, :mod:`.lfm`
and :mod:`.aggregator`.

The DSO's grid forecast
-----------------------
Households are learnt from their messages: every household message carries its
``sender`` (household row) and ``bus``. The household-modelled elements are the
loads the household simulator announces (``replace_elements``; without that, the
loads at those buses), see ``simulators.household.population``. Net consumption per
bus for interval ``k`` [MW, consumer reference] is

* the SimBench profiles of every load, sgen and storage for ``k`` (a *perfect*
  forecast of base load and SimBench PV: the same profiles drive the run), plus
* a per-bus *device term* by persistence: the latest metered net consumption of
  the households at the bus minus the SimBench profile of their loads in that
  metered interval (EV, heat pump, battery, rooftop PV drawn by the household
  simulator). Meter readings of interval ``j`` are sent at ``T_{j+1}``, so at the
  gate of ``k`` the newest one is ``j = k - 2`` (30 min old at 15-min steps).

With ``households.pv.sgen_mode: absorb`` the absorbed SimBench PV appears in both
terms (counted twice); use ``keep`` with these mechanisms. Reactive power comes
from the SimBench profiles only.

DLMP (``mechanism: dlmp``)
--------------------------
The forecast is the operating point (``linearize`` once per interval). The book is
the energy orders (BID/OFFER, ``market`` policy) plus the households' flexibility
(FLEX_OFFER, ``flex`` policy) as incremental orders: upward ``x`` = a sell offer at
the flex price, downward ``y`` = a buy bid at minus the flex price. Energy orders
are carved out of the forecast (``base = forecast - net orders``), flexibility is
on top of it. One virtual order per bus at ``dlmp_shed_price_eur_per_mwh`` (shed the
bus's base demand / spill its base export) keeps the LP feasible when the
flexibility cannot relieve a constraint; accepted volume is ``dlmp_unserved_mw``
(a price signal, not a physical action). Accepted energy orders get RESULT
messages at their bus DLMP; accepted flexibility gets ACTIVATION messages.
``infeasible`` / ``solver_error`` fall back to the tariff (``market_status`` 5/6).

LFM (``mechanism: lfm``)
------------------------
Energy is settled at the tariff. At the gate of ``k`` the DSO forecasts
``k .. k + lfm_horizon_steps - 1``, publishes the traffic light of interval ``k``
and one REQUEST message per request and interval with a need (to every
aggregator; ``quantity_mwh`` need * dt, ``side`` -1 upward / +1 downward,
``price`` the DSO's value). Households send FLEX_OFFERs one interval ahead only,
so profiles exist for interval ``k`` alone and the clearing is rolling: the
requests' interval-``k`` needs are cleared, the later ones are re-forecast at the
next gates. Activations are split over members (ACTIVATION messages, sender the
aggregator). Delivery: baseline = the member's metered net consumption in its
latest non-activated interval (a "last interval" baseline); delivered = baseline
- metered; a missing meter reading or baseline counts as not delivered.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field, replace

import numpy as np
import pandapower as pp

from simulators.common import messages as msgs
from simulators.common.messages import Kind
from simulators.common.netdata import element_profiles, profile_row
from simulators.common.network.linear import linearize

from .aggregator import build_profiles, disaggregate, headroom_from_messages, profile_delivery
from .dlmp import STATUS_OPTIMAL, DlmpLimits, clear_dlmp
from .lfm import LfmLimits, activations, clear_lfm, detect_needs, effective_relief, forecast_grid, settle_lfm
from .lfm import traffic_light

log = logging.getLogger(__name__)

#: ``events_flex``: one row per profile at activation (kind 0) and at settlement (kind 1).
FLEX_EVENT_DTYPE = np.dtype([
    ("kind", np.int8), ("interval_s", np.int64), ("profile", np.int32), ("aggregator", np.int32),
    ("bus", np.int32), ("product", np.int8), ("n_members", np.int32), ("activated_mw", np.float64),
    ("delivered_mw", np.float64), ("shortfall_mw", np.float64), ("price_eur_per_mwh", np.float64),
    ("payment_eur", np.float64), ("penalty_eur", np.float64),
])
#: ``events_flex_requests``: one row per DSO request and interval of the horizon.
REQUEST_EVENT_DTYPE = np.dtype([
    ("gate_interval_s", np.int64), ("request_id", np.int32), ("interval_s", np.int64),
    ("element", np.int8), ("element_index", np.int32), ("bus", np.int32), ("direction", np.int8),
    ("need_mw", np.float64), ("covered_mw", np.float64), ("shortfall_mw", np.float64),
    ("met", np.bool_), ("deadline_s", np.int64),
])
ELEMENT_CODES = {"line": 0, "trafo": 1, "bus": 2}

BUS_SERIES = ("dlmp_eur_per_mwh", "dlmp_energy_eur_per_mwh", "dlmp_loss_eur_per_mwh",
              "dlmp_congestion_eur_per_mwh", "dlmp_voltage_eur_per_mwh")
DLMP_SCALARS = {"import_mw": "MW", "export_mw": "MW", "dlmp_unserved_mw": "MW",
                "dlmp_flex_up_mw": "MW", "dlmp_flex_down_mw": "MW", "lin_max_dvm_pu": "pu",
                "lin_max_dloading_percent": "%"}
LFM_SCALARS = {"flex_status": "code", "flex_requests": "count", "flex_need_mw": "MW",
               "flex_covered_mw": "MW", "flex_shortfall_mw": "MW", "flex_activated_mw": "MW",
               "flex_profiles": "count", "flex_accepted": "count", "flex_welfare_eur": "EUR",
               "dso_cost_eur": "EUR", "flex_delivered_mwh": "MWh", "flex_undelivered_mwh": "MWh",
               "flex_payment_eur": "EUR", "flex_penalty_eur": "EUR",
               "forecast_max_loading_percent": "%"}


@dataclass
class DlmpOutcome:
    """What the operator needs from one DLMP interval.

    ``status`` is the :func:`.dlmp.clear_dlmp` status; on failure ``accepted_mwh``
    and ``price_eur_per_mwh`` are empty and the operator uses the tariff.
    """

    status: str
    accepted_mwh: np.ndarray
    price_eur_per_mwh: np.ndarray
    welfare_eur: float
    values: dict
    messages: np.ndarray = field(default_factory=lambda: msgs.empty(0))


class FlexMarket:
    """DSO forecast, DLMP and LFM state of one run.

    Parameters
    ----------
    cfg : MarketConfig
    net : pandapowerNet
        The scenario grid (not modified).
    start : str
        ISO 8601 run start (profile row of interval 0).
    step_s : int
        Interval length [s].
    n_agents : int
        Households ``0 .. n_agents-1``.
    """

    def __init__(self, cfg, net, start: str, step_s: int, n_agents: int) -> None:
        self.cfg, self.step_s, self.n = cfg, int(step_s), int(n_agents)
        self.dt_h = self.step_s / 3600.0
        self.start = start  # profile rows: profile_row(start, t_s)
        self.net = net
        self.bus_index = net.bus.index.to_numpy()
        self.pos = np.full(int(self.bus_index.max()) + 1, -1)
        self.pos[self.bus_index] = np.arange(len(self.bus_index))
        self.prof = {}
        for el, sign in (("load", 1.0), ("sgen", -1.0), ("storage", 1.0)):
            if len(net[el]):
                tab = net[el]
                self.prof[el] = (element_profiles(net, el, "p_mw"), element_profiles(net, el, "q_mvar"),
                                 self.pos[tab.bus.to_numpy()], sign * tab.in_service.to_numpy(float))
        self.op_net = copy.deepcopy(net)
        for el in ("load", "sgen", "storage"):
            self.op_net[el]["in_service"] = False
        self.op_loads = np.asarray(pp.create_loads(self.op_net, self.bus_index, p_mw=0.0, q_mvar=0.0,
                                                   name="forecast"))
        self.agent_bus = np.full(self.n, -1)
        #: loads the households model (``replace_elements``); None: every load at a household's bus
        self.replaced_loads: np.ndarray | None = None
        self.agent_agg = np.zeros(self.n, dtype=int)
        self.device_mw = np.zeros(len(self.bus_index))
        self.flex_offers: list[np.ndarray] = []
        self.meters: dict[int, np.ndarray] = {}  # interval_s -> metered net [MW] per agent (NaN missing)
        self.baseline_mw = np.full(self.n, np.nan)
        self.pending_settle: dict[int, dict] = {}
        self.out_messages: list[np.ndarray] = []
        self.events = {"flex": [], "flex_requests": []}
        self._settled_values: dict = {}
        self.setpoints: dict[int, np.ndarray] = {}  # interval_s -> activated flexibility [MW, +up] per agent
        self.lin0 = self._linearize(0)
        self.n_area = int(self.lin0.area.max()) + 1

    # ------------------------------------------------------------ inputs
    def receive(self, batch: np.ndarray) -> None:
        """Learn household buses; buffer FLEX_OFFERs and METER readings."""
        hh = batch[(batch["sender"] >= 0) & (batch["sender"] < self.n) & (batch["bus"] >= 0)]
        self.agent_bus[hh["sender"]] = hh["bus"]
        fo = hh[hh["kind"] == Kind.FLEX_OFFER]
        if len(fo):
            to_agg = fo["receiver"] <= msgs.AGGREGATOR_BASE
            self.agent_agg[fo["sender"]] = np.where(to_agg, msgs.AGGREGATOR_BASE - fo["receiver"],
                                                    fo["sender"] % self.cfg.n_aggregators)
            self.flex_offers.append(fo)
        for m in (hh[hh["kind"] == Kind.METER],):
            for iv in np.unique(m["interval_s"]).tolist():
                part = m[m["interval_s"] == iv]
                arr = self.meters.setdefault(int(iv), np.full(self.n, np.nan))
                arr[part["sender"]] = (part["quantity_mwh"] - part["quantity2_mwh"]) / self.dt_h

    def _take_offers(self, iv: int, gate_ms: int) -> np.ndarray:
        """FLEX_OFFERs for interval ``iv`` that arrived by the gate; drops older ones."""
        fo = msgs.concat(self.flex_offers)
        self.flex_offers = [fo[fo["interval_s"] > iv]] if len(fo) else []
        return fo[(fo["interval_s"] == iv) & (fo["arrival_ms"] <= gate_ms)]

    # ------------------------------------------------------------ forecast
    def hh_load_mask(self) -> np.ndarray:
        """Loads replaced by households: the announced set (``replaced_loads``), else the
        loads at buses households send from. A bus may hold a home and a load that is
        not one (e.g. a shop; ``households.include``): only the announced set is the home's."""
        if self.replaced_loads is not None:
            return np.isin(self.net.load.index.to_numpy(), self.replaced_loads)
        buses = np.unique(self.agent_bus[self.agent_bus >= 0])
        return np.isin(self.net.load.bus.to_numpy(), buses)

    def element_p_q(self, k: int, only_hh_loads: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """SimBench net consumption per bus in interval ``k`` [MW], [Mvar]."""
        row = profile_row(self.start, k * self.step_s)
        p, q = np.zeros(len(self.bus_index)), np.zeros(len(self.bus_index))
        for el, (pp_, pq_, bpos, sign) in self.prof.items():
            w = sign * (self.hh_load_mask() if only_hh_loads and el == "load" else 1.0)
            if only_hh_loads and el != "load":
                continue
            np.add.at(p, bpos, (pp_.values(row)[0] * w))
            np.add.at(q, bpos, (pq_.values(row)[0] * w))
        return p, q

    def forecast(self, k: int, horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Forecast net consumption per bus for ``k .. k+horizon-1`` [horizon, n_bus]."""
        pq = [self.element_p_q(j) for j in range(k, k + horizon)]
        p = np.array([a for a, _ in pq]) + self.device_mw
        return p, np.array([b for _, b in pq])

    def _linearize(self, k: int, p=None, q=None):
        if p is None:
            p, q = self.forecast(k)
            p, q = p[0], q[0]
        self.op_net.load.loc[self.op_loads, "p_mw"] = p
        self.op_net.load.loc[self.op_loads, "q_mvar"] = q
        return linearize(self.op_net)

    def _update_from_meters(self, upto_s: int) -> None:
        """Settle activations and update baselines / device term with meters up to ``upto_s``."""
        for iv in sorted(set(self.meters) | set(self.pending_settle) | set(self.setpoints)):
            if iv > upto_s:
                break
            net_mw = self.meters.pop(iv, np.full(self.n, np.nan))
            act = self.pending_settle.pop(iv, None)
            activated = np.zeros(self.n, bool)
            if act is not None:
                activated = act["setpoint"] != 0
                delivered = np.nan_to_num(self.baseline_mw - net_mw)  # missing -> 0 delivered
                self._settle(iv, act, delivered)
            ok = ~np.isnan(net_mw)
            self.baseline_mw[ok & ~activated] = net_mw[ok & ~activated]
            # the device term forecasts consumption *without* flexibility: add back what was activated
            net_mw = net_mw + self.setpoints.pop(iv, 0.0)
            if ok.any():
                k = iv // self.step_s
                base, _ = self.element_p_q(k, only_hh_loads=True)
                metered = np.zeros(len(self.bus_index))
                has = np.zeros(len(self.bus_index), bool)
                b = self.pos[self.agent_bus[ok]]
                np.add.at(metered, b, net_mw[ok])
                has[b] = True
                self.device_mw = np.where(has, metered - base, self.device_mw)

    # ------------------------------------------------------------ DLMP
    def dlmp(self, k: int, book: np.ndarray, gate_ms: int, base_pq=None) -> DlmpOutcome:
        """Clear interval ``k``'s energy orders and flexibility against the network.

        ``base_pq``: (p [MW], q [Mvar]) per bus of everything the orders do not
        cover (the elements no participant replaces; consumer reference). Given
        when households bid their whole position (bid curves): the orders then
        carry the homes' active power, and subtracting their summed quantities
        from a whole-grid forecast would count the curves, not the homes. None:
        the whole-grid forecast minus the orders' net (net-position bids).
        """
        cfg, iv = self.cfg, k * self.step_s
        self._update_from_meters(iv - 2 * self.step_s)
        fo = self._take_offers(iv, gate_ms)
        nb = len(self.bus_index)
        fp, fq = self.forecast(k)
        fp, fq = fp[0], fq[0]
        ok = (book["bus"] >= 0) & (book["bus"] < len(self.pos))
        bpos = np.where(ok, self.pos[np.clip(book["bus"], 0, len(self.pos) - 1)], -1)
        e_net = np.zeros(nb)
        sel = bpos >= 0
        np.add.at(e_net, bpos[sel], (book["side"] * book["quantity_mwh"])[sel] / self.dt_h)
        base = fp - e_net
        if base_pq is not None and base_pq[0] is not None:
            base, fq = np.asarray(base_pq[0], float), np.asarray(base_pq[1], float)
        flex = msgs.empty(2 * len(fo))
        flex[: len(fo)] = fo
        flex[len(fo):] = fo
        flex["side"][: len(fo)], flex["quantity_mwh"][: len(fo)] = -1, fo["quantity_mwh"]
        flex["side"][len(fo):], flex["quantity_mwh"][len(fo):] = 1, fo["quantity2_mwh"]
        flex["price_eur_per_mwh"][len(fo):] *= -1.0
        virt = msgs.empty(nb)
        virt["bus"], virt["side"] = self.bus_index, np.where(base > 0, -1, 1)
        virt["quantity_mwh"] = np.abs(base) * self.dt_h
        virt["price_eur_per_mwh"] = np.where(base > 0, 1.0, -1.0) * cfg.dlmp_shed_price_eur_per_mwh
        allo = msgs.concat([book, flex, virt]) if len(book) + len(flex) else virt
        lo, hi = cfg.voltage_band_pu
        lim = DlmpLimits(lo, hi, cfg.max_loading_percent, cfg.dlmp_import_price_eur_per_mwh,
                         cfg.dlmp_export_price_eur_per_mwh,
                         np.inf if cfg.import_limit_mw is None else cfg.import_limit_mw,
                         cfg.dlmp_losses, cfg.dlmp_ac_check)
        lin = self._linearize(k, fp, fq)
        res = clear_dlmp(allo, lin, lim, interval_h=self.dt_h, base_p_mw=base, base_q_mvar=fq)
        values = {a: np.full(nb, np.nan) for a in BUS_SERIES}
        values.update(dict.fromkeys(DLMP_SCALARS, np.nan))
        if res.status != STATUS_OPTIMAL:
            log.warning("DLMP interval %d: %s, falling back to the tariff", k, res.status)
            return DlmpOutcome(res.status, np.zeros(0), np.zeros(0), np.nan, values)
        nbk, nf = len(book), len(flex)
        acc = res.accepted_mwh
        contrib = np.where(allo["side"] > 0, 1.0, -1.0) * allo["price_eur_per_mwh"] * acc
        for a, v in zip(BUS_SERIES, (res.dlmp_eur_per_mwh, res.energy_eur_per_mwh, res.loss_eur_per_mwh,
                                     res.congestion_eur_per_mwh, res.voltage_eur_per_mwh)):
            values[a] = v
        f_acc = acc[nbk: nbk + nf]
        values.update(import_mw=res.import_mw, export_mw=res.export_mw,
                      dlmp_unserved_mw=float(acc[nbk + nf:].sum() / self.dt_h),
                      dlmp_flex_up_mw=float(f_acc[: len(fo)].sum() / self.dt_h),
                      dlmp_flex_down_mw=float(f_acc[len(fo):].sum() / self.dt_h),
                      lin_max_dvm_pu=res.max_dvm_pu, lin_max_dloading_percent=res.max_dloading_percent)
        act = flex[f_acc > 1e-12].copy()
        act_q = f_acc[f_acc > 1e-12]
        sp = np.zeros(self.n)
        np.add.at(sp, act["sender"], -act["side"] * act_q / self.dt_h)
        self.setpoints[iv] = sp
        out = self._activation_messages(act["sender"], act["bus"], act["side"], act_q, iv, gate_ms,
                                        res.order_price_eur_per_mwh[nbk: nbk + nf][f_acc > 1e-12],
                                        np.full(len(act), msgs.MARKET))
        return DlmpOutcome(res.status, acc[:nbk], res.order_price_eur_per_mwh[:nbk],
                           float(res.welfare_eur - contrib[nbk + nf:].sum()), values, out)

    def _activation_messages(self, receiver, bus, side, q_mwh, iv, gate_ms, price, sender) -> np.ndarray:
        m = msgs.empty(len(receiver))
        m["msg_id"] = msgs.make_ids(sender, iv // self.step_s * 1_000_000 + 500_000 + np.arange(len(m)))
        m["kind"], m["sender"], m["receiver"], m["bus"] = Kind.ACTIVATION, sender, receiver, bus
        m["interval_s"], m["side"], m["quantity_mwh"] = iv, side, q_mwh
        m["price_eur_per_mwh"], m["send_ms"] = price, gate_ms
        return m

    # ------------------------------------------------------------ LFM
    def lfm(self, k: int, gate_ms: int) -> tuple[dict, np.ndarray]:
        """Run the LFM for interval ``k``; returns the scalar values and messages."""
        cfg, iv, dt = self.cfg, k * self.step_s, self.dt_h
        vals = dict.fromkeys(LFM_SCALARS, 0.0)
        vals["traffic_light"] = np.zeros(self.n_area)
        self._settled_values = {}
        self._update_from_meters(iv - 2 * self.step_s)
        vals.update(self._settled_values)
        fo = self._take_offers(iv, gate_ms)
        h = cfg.lfm_horizon_steps
        fp, fq = self.forecast(k, h)
        lin = self._linearize(k, fp[0], fq[0])
        fc = forecast_grid(lin, fp - lin.p0_mw, fq - lin.q0_mvar)
        lo, hi = cfg.voltage_band_pu
        lim = LfmLimits(lo, hi, cfg.max_loading_percent, cfg.amber_loading_percent, cfg.amber_vm_margin_pu,
                        cfg.lfm_value_eur_per_mwh, cfg.gate_closure_s)
        vals["traffic_light"] = traffic_light(fc, lin, lim)[0].astype(float)
        vals["forecast_max_loading_percent"] = float(fc["loading_percent"][0].max())
        reqs = detect_needs(fc, lim, lin, start_s=iv, interval_s=self.step_s)
        now = [replace(r, request_id=i, need_mw=r.need_mw[:1]) for i, r in enumerate(reqs)
               if r.need_mw[0] > 0]
        out = [self._request_messages(reqs, iv, gate_ms)]
        vals["flex_requests"] = len(now)
        vals["flex_need_mw"] = float(sum(r.need_mw[0] for r in now))
        up, dn, cost = headroom_from_messages(fo, self.n, iv, self.step_s, 1)
        if not now:
            vals["flex_status"] = 7  # no_need
            self._request_events(reqs, iv, None, now)
            return vals, msgs.concat(out)
        prof, member = build_profiles(up, dn, cost, self.agent_bus, np.where(self.agent_bus >= 0, self.agent_agg, -1),
                                      product=cfg.lfm_product, members_per_profile=cfg.members_per_profile,
                                      reservation_share=cfg.reservation_share)
        vals["flex_profiles"] = len(prof)
        relief = effective_relief(now, prof, lin)
        res = clear_lfm(now, prof, lin, objective=cfg.lfm_objective, pricing=cfg.lfm_pricing, interval_h=dt,
                        penalty_eur_per_mwh=cfg.lfm_penalty_eur_per_mwh, relief=relief)
        self._request_events(reqs, iv, res, now)
        codes = {"optimal": 0, "infeasible": 5, "solver_error": 6}
        vals.update(flex_status=codes.get(res.status, 6), flex_covered_mw=float(res.covered_mw.sum()),
                    flex_shortfall_mw=float(res.shortfall_mw.sum()), flex_accepted=int(res.accepted.sum()))
        if res.status != "optimal":
            vals["flex_shortfall_mw"] = vals["flex_need_mw"]
            log.warning("LFM interval %d: %s; no flexibility procured", k, res.status)
            return vals, msgs.concat(out)
        vals.update(flex_welfare_eur=res.welfare_eur, dso_cost_eur=res.dso_cost_eur)
        act = activations(res, now, prof, relief)  # [P, 1] MW, +up
        setpoint, short = disaggregate(act, member, up, dn)
        sp = setpoint[:, 0]
        self.setpoints[iv] = sp
        vals["flex_activated_mw"] = float(np.abs(act).sum())
        energy = np.abs(act[:, 0]) * dt
        unit = np.divide(res.payment_eur, energy, out=prof.price_eur_per_mwh.astype(float).copy(),
                         where=energy > 0)
        hit = np.flatnonzero(np.abs(sp) > 1e-12)
        out.append(self._activation_messages(hit, self.agent_bus[hit], np.where(sp[hit] > 0, -1, 1),
                                             np.abs(sp[hit]) * dt, iv, gate_ms,
                                             np.asarray(member.T @ np.where(res.accepted, unit, 0.0))[hit],
                                             msgs.AGGREGATOR_BASE - self.agent_agg[hit]))
        accp = np.flatnonzero(np.abs(act[:, 0]) > 0)
        ev = self._flex_rows(0, iv, prof, member, accp, act[accp, 0], np.zeros(len(accp)), short[accp, 0],
                             unit[accp], res.payment_eur[accp], np.zeros(len(accp)))
        self.events["flex"].append(ev)
        if len(accp):
            self.pending_settle[iv] = dict(setpoint=sp, act=act[accp], member=member[accp], unit=unit[accp],
                                           prof=prof, idx=accp)
        return vals, msgs.concat(out)

    def _settle(self, iv: int, a: dict, delivered_member_mw: np.ndarray) -> None:
        delivered, short = profile_delivery(delivered_member_mw[:, None], a["member"], a["act"])
        s = settle_lfm(a["act"], delivered, a["unit"], interval_h=self.dt_h,
                       penalty_factor=self.cfg.settlement_penalty_factor)
        self.events["flex"].append(self._flex_rows(1, iv, a["prof"], a["member"], a["idx"], a["act"][:, 0],
                                                   delivered[:, 0], short[:, 0], a["unit"], s["payment_eur"],
                                                   s["penalty_eur"]))
        sv = self._settled_values
        sv["flex_delivered_mwh"] = sv.get("flex_delivered_mwh", 0.0) + float(s["delivered_mwh"].sum())
        sv["flex_undelivered_mwh"] = sv.get("flex_undelivered_mwh", 0.0) + float(s["shortfall_mwh"].sum())
        sv["flex_payment_eur"] = sv.get("flex_payment_eur", 0.0) + float(s["payment_eur"].sum())
        sv["flex_penalty_eur"] = sv.get("flex_penalty_eur", 0.0) + float(s["penalty_eur"].sum())

    def _flex_rows(self, kind, iv, prof, member, idx, act, delivered, short, unit, pay, pen) -> np.ndarray:
        ev = np.zeros(len(idx), FLEX_EVENT_DTYPE)
        ev["kind"], ev["interval_s"], ev["profile"] = kind, iv, idx
        ev["aggregator"], ev["bus"], ev["product"] = prof.aggregator[idx], prof.bus[idx], prof.product[idx]
        ev["n_members"] = np.asarray(member.sum(axis=1)).ravel() if kind else np.asarray(
            member[idx].sum(axis=1)).ravel()
        ev["activated_mw"], ev["delivered_mw"], ev["shortfall_mw"] = act, delivered, short
        ev["price_eur_per_mwh"], ev["payment_eur"], ev["penalty_eur"] = unit, pay, pen
        return ev

    def _request_messages(self, reqs, iv: int, gate_ms: int) -> np.ndarray:
        rows = [(r, t) for r in reqs for t in np.flatnonzero(r.need_mw > 0)]
        aggs = np.arange(self.cfg.n_aggregators)
        m = msgs.empty(len(rows) * len(aggs))
        if not len(m):
            return m
        r_of = np.repeat(np.arange(len(rows)), len(aggs))
        m["msg_id"] = msgs.make_ids(np.full(len(m), msgs.DSO), iv // self.step_s * 1_000_000 + np.arange(len(m)))
        m["kind"], m["sender"] = Kind.REQUEST, msgs.DSO
        m["receiver"] = msgs.AGGREGATOR_BASE - np.tile(aggs, len(rows))
        m["bus"] = [rows[i][0].bus for i in r_of]
        m["interval_s"] = [iv + int(rows[i][1]) * self.step_s for i in r_of]
        m["side"] = [-rows[i][0].direction for i in r_of]
        m["quantity_mwh"] = [rows[i][0].need_mw[rows[i][1]] * self.dt_h for i in r_of]
        m["price_eur_per_mwh"] = [rows[i][0].value_eur_per_mwh for i in r_of]
        m["send_ms"] = gate_ms
        return m

    def _request_events(self, reqs, iv: int, res, now) -> None:
        rows = []
        first = {r.element_index * 10 + ELEMENT_CODES[r.element]: i for i, r in enumerate(now)}
        for j, r in enumerate(reqs):
            i = first.get(r.element_index * 10 + ELEMENT_CODES[r.element])
            for t in np.flatnonzero(r.need_mw > 0):
                cov = res.covered_mw[i, 0] if (res is not None and i is not None and t == 0) else 0.0
                sh = res.shortfall_mw[i, 0] if (res is not None and i is not None and t == 0) else np.nan
                met = bool(res.request_met[i]) if (res is not None and i is not None and t == 0) else False
                rows.append((iv, j, iv + int(t) * self.step_s, ELEMENT_CODES[r.element], r.element_index, r.bus,
                             r.direction, r.need_mw[t], cov, sh, met, r.deadline_s + int(t) * self.step_s))
        self.events["flex_requests"].append(np.array(rows, dtype=REQUEST_EVENT_DTYPE))

    # ------------------------------------------------------------ output
    def take_messages(self) -> np.ndarray:
        out, self.out_messages = msgs.concat(self.out_messages), []
        return out

    def take_events(self, name: str) -> np.ndarray:
        dt = FLEX_EVENT_DTYPE if name == "flex" else REQUEST_EVENT_DTYPE
        parts, self.events[name] = self.events[name], []
        return np.concatenate(parts) if parts else np.zeros(0, dt)


__all__ = ["BUS_SERIES", "DLMP_SCALARS", "FLEX_EVENT_DTYPE", "FlexMarket", "LFM_SCALARS", "REQUEST_EVENT_DTYPE"]
