"""EV mobility draws against published German figures (MiD 2017, KBA)."""

from __future__ import annotations

import numpy as np

from simulators.household.ev import CAP_KM, draw_sessions, lognorm_mu_for_capped_mean, session_state
from simulators.household.schema import EvConfig


def _year(n_ev=400, seed=5, **over):
    return draw_sessions(EvConfig(**over), n_ev, 0.0, 365 * 86400.0, np.random.default_rng(seed))


def test_mean_daily_distance_and_share_of_driving_days():
    s = _year()
    km = s.day_km[1:-1]  # calendar days of the run (row 0 is the day before)
    # MiD 2017 (Nobis & Kuhnimhof 2018): 39 km per car and day, a mean over all days.
    # Tolerance +-1.5 km: standard error of 146,000 car-days with sd ~60 km is ~0.16 km.
    assert abs(km.mean() - 39.0) < 1.5, km.mean()
    # MiD 2017: about 60 % of cars are driven on an average day; +-0.02 (binomial se 0.0013).
    assert abs((km > 0).mean() - 0.6) < 0.02
    # KBA "Verkehr in Kilometern" 2017-2019: 13,000-15,000 km per passenger car and year.
    assert 13_000 <= km.mean() * 365 <= 15_000
    # Not every EV drives every day (the old model drove all of them daily).
    assert (km == 0).any(axis=0).all()


def test_mean_of_driving_days_not_the_median_is_matched():
    # mean of a driving day = 39/0.6 = 65 km; the lognormal's median is lower (right skew).
    km = _year().day_km[1:-1]
    d = km[km > 0]
    assert abs(d.mean() - 65.0) < 2.0
    assert np.median(d) < 0.8 * d.mean()


def test_capped_lognormal_location_hits_the_mean():
    # hand check of the closed form: without a binding cap, mu = ln(mean) - sigma^2/2
    assert abs(lognorm_mu_for_capped_mean(10.0, 0.5, cap_km=1e9) - (np.log(10.0) - 0.125)) < 1e-9
    # with the cap: Monte-Carlo mean of min(X, 400) within 0.5 % (1e6 draws, se ~0.1 %)
    mu = lognorm_mu_for_capped_mean(65.0, 0.88)
    x = np.minimum(np.random.default_rng(0).lognormal(mu, 0.88, 1_000_000), CAP_KM)
    assert abs(x.mean() / 65.0 - 1.0) < 0.005


def test_car_stays_plugged_on_days_without_driving():
    s = _year(n_ev=50, driving_day_share=0.3)
    rows = np.arange(1, s.day_km.shape[0] - 1)
    for ev in range(5):
        idle = rows[s.day_km[rows, ev] == 0]
        # on a day without driving the car is plugged in at noon (its home session runs on)
        for r in idle[:10]:
            t_noon = (r - 1) * 86400.0 + 12 * 3600.0
            assert session_state(s, t_noon)[0][ev]


def test_no_driving_means_always_plugged():
    s = _year(n_ev=20, driving_day_share=0.0)
    plugged = np.array([session_state(s, k * 3600.0)[0] for k in range(0, 365 * 24, 7)])
    assert plugged.all()
    assert np.all(s.day_km[1:] == 0.0)
