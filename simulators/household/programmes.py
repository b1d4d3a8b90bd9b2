"""Incentive-based demand response: direct load control and emergency demand response.

Both act on the devices' power *after* the home energy manager decided it
(:mod:`.hems`), so they work with every policy; what they take away is the
home's reduction against its own decision of that interval (``dr_reduction_mw``).
Nothing is scripted afterwards: the rebound follows from the device physics
(a heat pump that was limited finds its building below the setpoint and
heats it back, an EV that charged less must charge more before departure).

Direct load control (``households.dlc``)
----------------------------------------
A seeded draw enrols a share of the homes. For an enrolled home an *event*
starts at an interval in which its trigger holds (any of: tariff import price
of the interval >= ``price_eur_per_mwh``; the home's bus voltage of the last
power flow < ``vm_pu_below``; the local hour is in ``hours``), provided the
trigger has been clear since the home's last event (re-armed) and fewer than
``max_events_per_day`` events started on that local calendar day. It lasts
while the trigger holds, at most ``max_duration_s``. While active, the listed
devices draw at most ``limit_frac`` of their rated electric power (heat pump:
thermal rating / COP of the interval; EV: charger rating); a home's EV may
then miss its target (``ev_unmet_mwh``), a heat pump home may leave its
comfort band (``comfort_violation_kh``). With the voltage trigger an event
ends as soon as the voltage recovers, which the limitation itself may cause.
Each event started pays ``payment_eur_per_event``.

Emergency demand response (``households.emergency_dr``)
-------------------------------------------------------
Curtailment requests for the listed periods ``[start, start + duration_s)``
(acting on the intervals that start inside them). Every home is enrolled;
per event and home a seeded draw decides compliance with probability
``compliance_rate``. A complying home reduces its heat pump power, its EV
charging power (not V2G discharging) and its battery charging power by the
event's ``reduction_frac`` (overlapping events: the largest fraction). The
reduction is paid ``payment_eur_per_mwh``, measured as programmes measure it:
with ``baseline: meter_before`` (default) against the home's mean metered
import over the ``baseline_window_s`` before its request started (the
"Meter Before / Meter After" baseline of the NAESB demand-response
measurement and verification standards, used for emergency programmes),
``max(0, baseline - metered import)`` per step of the request for a complying
home; at the start of a run the window holds the steps simulated so far (none:
no payment). ``own_decision`` pays the cut from the home's own decision of the
same step (``dr_reduction_mw``), which overstates it when a curtailed heat pump
asks for more in each later step.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import DlcConfig, EmergencyDrConfig


class DirectLoadControl:
    """Event state of direct load control for all homes.

    Parameters
    ----------
    cfg : DlcConfig
    n : int
        Number of homes.
    rng : numpy.random.Generator
        Draws the enrolment (one uniform per home).
    start : str
        ISO start of the run (local time of the event hours and days).
    """

    def __init__(self, cfg: DlcConfig, n: int, rng: np.random.Generator, start: str):
        self.cfg = cfg
        self.enrolled = rng.random(n) < cfg.share
        ts = pd.Timestamp(start)
        self.offset_s = float((ts - ts.normalize()).total_seconds())
        self.active = np.zeros(n, dtype=bool)
        self.since_s = np.zeros(n)
        self.armed = np.ones(n, dtype=bool)
        self.today = np.zeros(n, dtype=np.int64)
        self.day = None
        self.hours = np.array(cfg.trigger.hours or [], dtype=np.int64)

    def update(self, t_s: float, price_eur_per_mwh: float, vm_home_pu: np.ndarray) -> np.ndarray:
        """Advance the event state to the interval starting at ``t_s``.

        Returns
        -------
        started : np.ndarray of bool
            Homes whose event starts in this interval (``self.active`` holds
            every home with an active event).
        """
        cfg, trig_cfg = self.cfg, self.cfg.trigger
        local_s = self.offset_s + t_s
        day = int(local_s // 86400)
        if day != self.day:
            self.today[:] = 0
            self.day = day
        trig = np.zeros(len(self.enrolled), dtype=bool)
        if trig_cfg.price_eur_per_mwh is not None and price_eur_per_mwh >= trig_cfg.price_eur_per_mwh:
            trig[:] = True
        if trig_cfg.vm_pu_below is not None:
            trig |= np.asarray(vm_home_pu) < trig_cfg.vm_pu_below
        if len(self.hours) and int((local_s % 86400) // 3600) in self.hours:
            trig[:] = True
        trig &= self.enrolled
        self.active &= trig & (t_s - self.since_s < cfg.max_duration_s)
        self.armed |= ~trig
        started = trig & ~self.active & self.armed & (self.today < cfg.max_events_per_day)
        self.active |= started
        self.since_s[started] = t_s
        self.today[started] += 1
        self.armed[started] = False
        return started

    def limit(self, hp_mw: np.ndarray, ev_mw: np.ndarray, hp_rated_mw: np.ndarray, ev_rated_mw: np.ndarray):
        """Heat pump and EV power limited to ``limit_frac`` of rated where an event is active [MW]."""
        f = self.cfg.limit_frac
        if "heat_pump" in self.cfg.devices:
            hp_mw = np.where(self.active, np.minimum(hp_mw, f * hp_rated_mw), hp_mw)
        if "ev" in self.cfg.devices:
            ev_mw = np.where(self.active, np.minimum(ev_mw, f * ev_rated_mw), ev_mw)
        return hp_mw, ev_mw


class EmergencyDemandResponse:
    """Curtailment requests and the seeded compliance of every home.

    Parameters
    ----------
    cfg : EmergencyDrConfig
    n : int
        Number of homes.
    rng : numpy.random.Generator
        Draws compliance (one uniform per event and home).
    start : str
        ISO start of the run; event starts are taken relative to it.
    """

    def __init__(self, cfg: EmergencyDrConfig, n: int, rng: np.random.Generator, start: str,
                 step_s: int = 900):
        t0 = pd.Timestamp(start)
        self.start_s = np.array([(pd.Timestamp(e.start) - t0).total_seconds() for e in cfg.events])
        self.end_s = self.start_s + np.array([e.duration_s for e in cfg.events], float)
        self.frac = np.array([e.reduction_frac for e in cfg.events])
        #: per event and home: whether the home complies with that event's request
        self.complies = rng.random((len(cfg.events), n)) < cfg.compliance_rate
        self.n = n
        #: metered import power of the last ``window`` steps [MW] (meter-before baseline)
        self.window = max(1, int(cfg.baseline_window_s // step_s))
        self.history: list[np.ndarray] = []
        #: per home: frozen baseline of the running request [MW] (NaN: none)
        self.baseline_mw = np.full(n, np.nan)
        self._was_requested = np.zeros(n, dtype=bool)

    def request(self, t_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Requests acting on the interval starting at ``t_s``.

        Returns
        -------
        requested, complied : np.ndarray of bool
            Per home: a request is active; the home complies with one.
        frac : np.ndarray
            Per home: fraction of its flexible consumption it sheds [-].
        """
        on = (self.start_s <= t_s) & (t_s < self.end_s)
        if not on.any():
            z = np.zeros(self.n, dtype=bool)
            return z, z.copy(), np.zeros(self.n)
        frac = np.max(np.where(self.complies[on], self.frac[on, None], 0.0), axis=0)
        return np.ones(self.n, dtype=bool), self.complies[on].any(axis=0), frac

    def metered(self, requested: np.ndarray, complied: np.ndarray, import_mw: np.ndarray) -> np.ndarray:
        """Reduction of this step against the meter-before baseline [MW]; records the step's meter.

        ``requested`` / ``complied``: this step's request state per home;
        ``import_mw``: the home's metered import power of the step (>= 0).
        The baseline is frozen at the first step of a request, from the
        steps before it.
        """
        onset = requested & ~self._was_requested
        if onset.any():
            base = np.mean(self.history, axis=0) if self.history else np.full(self.n, np.nan)
            self.baseline_mw = np.where(onset, base, self.baseline_mw)
        self.baseline_mw = np.where(requested, self.baseline_mw, np.nan)
        self._was_requested = requested.copy()
        red = np.where(complied & np.isfinite(self.baseline_mw),
                       np.maximum(np.nan_to_num(self.baseline_mw) - import_mw, 0.0), 0.0)
        self.history.append(np.asarray(import_mw, float).copy())
        if len(self.history) > self.window:
            self.history.pop(0)
        return red

    @staticmethod
    def reduce(frac: np.ndarray, hp_mw: np.ndarray, ev_mw: np.ndarray, bat_mw: np.ndarray):
        """Heat pump, EV charging (> 0) and battery charging (> 0) power cut by ``frac`` [MW]."""
        keep = 1.0 - frac
        return (hp_mw * keep, np.where(ev_mw > 0, ev_mw * keep, ev_mw),
                np.where(bat_mw > 0, bat_mw * keep, bat_mw))
