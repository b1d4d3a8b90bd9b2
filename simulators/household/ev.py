"""Electric vehicles: seeded plug-in sessions and charging bounds (vectorised).

Mobility model
--------------
Per EV and calendar day ``d`` (including the day before the run, whose
overnight session may still be running at the start) the car is driven with
probability ``driving_day_share`` (0.6 by default, MiD 2017: about six in ten
cars are moved on an average day). On a driving day it leaves in the morning
``N(8.9 h, 3.2 h)`` truncated to [5 h, 12 h) and returns ``N(17.6 h, 3.4 h)``
truncated to [12 h, 24 h) (Qian, Zhou, Allan & Yuan 2011, IEEE Trans. Power
Syst. 26(2):802-810, fits to the US NHTS 2001; the values are the ones commonly
quoted from that paper, not re-checked against it). On other days it stays
plugged in: the session that began on the last driving day lasts until the
next one's departure. The distance of a driving day is lognormal with shape
``distance_lognorm_sigma`` (0.88, Qian et al. 2011) and capped at 400 km, its
location chosen so that the mean over *all* days (driving or not) is
``mean_daily_km``: 39 km per car and day, the MiD 2017 *mean* (Nobis &
Kuhnimhof 2018, MiD Ergebnisbericht, infas/DLR for BMVI), i.e. 14,200 km a
year, within the 13,000-15,000 km per car and year of KBA "Verkehr in
Kilometern" (2017-2019). With the default share the mean distance of a driving
day is 65 km.

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
from scipy.optimize import brentq
from scipy.stats import norm, truncnorm

#: Daily distance cap [km] (keeps one trip within a day's reach; modelling choice).
CAP_KM = 400.0


@dataclass
class Sessions:
    """Plug-in sessions, shape ``[n_days, n_ev]``, times in s since run start."""

    arrival_s: np.ndarray
    departure_s: np.ndarray
    trip_mwh: np.ndarray
    day0_offset_s: float
    #: last non-empty row before each row (the session still running on a day without driving)
    prev_row: np.ndarray
    #: distance driven on the day that ends with each session (0 on days without driving) [km]
    day_km: np.ndarray


def _tn(rng, mean, std, low, high, size):
    if std == 0:
        return np.full(size, float(np.clip(mean, low, high - 1e-9)))
    a, b = (low - mean) / std, (high - mean) / std
    return truncnorm.rvs(a, b, loc=mean, scale=std, size=size, random_state=rng)


def lognorm_mu_for_capped_mean(mean_km: float, sigma: float, cap_km: float = CAP_KM) -> float:
    """Location ``mu`` of a lognormal whose mean after capping at ``cap_km`` is ``mean_km``.

    ``E[min(X, c)] = exp(mu + s^2/2) Phi((ln c - mu - s^2)/s) + c (1 - Phi((ln c - mu)/s))``.
    """
    if mean_km <= 0:
        return -np.inf
    if sigma == 0:
        return float(np.log(min(mean_km, cap_km)))

    def capped_mean(mu: float) -> float:
        lc = np.log(cap_km)
        return (np.exp(mu + sigma**2 / 2) * norm.cdf((lc - mu - sigma**2) / sigma)
                + cap_km * norm.sf((lc - mu) / sigma)) - mean_km

    return float(brentq(capped_mean, -20.0, np.log(cap_km) + 10 * sigma))


def draw_sessions(cfg, n_ev: int, start_offset_s: float, duration_s: float,
                  rng: np.random.Generator) -> Sessions:
    """Draw sessions for days ``-1 .. ceil((offset + duration)/1 day)``.

    Row ``r`` is the session that begins when the car comes home on day
    ``r - 1`` (relative to the run's first day); rows of days without driving
    are empty (``arrival = departure = inf``) and ``prev_row`` points to the
    session still running then.

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
    share = cfg.driving_day_share
    mu = lognorm_mu_for_capped_mean(cfg.mean_daily_km / share if share > 0 else 0.0,
                                    cfg.distance_lognorm_sigma)
    km = np.minimum(rng.lognormal(mu, cfg.distance_lognorm_sigma, size), CAP_KM)
    drives = rng.random(size) < share
    drives[0] = True  # the session running at the start: the car came home the day before
    day_start = (np.arange(n_days) - 1)[:, None] * 86400.0 - start_offset_s
    # the car leaves on the morning of the next driving day; the last rows, with no
    # driving day drawn after them, leave on a virtual driving day after the horizon
    nxt = np.full(size, n_days, dtype=np.int64)
    for r in range(n_days - 2, -1, -1):
        nxt[r] = np.where(drives[r + 1], r + 1, nxt[r + 1])
    dep_all = np.vstack([day_start, day_start[-1:] + 86400.0]) + np.vstack([dep_h, dep_h[-1:]]) * 3600.0
    cols = np.arange(n_ev)
    departure = dep_all[nxt, cols]
    arrival = np.where(drives, day_start + arr_h * 3600.0, np.inf)
    departure = np.where(drives, departure, np.inf)
    trip = np.where(drives, km * cfg.consumption_kwh_per_km * 1e-3, 0.0)
    prev = np.maximum.accumulate(np.where(drives, np.arange(n_days)[:, None], 0), axis=0)
    prev_row = np.vstack([np.zeros((1, n_ev), dtype=np.int64), prev[:-1]])
    return Sessions(arrival, departure, trip, start_offset_s, prev_row, km * drives)


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
    last = s.arrival_s.shape[0] - 1
    d = min(max(int(np.floor((t_s + s.day0_offset_s) / 86400.0)) + 1, 0), last)  # row of today's session
    cols = np.arange(s.arrival_s.shape[1])
    prev = s.prev_row[d]
    in_prev = (s.arrival_s[prev, cols] <= t_s) & (t_s < s.departure_s[prev, cols])
    in_today = (s.arrival_s[d] <= t_s) & (t_s < s.departure_s[d])
    row = np.where(in_today, d, prev)
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
