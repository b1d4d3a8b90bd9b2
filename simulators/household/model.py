"""The household model: all homes of a grid stepped together in arrays.

:class:`HouseholdModel` owns the device states and runs one regular step per
interval ``[T, T + step)``; see :mod:`.hems` for the policies and messages and
:mod:`.programmes` for the demand-response programmes applied after them.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from simulators.common import messages as msgs
from simulators.common.netdata import profile_row
from simulators.common.tariffs import (
    BlockBiller,
    TariffConfig,
    feed_in_price_eur_per_mwh,
    import_price_eur_per_mwh,
    marginal_import_price_eur_per_mwh,
    retail_bill_eur,
)

from . import bidding, hems, weather
from .programmes import DirectLoadControl, EmergencyDemandResponse
from .battery import battery_limits, battery_step
from .ev import draw_sessions, ev_bounds, session_state
from .heatpump import building_step, cop_ashp, heat_to_reach
from .population import build_population
from .pv import pv_active, pv_reactive
from .schema import HouseholdsConfig

logger = logging.getLogger(__name__)


class HouseholdModel:
    """Vectorised households of one net.

    Parameters
    ----------
    net : pandapowerNet
    cfg : HouseholdsConfig
    start : str
        ISO timestamp of the run start (in 2016).
    step_s : int
        Interval length [s].
    n_steps : int
        Number of intervals of the run.
    seed : int
        Seed of this simulator's ``numpy.random.Generator``.
    tariff : TariffConfig, optional
        The scenario's retail tariff (:mod:`simulators.common.tariffs`), the
        same the market uses; default its defaults.
    """

    def __init__(self, net, cfg: HouseholdsConfig, start: str, step_s: int, n_steps: int, seed: int,
                 tariff: TariffConfig | None = None):
        self.cfg, self.step_s, self.n_steps = cfg, int(step_s), int(n_steps)
        self.tariff = tariff if tariff is not None else TariffConfig()
        self.policy = hems.resolve_policy(cfg.policy)
        self.dt_h = self.step_s / 3600.0
        rng = np.random.default_rng(seed)
        self.pop = p = build_population(net, cfg, rng)
        n = p.n
        self.start = start
        self.row0 = profile_row(start)
        ts = pd.Timestamp(start)
        offset_s = float((ts - ts.normalize()).total_seconds())
        self.sessions = draw_sessions(cfg.ev, n, offset_s, (n_steps + 2) * self.step_s, rng)
        b = cfg.battery
        self.bat_e_min = p.bat_e_mwh * b.soc_min_frac
        self.bat_e_max = p.bat_e_mwh * b.soc_max_frac
        self.bat_p_max = p.bat_e_mwh * b.p_kw_per_kwh
        self.bat_soc = p.bat_e_mwh * b.soc_init_frac
        e = cfg.ev
        self.ev_soc = p.ev_e_mwh * e.soc_init_frac
        self.ev_target = p.ev_e_mwh * e.target_soc_frac
        self.ev_e_min = p.ev_e_mwh * e.v2g_min_soc_frac
        self.ev_prev_plugged = np.zeros(n, dtype=bool)
        h = cfg.heat_pump
        self.t_in = np.where(p.has_hp, h.t_init_c, np.nan)
        self.hp_q_max = h.oversize_factor * p.hp_h_mw_per_k * (h.setpoint_c - h.design_temp_c)
        self.gains = np.where(p.has_hp, h.internal_gains_kw * 1e-3, 0.0)
        rows = profile_row(start, np.arange(n_steps + 2) * self.step_s)
        self.t_out = (weather.outdoor_temp_c(weather.for_net(net, cfg.weather), rows) if p.has_hp.any()
                      else np.full(len(rows), 10.0))
        self.s_inv = p.pv_mw * cfg.pv.inverter_kva_per_kwp
        self.pv_cap = np.full(n, np.inf)
        t_s = np.arange(n_steps + 2) * self.step_s
        self.price = import_price_eur_per_mwh(self.tariff, start, t_s)
        self.feed_in = feed_in_price_eur_per_mwh(self.tariff, start, t_s)
        #: increasing block prices: per-home cumulative retail import (the market settles with its own copy)
        self.block = BlockBiller(self.tariff, start, n) if self.tariff.kind == "ibp" else None
        # reference of the ``tariff`` policy: the mean published import price over
        # [t - 12 h, t + 12 h) (published by noon of the day before; see hems)
        per_day = max(1, 86400 // self.step_s)
        half = per_day // 2
        known = import_price_eur_per_mwh(self.tariff, start,
                                         np.arange(-half, n_steps + 2 + per_day - half - 1) * self.step_s)
        self.price_ref24 = np.convolve(known, np.full(per_day, 1.0 / per_day), mode="valid")
        self.vm_pu = np.ones(len(p.bus_index))
        self.sender = np.arange(n, dtype=np.int32)
        self.bus32 = p.bus.astype(np.int32)
        self.counter = np.zeros(n, dtype=np.int64)
        self.results: dict[int, np.ndarray] = {}
        self.result_counts: dict[int, np.ndarray] = {}
        self.curves: dict[int, tuple[bidding.BidCurve, np.ndarray]] = {}
        #: per interval: ids of the curve orders sent (sorted) and whether the retailer may execute them
        self.sent_orders: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        #: reference price per past interval: local price where one cleared, else retail [EUR/MWh]
        self.ref_prices: list[float] = []
        self.local_prices: dict[int, list[float]] = {}
        #: per interval and home: local net position (bought - sold) [MWh] and its cost [EUR] from RESULTs
        self.local_net: dict[int, np.ndarray] = {}
        self.local_cost: dict[int, np.ndarray] = {}
        #: per home, this step: 1 where the HEMS used the safe fallback (bid curve sent,
        #: RESULTs missing at the interval start), else 0
        self.fallback = np.zeros(n)
        self.activations: dict[int, np.ndarray] = {}
        self.totals = {k: np.zeros(n) for k in
                       ("energy_import_mwh", "energy_export_mwh", "bill_eur", "ev_unmet_mwh", "comfort_violation_kh")}
        self.last_import = np.zeros(n)
        self.last_export = np.zeros(n)
        self.last = None
        self._setpoints: list[np.ndarray] = []
        # drawn last, so every other random stream is the same with or without bid curves
        self.factors = bidding.draw_valuation_factors(rng, n)
        # demand-response programmes draw after everything else (off: no draw, same streams)
        self.dlc = DirectLoadControl(cfg.dlc, n, rng, start) if cfg.dlc is not None else None
        self.edr = (EmergencyDemandResponse(cfg.emergency_dr, n, rng, start, step_s)
                    if cfg.emergency_dr is not None else None)
        if self.dlc is not None or self.edr is not None:
            self.totals["dr_payment_eur"] = np.zeros(n)
        self._edr_state = (np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))  # request of the step

    @property
    def n_fallback(self) -> int:
        """Homes that used the safe fallback in the last step (``hems_fallback`` summed)."""
        return int(self.fallback.sum())

    # ------------------------------------------------------------------ inputs
    def receive(self, batch: np.ndarray) -> None:
        """Store results, activations and setpoints addressed to households."""
        n = self.pop.n
        # selections that keep every record are the array itself (nothing here writes to it)
        batch = msgs.select(batch, (batch["receiver"] >= 0) & (batch["receiver"] < n))
        for kind, store in ((msgs.Kind.RESULT, self.results), (msgs.Kind.ACTIVATION, self.activations)):
            sel = msgs.select(batch, batch["kind"] == kind)
            ivs = sel["interval_s"]
            for iv in np.unique(ivs):
                part = msgs.select(sel, ivs == iv)
                arr = store.setdefault(int(iv), np.full(n, np.nan))
                vals = np.zeros(n)
                qty = part["quantity_mwh"]
                if kind == msgs.Kind.RESULT:
                    # executed = local (quantity_mwh) + with the retailer (quantity2_mwh)
                    qty = qty + part["quantity2_mwh"] * self._retail_executable(int(iv), part["ref_id"])
                    cnt = self.result_counts.setdefault(int(iv), np.zeros(n, dtype=np.int64))
                    np.add.at(cnt, part["receiver"], 1)
                    local = part["quantity_mwh"] > 0
                    if local.any():
                        self.local_prices.setdefault(int(iv), []).extend(part["price_eur_per_mwh"][local].tolist())
                        got = part[local]
                        q = got["side"] * got["quantity_mwh"]
                        np.add.at(self.local_net.setdefault(int(iv), np.zeros(n)), got["receiver"], q)
                        np.add.at(self.local_cost.setdefault(int(iv), np.zeros(n)), got["receiver"],
                                  q * got["price_eur_per_mwh"])
                np.add.at(vals, part["receiver"], part["side"] * qty)
                hit = np.zeros(n, dtype=bool)
                hit[part["receiver"]] = True
                arr[hit] = np.nan_to_num(arr[hit]) + vals[hit]
        sp = batch[batch["kind"] == msgs.Kind.SETPOINT]
        if len(sp):
            self._setpoints.append(sp)

    def set_voltages(self, vm_pu: np.ndarray) -> None:
        """Bus voltages [pu] in ``net.bus.index`` order (used by ``q_u``)."""
        self.vm_pu = np.asarray(vm_pu, float)

    # ------------------------------------------------------------------ step
    def step(self, k: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Advance all homes over interval ``k``.

        Returns
        -------
        out : dict
            Per-household arrays (declared with their units in
            :data:`simulators.household.mosaik.ATTRS`) plus ``bus_p_mw``,
            ``bus_q_mvar`` (per bus, consumer reference).
        messages : np.ndarray
            Outbound messages (``MESSAGE_DTYPE``).
        """
        cfg, p, dt = self.cfg, self.pop, self.dt_h
        t_s = k * self.step_s
        row = profile_row(self.start, t_s)
        self._apply_setpoints(t_s)
        base_p = p.base_p_mw(row)
        base_q = p.base_q_mvar(row)
        pv_p, pv_curt = pv_active(p.pv_avail_mw(row), self.s_inv, self.pv_cap)

        ev_must, ev_max, ev_min = self._ev_prepare(t_s)
        t_out = self.t_out[k]
        cop = cop_ashp(t_out, cfg.heat_pump.sink, cfg.heat_pump.cop_correction)
        q_of = lambda target: np.minimum(heat_to_reach(self.t_in, target, t_out, self.gains, p.hp_h_mw_per_k,
                                                       p.hp_c_mwh_per_k, dt), self.hp_q_max)
        hp = cfg.heat_pump
        hp_set = q_of(hp.setpoint_c) / cop
        hp_hi = q_of(hp.comfort_high_c) / cop
        hp_lo = q_of(hp.comfort_low_c) / cop
        ch_max, dis_max = battery_limits(self.bat_soc, self.bat_e_min, self.bat_e_max, self.bat_p_max,
                                         cfg.battery.eta_charge, cfg.battery.eta_discharge,
                                         cfg.battery.self_discharge_per_h, dt)
        policy = self.policy
        self.fallback = np.zeros(p.n)
        result = self.results.pop(t_s, None)
        local_net = self.local_net.pop(t_s, None)
        local_cost = self.local_cost.pop(t_s, None)
        curve_sp = self._curve_setpoints(t_s, result) if policy.curve else None
        decided = policy.dispatch(hems.DispatchInput(
            base_p, pv_p, ev_must, ev_max, ev_min, hp_set, hp_hi, hp_lo, ch_max, dis_max,
            self._price(k), self.price_ref24[k], dt, result, self.activations.pop(t_s, None), curve_sp))
        ev_p, hp_p, bat_req = decided[:3]
        pv_forecastable = pv_p  # before market curtailment (persistence forecast)
        if len(decided) > 3:  # PV export curtailed because it was not sold [MW]
            pv_new = np.maximum(pv_p - decided[3], 0.0)
            pv_curt = pv_curt + (pv_p - pv_new)
            pv_p = pv_new
        self._note_reference_price(k, t_s)
        self._drop_stale(t_s)
        ev_p = np.clip(ev_p, ev_min, ev_max)
        dr_out = {}
        if self.dlc is not None or self.edr is not None:
            ev_p, hp_p, bat_req, dr_out = self._programmes(k, t_s, ev_p, hp_p, bat_req, cop, ch_max, dis_max)
        bat_p, self.bat_soc = battery_step(self.bat_soc, bat_req, self.bat_e_min, self.bat_e_max, self.bat_p_max,
                                           cfg.battery.eta_charge, cfg.battery.eta_discharge,
                                           cfg.battery.self_discharge_per_h, dt)
        e = cfg.ev.efficiency
        self.ev_soc = self.ev_soc + e * np.maximum(ev_p, 0.0) * dt - np.maximum(-ev_p, 0.0) * dt / e
        self.t_in, _ = building_step(self.t_in, t_out, hp_p * cop + self.gains, p.hp_h_mw_per_k,
                                     p.hp_c_mwh_per_k, dt)
        tot = self.totals
        tot["comfort_violation_kh"] += np.where(p.has_hp, np.maximum(hp.comfort_low_c - self.t_in, 0.0), 0.0) * dt

        net_p = base_p + ev_p + hp_p + bat_p - pv_p
        vm_home = self.vm_pu[p.bus_pos]
        q_gen = pv_reactive(cfg.pv.q_mode, pv_p, self.s_inv, cfg.pv.cosphi, vm_home)
        net_q = base_q - q_gen
        imp, exp_ = np.maximum(net_p, 0.0) * dt, np.maximum(-net_p, 0.0) * dt
        if self.edr is not None:
            self._pay_metered(np.maximum(net_p, 0.0), dr_out)
        tot["energy_import_mwh"] += imp
        tot["energy_export_mwh"] += exp_
        # local trades at their prices + the retailer's bill of the metered residual: the
        # settlement rule the market applies too (simulators.common.tariffs.retail_bill_eur)
        local = 0.0 if local_net is None else local_net
        if self.block is None:
            tot["bill_eur"] += retail_bill_eur(imp, exp_, local, self.price[k], self.feed_in[k])
        else:
            tot["bill_eur"] += self.block.retail_bill_eur(t_s, imp, exp_, local, self.feed_in[k])
        if local_cost is not None:
            tot["bill_eur"] += local_cost
        self.last_partial = {"base": base_p, "pv": pv_forecastable, "ev": ev_p, "hp": hp_p}
        out_msgs = self._messages(k, t_s)
        self.last_import, self.last_export = imp, exp_
        out = {
            "p_mw": net_p, "q_mvar": net_q, "pv_p_mw": pv_p, "pv_curtailed_mw": pv_curt,
            "battery_p_mw": bat_p, "battery_soc_mwh": self.bat_soc.copy(), "ev_p_mw": ev_p,
            "ev_soc_mwh": self.ev_soc.copy(), "hp_p_mw": hp_p, "indoor_temp_c": self.t_in.copy(),
            "hems_fallback": self.fallback, "import_price_eur_per_mwh": np.broadcast_to(self._price(k + 1), (p.n,)).copy(), "bus_p_mw": p.to_bus(net_p), "bus_q_mvar": p.to_bus(net_q),
        }
        out.update({key: v.copy() for key, v in tot.items()})
        out.update(dr_out)
        self.last = out
        return out, out_msgs

    # ------------------------------------------------------------------ helpers
    def _price(self, k: int):
        """Retail import price the HEMS sees for interval ``k`` [EUR/MWh]: the tariff's price of the
        interval (a scalar), under block prices each home's marginal tier price (shape (n,))."""
        if self.block is None:
            return self.price[k]
        t_s = k * self.step_s
        return marginal_import_price_eur_per_mwh(self.tariff, self.start, t_s, self.block.cumulative_mwh(t_s))

    def _programmes(self, k, t_s, ev_p, hp_p, bat_req, cop, ch_max, dis_max):
        """Direct load control and emergency requests on the HEMS decision (:mod:`.programmes`).

        Returns the devices' power and the per-home outputs of the programmes;
        payments are added to the running total ``dr_payment_eur``.
        """
        p, dt = self.pop, self.dt_h
        bat0 = np.clip(bat_req, -dis_max, ch_max)
        before = hp_p + ev_p + np.maximum(bat0, 0.0)
        out = {}
        pay = self.totals["dr_payment_eur"]
        if self.dlc is not None:
            started = self.dlc.update(t_s, float(self.price[k]), self.vm_pu[p.bus_pos])
            hp_p, ev_p = self.dlc.limit(hp_p, ev_p, self.hp_q_max / cop, np.where(p.has_ev, p.ev_p_mw, 0.0))
            pay += started * self.cfg.dlc.payment_eur_per_event
            out["dlc_active"] = self.dlc.active.astype(float)
        if self.edr is not None:
            requested, complied, frac = self.edr.request(t_s)
            hp1, ev1, bat1 = self.edr.reduce(frac, hp_p, ev_p, bat0)
            shed = (hp_p - hp1) + (ev_p - ev1) + (np.maximum(bat0, 0.0) - np.maximum(bat1, 0.0))
            hp_p, ev_p, bat_req = hp1, ev1, np.where(frac > 0, bat1, bat_req)
            if self.cfg.emergency_dr.baseline == "own_decision":
                pay += shed * dt * self.cfg.emergency_dr.payment_eur_per_mwh
            # meter_before: paid in step() once the step's meter is known (_pay_metered)
            self._edr_state = (requested, complied)
            out["edr_requested"] = requested.astype(float)
            out["edr_complied"] = complied.astype(float)
        out["dr_reduction_mw"] = before - (hp_p + ev_p + np.maximum(np.clip(bat_req, -dis_max, ch_max), 0.0))
        return ev_p, hp_p, bat_req, out

    def _pay_metered(self, import_mw: np.ndarray, dr_out: dict) -> None:
        """Emergency DR: the step's reduction against the meter-before baseline, paid when chosen."""
        requested, complied = self._edr_state
        red = self.edr.metered(requested, complied, import_mw)
        dr_out["edr_metered_reduction_mw"] = red
        edr = self.cfg.emergency_dr
        if edr.baseline == "meter_before":
            self.totals["dr_payment_eur"] += red * self.dt_h * edr.payment_eur_per_mwh

    def _ev_prepare(self, t_s: float):
        p, e = self.pop, self.cfg.ev
        plugged, dep_s, trip = session_state(self.sessions, t_s)
        plugged &= p.has_ev
        arrive = plugged & ~self.ev_prev_plugged
        leave = self.ev_prev_plugged & ~plugged
        tot = self.totals
        tot["ev_unmet_mwh"] += np.where(leave, np.maximum(self.ev_target - self.ev_soc, 0.0), 0.0)
        drive = np.where(arrive, trip, 0.0)
        tot["ev_unmet_mwh"] += np.maximum(drive - self.ev_soc, 0.0)
        self.ev_soc = np.maximum(self.ev_soc - drive, 0.0)
        self.ev_prev_plugged = plugged
        self.ev_plugged = plugged
        return ev_bounds(self.ev_soc, self.ev_target, self.ev_e_min, p.ev_p_mw, e.efficiency,
                         (dep_s - t_s) / 3600.0, self.dt_h, plugged, e.mode)

    def _apply_setpoints(self, t_s: int) -> None:
        keep = []
        for sp in self._setpoints:
            due = sp["interval_s"] <= t_s
            for m in np.sort(sp[due], order="interval_s"):
                r = int(m["receiver"])
                self.pv_cap[r] = np.inf if m["side"] == 0 else m["quantity_mwh"] / self.dt_h
            if (~due).any():
                keep.append(sp[~due])
        self._setpoints = keep

    def _drop_stale(self, t_s: int) -> None:
        for store in (self.results, self.activations, self.result_counts, self.curves, self.local_prices,
                      self.sent_orders, self.local_net, self.local_cost):
            for iv in [iv for iv in store if iv <= t_s]:
                del store[iv]

    def _curve_setpoints(self, t_s: int, result: np.ndarray | None) -> bidding.Setpoints | None:
        """Device setpoints of interval ``t_s`` from the executed quantities of its bid curve.

        A home that did not get a RESULT for every order it sent uses
        :func:`bidding.fallback_fill`. None when no curve was sent for the
        interval (the first one): the policy then uses the same fallback, but
        no RESULT was expected, so :attr:`fallback` stays 0 there.
        """
        entry = self.curves.get(t_s)
        if entry is None:
            return None
        curve, n_sent = entry
        got = self.result_counts.get(t_s, np.zeros(self.pop.n, dtype=np.int64))
        complete = got >= n_sent
        executed = np.zeros(self.pop.n) if result is None else np.nan_to_num(result)
        fills = np.where(complete[:, None], bidding.fill(curve, executed), bidding.fallback_fill(curve))
        self.fallback = (~complete).astype(float)
        return bidding.setpoints(curve, fills, self.dt_h)

    def _retail_executable(self, iv: int, ref_id: np.ndarray) -> np.ndarray:
        """1 where the answered order may be executed with the retailer, else 0.

        The retail backstop rule: only a BID with limit >= the retail import
        price or an OFFER with limit <= the feed-in price of the interval. The
        market applies it; the home applies it too for its own curve orders, so
        a retail quantity reported for any other order is not delivered.
        Orders the home does not know (other policies) count as executable.
        """
        book = self.sent_orders.get(iv)
        if book is None:
            return np.ones(len(ref_id))
        ids, ok = book
        if not len(ids):
            return np.ones(len(ref_id))
        pos = np.minimum(np.searchsorted(ids, ref_id), len(ids) - 1)
        return np.where(ids[pos] == ref_id, ok[pos], True).astype(float)

    def _note_reference_price(self, k: int, t_s: int) -> None:
        """Known price of interval ``k``: mean local price of its RESULTs, else the retail price."""
        local = self.local_prices.get(t_s)
        self.ref_prices.append(float(np.mean(local)) if local else float(self.price[k]))

    def _p_ref(self) -> float:
        """Trailing 24 h mean of the known reference prices [EUR/MWh]."""
        per_day = max(1, 86400 // self.step_s)
        return float(np.mean(self.ref_prices[-per_day:]))

    def _messages(self, k: int, t_s: int) -> np.ndarray:
        cfg, policy = self.cfg, self.policy
        offers = policy.offers
        if offers is None and not policy.curve:
            return msgs.empty(0)
        send_ms = t_s * 1000
        parts = []
        if cfg.send_meter_readings and k > 0:
            parts.append(hems.build_meter(self.last_import, self.last_export, self.sender, self.bus32,
                                          t_s - self.step_s, send_ms, self.counter))
        if policy.curve:
            parts.append(self._curve_orders(k, t_s, send_ms))
            return msgs.concat(parts)
        net_f, bat_f = self._forecast(k)
        b = cfg.battery
        ch, dis = battery_limits(self.bat_soc, self.bat_e_min, self.bat_e_max, self.bat_p_max,
                                 b.eta_charge, b.eta_discharge, b.self_discharge_per_h, self.dt_h)
        recv = msgs.MARKET if cfg.aggregator is None else msgs.AGGREGATOR_BASE - cfg.aggregator
        parts.append(offers(hems.OfferInput(
            net_f, bat_f, ch, dis, self.dt_h, self.sender, self.bus32, t_s + self.step_s, send_ms,
            self._price(k + 1), self.feed_in[k + 1], cfg.flex_price_eur_per_mwh, recv, self.counter)))
        return msgs.concat(parts)

    def _curve_orders(self, k: int, t_s: int, send_ms: int) -> np.ndarray:
        """Bid curves of interval ``k+1`` as BID / OFFER messages; the curve is kept for dispatch."""
        curve = bidding.build_curve(self._flex_state(k), self.factors)
        steps = bidding.order_steps(curve)
        n_sent = np.bincount(steps.home, minlength=self.pop.n)
        iv = t_s + self.step_s
        self.curves[iv] = (curve, n_sent)
        out = bidding.build_curve_orders(steps, self.sender, self.bus32, iv, send_ms, self.counter)
        lim, buy = out["price_eur_per_mwh"], out["side"] > 0
        retail = self._price(k + 1)
        ok = np.where(buy, lim >= (retail if np.ndim(retail) == 0 else retail[steps.home]), lim <= self.feed_in[k + 1])
        order = np.argsort(out["msg_id"])
        self.sent_orders[iv] = (out["msg_id"][order], ok[order])
        return out

    def _flex_state(self, k: int) -> bidding.FlexState:
        """Devices' state for interval ``k+1``, from the state after interval ``k`` (no future knowledge
        beyond the configured base-load / PV forecast)."""
        cfg, p, dt = self.cfg, self.pop, self.dt_h
        t_next = (k + 1) * self.step_s
        base, pv = self._forecast_base_pv(k)
        # EV: the session state at the next interval start (arrivals lose their trip energy)
        plugged, dep_s, trip = session_state(self.sessions, t_next)
        plugged &= p.has_ev
        soc = np.where(plugged & ~self.ev_prev_plugged, np.maximum(self.ev_soc - trip, 0.0), self.ev_soc)
        e = cfg.ev
        remaining_h = (dep_s - t_next) / 3600.0
        ev_must, ev_max, _ = ev_bounds(soc, self.ev_target, self.ev_e_min, p.ev_p_mw, e.efficiency,
                                       remaining_h, dt, plugged, e.mode)
        need_h = np.divide(np.maximum(self.ev_target - soc, 0.0), e.efficiency * p.ev_p_mw,
                           out=np.zeros(p.n), where=p.ev_p_mw > 0)
        slack_h = np.where(plugged, remaining_h - need_h, np.inf)
        # heat pump: from the indoor temperature now and the next interval's outdoor temperature
        hp = cfg.heat_pump
        t_out = self.t_out[k + 1]
        cop = cop_ashp(t_out, hp.sink, hp.cop_correction)
        q_of = lambda target: np.minimum(heat_to_reach(self.t_in, target, t_out, self.gains, p.hp_h_mw_per_k,
                                                       p.hp_c_mwh_per_k, dt), self.hp_q_max)
        band = max(hp.comfort_high_c - hp.comfort_low_c, 1e-9)
        band_pos = np.where(p.has_hp, (self.t_in - hp.comfort_low_c) / band, 1.0)
        b = cfg.battery
        ch, dis = battery_limits(self.bat_soc, self.bat_e_min, self.bat_e_max, self.bat_p_max,
                                 b.eta_charge, b.eta_discharge, b.self_discharge_per_h, dt)
        span = self.bat_e_max - self.bat_e_min
        soc_frac = np.divide(self.bat_soc - self.bat_e_min, span, out=np.ones(p.n), where=span > 0)
        return bidding.FlexState(
            base, pv, ev_must, ev_max, slack_h, q_of(hp.comfort_low_c) / cop, q_of(hp.setpoint_c) / cop,
            q_of(hp.comfort_high_c) / cop, band_pos, ch, dis, soc_frac, b.eta_charge * b.eta_discharge,
            self._retail_for_curve(k + 1), float(self.feed_in[k + 1]), self._p_ref(), dt)

    def _retail_for_curve(self, k: int):
        price = self._price(k)
        return float(price) if np.ndim(price) == 0 else price

    def _forecast_base_pv(self, k: int):
        """Base load and PV power forecast for interval ``k+1`` [MW] (``households.forecast``)."""
        p, last = self.pop, self.last_partial
        if self.cfg.forecast == "perfect":
            row = profile_row(self.start, (k + 1) * self.step_s)
            return p.base_p_mw(row), np.minimum(p.pv_avail_mw(row), np.minimum(self.s_inv, self.pv_cap))
        return last["base"], last["pv"]

    def _forecast(self, k: int):
        """Net demand and battery plan of interval ``k+1`` under self-consumption [MW]."""
        p, last, b = self.pop, self.last_partial, self.cfg.battery
        if self.cfg.forecast == "perfect":
            row = profile_row(self.start, (k + 1) * self.step_s)
            base, pv = p.base_p_mw(row), np.minimum(p.pv_avail_mw(row), np.minimum(self.s_inv, self.pv_cap))
        else:
            base, pv = last["base"], last["pv"]
        residual = base + last["ev"] + last["hp"] - pv
        ch, dis = battery_limits(self.bat_soc, self.bat_e_min, self.bat_e_max, self.bat_p_max,
                                 b.eta_charge, b.eta_discharge, b.self_discharge_per_h, self.dt_h)
        bat = np.clip(-residual, -dis, ch)
        return residual + bat, bat
