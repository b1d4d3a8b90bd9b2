"""The household model: all homes of a grid stepped together in arrays.

:class:`HouseholdModel` owns the device states and runs one regular step per
interval ``[T, T + step)``; see :mod:`.hems` for the policies and messages.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from simulators.common import messages as msgs
from simulators.common.netdata import profile_row
from simulators.common.tariffs import TariffConfig, feed_in_price_eur_per_mwh, import_price_eur_per_mwh

from . import hems, weather
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
        self.t_out = weather.outdoor_temp_c(cfg.weather_file, rows) if p.has_hp.any() else np.full(len(rows), 10.0)
        self.s_inv = p.pv_mw * cfg.pv.inverter_kva_per_kwp
        self.pv_cap = np.full(n, np.inf)
        t_s = np.arange(n_steps + 2) * self.step_s
        self.price = import_price_eur_per_mwh(self.tariff, start, t_s)
        self.feed_in = feed_in_price_eur_per_mwh(self.tariff, start, t_s)
        self.price_mean = float(self.price[:n_steps].mean()) if n_steps else 0.0
        self.vm_pu = np.ones(len(p.bus_index))
        self.sender = np.arange(n, dtype=np.int32)
        self.bus32 = p.bus.astype(np.int32)
        self.counter = np.zeros(n, dtype=np.int64)
        self.results: dict[int, np.ndarray] = {}
        self.activations: dict[int, np.ndarray] = {}
        self.totals = {k: np.zeros(n) for k in
                       ("energy_import_mwh", "energy_export_mwh", "bill_eur", "ev_unmet_mwh", "comfort_violation_kh")}
        self.last_import = np.zeros(n)
        self.last_export = np.zeros(n)
        self.last = None
        self._setpoints: list[np.ndarray] = []

    # ------------------------------------------------------------------ inputs
    def receive(self, batch: np.ndarray) -> None:
        """Store results, activations and setpoints addressed to households."""
        n = self.pop.n
        batch = batch[(batch["receiver"] >= 0) & (batch["receiver"] < n)]
        for kind, store in ((msgs.Kind.RESULT, self.results), (msgs.Kind.ACTIVATION, self.activations)):
            sel = batch[batch["kind"] == kind]
            for iv in np.unique(sel["interval_s"]):
                part = sel[sel["interval_s"] == iv]
                arr = store.setdefault(int(iv), np.full(n, np.nan))
                vals = np.zeros(n)
                np.add.at(vals, part["receiver"], part["side"] * part["quantity_mwh"])
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
        ev_p, hp_p, bat_req = hems.POLICIES[cfg.policy].dispatch(hems.DispatchInput(
            base_p, pv_p, ev_must, ev_max, ev_min, hp_set, hp_hi, hp_lo, ch_max, dis_max,
            self.price[k], self.price_mean, dt, self.results.pop(t_s, None), self.activations.pop(t_s, None)))
        self._drop_stale(t_s)
        bat_p, self.bat_soc = battery_step(self.bat_soc, bat_req, self.bat_e_min, self.bat_e_max, self.bat_p_max,
                                           cfg.battery.eta_charge, cfg.battery.eta_discharge,
                                           cfg.battery.self_discharge_per_h, dt)
        ev_p = np.clip(ev_p, ev_min, ev_max)
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
        tot["energy_import_mwh"] += imp
        tot["energy_export_mwh"] += exp_
        tot["bill_eur"] += imp * self.price[k] - exp_ * self.feed_in[k]
        self.last_partial = {"base": base_p, "pv": pv_p, "ev": ev_p, "hp": hp_p}
        out_msgs = self._messages(k, t_s)
        self.last_import, self.last_export = imp, exp_
        out = {
            "p_mw": net_p, "q_mvar": net_q, "pv_p_mw": pv_p, "pv_curtailed_mw": pv_curt,
            "battery_p_mw": bat_p, "battery_soc_mwh": self.bat_soc.copy(), "ev_p_mw": ev_p,
            "ev_soc_mwh": self.ev_soc.copy(), "hp_p_mw": hp_p, "indoor_temp_c": self.t_in.copy(),
            "bus_p_mw": p.to_bus(net_p), "bus_q_mvar": p.to_bus(net_q),
        }
        out.update({key: v.copy() for key, v in tot.items()})
        self.last = out
        return out, out_msgs

    # ------------------------------------------------------------------ helpers
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
        for store in (self.results, self.activations):
            for iv in [iv for iv in store if iv <= t_s]:
                del store[iv]

    def _messages(self, k: int, t_s: int) -> np.ndarray:
        cfg, offers = self.cfg, hems.POLICIES[self.cfg.policy].offers
        if offers is None:
            return msgs.empty(0)
        send_ms = t_s * 1000
        parts = []
        if cfg.send_meter_readings and k > 0:
            parts.append(hems.build_meter(self.last_import, self.last_export, self.sender, self.bus32,
                                          t_s - self.step_s, send_ms, self.counter))
        net_f, bat_f = self._forecast(k)
        b = cfg.battery
        ch, dis = battery_limits(self.bat_soc, self.bat_e_min, self.bat_e_max, self.bat_p_max,
                                 b.eta_charge, b.eta_discharge, b.self_discharge_per_h, self.dt_h)
        recv = msgs.MARKET if cfg.aggregator is None else msgs.AGGREGATOR_BASE - cfg.aggregator
        parts.append(offers(hems.OfferInput(
            net_f, bat_f, ch, dis, self.dt_h, self.sender, self.bus32, t_s + self.step_s, send_ms,
            self.price[k + 1], self.feed_in[k + 1], cfg.flex_price_eur_per_mwh, recv, self.counter)))
        return msgs.concat(parts)

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
