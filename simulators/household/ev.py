"""Electric vehicles: seeded plug-in sessions and charging bounds (vectorised).

Mobility model
--------------
Per EV and calendar day ``d`` (including the day before the run, whose
overnight session may still be running at the start): arrival home
``N(17.6 h, 3.4 h)`` truncated to [12 h, 24 h), departure the next morning
``N(8.9 h, 3.2 h)`` truncated to [5 h, 12 h), daily distance lognormal with
``mu = 3.2, sigma = 0.88`` in miles (median 24.5 mi = 39 km). These are the fits
to the US National Household Travel Survey 2001 by Qian, Zhou, Allan & Yuan
2011 (IEEE Trans. Power Syst. 26(2):802-810); the median daily distance is
close to the 39 km/day per car of the German MiD 2017 (Mobilitaet in
Deutschland, Ergebnisbericht, infas/BMVI 2018). Caveat: these parameter
values are the ones commonly quoted from Qian et al. 2011; they have not been
re-checked against the paper itself, so verify them before publishing results
that depend on EV timing. Truncation keeps sessions from overlapping; distance
is capped at 400 km.

Sessions are quantised to steps: the EV is plugged during interval
``[t, t+dt)`` when ``arrival <= t < departure``. The day's driving energy is
taken from the battery when the EV plugs in (clipped at empty; what could not
be driven counts as unmet); energy missing to the target at departure is
recorded as unmet [MWh].

Battery energy balance (one efficiency ``eta`` for both directions)::

    e[k+1] = e[k] + eta * p_ch * dt - p_dis * dt / eta   (- trip energy on arrival)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import truncnorm

MILE_KM = 1.609344


@dataclass
class Sessions:
    """Plug-in sessions, shape ``[n_days, n_ev]``, times in s since run start."""

    arrival_s: np.ndarray
    departure_s: np.ndarray
    trip_mwh: np.ndarray
    day0_offset_s: float


def _tn(rng, mean, std, low, high, size):
    if std == 0:
        return np.full(size, float(np.clip(mean, low, high - 1e-9)))
    a, b = (low - mean) / std, (high - mean) / std
    return truncnorm.rvs(a, b, loc=mean, scale=std, size=size, random_state=rng)


def draw_sessions(cfg, n_ev: int, start_offset_s: float, duration_s: float,
                  rng: np.random.Generator) -> Sessions:
    """Draw sessions for days ``-1 .. ceil((offset + duration)/1 day)``.

    Parameters
    ----------
    cfg : EvConfig
    start_offset_s : float
        Seconds from midnight to the run start [s].
    """
    n_days = int(np.ceil((start_offset_s + duration_s) / 86400.0)) + 2
    size = (n_days, n_ev)
    arr_h = _tn(rng, cfg.arrival_mean_h, cfg.arrival_std_h, 12.0, 24.0, size)
    dep_h = _tn(rng, cfg.departure_mean_h, cfg.departure_std_h, 5.0, 12.0, size)
    miles = np.minimum(rng.lognormal(cfg.distance_lognorm_mu, cfg.distance_lognorm_sigma, size),
                       400.0 / MILE_KM)
    day_start = (np.arange(n_days) - 1)[:, None] * 86400.0 - start_offset_s
    arrival = day_start + arr_h * 3600.0
    departure = day_start + 86400.0 + dep_h * 3600.0
    trip = miles * MILE_KM * cfg.consumption_kwh_per_km * 1e-3
    return Sessions(arrival, departure, trip, start_offset_s)


def session_state(s: Sessions, t_s: float):
    """Which EVs are plugged during the interval starting at ``t_s``.

    Returns
    -------
    plugged : bool array
    departure_s : array
        Departure time of the current session (meaningful where plugged) [s].
    trip_mwh : array
        Driving energy of the trip that ended with the current session [MWh].
    """
    d = int(np.floor((t_s + s.day0_offset_s) / 86400.0)) + 1  # row of today's session
    cols = np.arange(s.arrival_s.shape[1])
    rows = []
    for r in (d - 1, d):
        r = min(max(r, 0), s.arrival_s.shape[0] - 1)
        rows.append(r)
    in_prev = (s.arrival_s[rows[0]] <= t_s) & (t_s < s.departure_s[rows[0]])
    in_today = (s.arrival_s[rows[1]] <= t_s) & (t_s < s.departure_s[rows[1]])
    row = np.where(in_today, rows[1], rows[0])
    plugged = in_prev | in_today
    return plugged, s.departure_s[row, cols], s.trip_mwh[row, cols]


def ev_bounds(e_mwh, target_mwh, e_min_v2g_mwh, p_max_mw, eta, remaining_h, dt_h, plugged, mode: str):
    """Power bounds of EV charging for one step (consumer reference) [MW].

    Returns
    -------
    p_must, p_may_max, p_may_min : np.ndarray
        ``p_must``: power the EV draws without HEMS (uncontrolled: as fast as
        possible; smart/v2g: the least that still meets the target by
        departure, "as late as possible"); ``[p_may_min, p_may_max]`` the range
        a HEMS may choose from (``p_may_min < 0`` only for v2g).
    """
    need = np.maximum(target_mwh - e_mwh, 0.0)
    p_full = np.minimum(p_max_mw, need / (eta * dt_h))
    later = eta * p_max_mw * np.maximum(remaining_h - dt_h, 0.0)  # energy chargeable after this step
    p_min_needed = np.clip((need - later) / (eta * dt_h), 0.0, p_max_mw)
    if mode == "uncontrolled":
        must = p_full
        lo = p_full
    else:
        must = p_min_needed
        lo = p_min_needed
        if mode == "v2g":
            # discharge x*dt/eta must leave the target reachable and e >= e_min_v2g
            slack = later - need  # [MWh] extra energy that could still be charged later
            x_by_target = np.maximum(slack, 0.0) * eta / dt_h
            x_by_soc = np.maximum(e_mwh - e_min_v2g_mwh, 0.0) * eta / dt_h
            lo = np.where(p_min_needed > 0, p_min_needed, -np.minimum(p_max_mw, np.minimum(x_by_target, x_by_soc)))
    z = np.zeros_like(e_mwh)
    return np.where(plugged, must, z), np.where(plugged, p_full, z), np.where(plugged, lo, z)
