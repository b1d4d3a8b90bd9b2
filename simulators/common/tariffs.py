"""The retail tariff: one definition per scenario, used by every simulator.

The scenario's top-level ``tariff:`` section (:class:`TariffConfig`) is the
only place retail prices are defined. The household simulator bills and bids
with it, the market operator uses it as its retail fallback (the retail
backstop of unmatched orders), for settlement and for the tariff-only
baseline bill; both receive the same validated section and price it with the
functions below, so a contradiction between them cannot be configured.

The retailer serves demand at the *import* price and buys injected energy at
the *feed-in* price. Kinds:

* ``flat``: one import price all day (``retail_eur_per_mwh``).
* ``tou``: time of use; ``tou_peak_eur_per_mwh`` in the local hours
  ``[tou_peak_start_h, tou_peak_end_h)``, ``tou_offpeak_eur_per_mwh`` otherwise.
* ``rtp``: real-time pass-through; an hourly wholesale price curve
  (24 values, repeated every day) plus a fixed adder for network charges,
  taxes and levies.
* ``cpp``: critical-peak pricing; the flat ``retail_eur_per_mwh`` except in the
  local hours ``[cpp_start_h, cpp_end_h)`` of a limited number of *event days*
  per year, when ``cpp_event_price_eur_per_mwh`` applies. Event days are the
  explicit ``cpp_event_days`` (ISO dates) or, if none are given,
  ``cpp_events_per_year`` weekdays drawn without replacement from the months
  ``cpp_months`` of each year with the seeded generator ``cpp_seed``
  (:func:`cpp_event_days`). Events are announced day-ahead: the home energy
  managers bid 5-15 min ahead, so they always know an event when they bid.
* ``ibp``: increasing block prices; the import price of a kWh depends on how
  much the home has already imported from the retailer in the billing period
  (``ibp_period``: calendar ``month`` or ``year`` in local time of ``start``):
  ``ibp_prices_eur_per_mwh[i]`` up to the upper bound ``ibp_tiers_kwh[i]``, the
  last price above the last bound. Prices must rise strictly, one more price
  than bounds. The energy counted is the retail import residual
  (:func:`retail_residual_mwh`: local trades are not retail energy). The bill
  integrates the tier prices over ``[cumulative, cumulative + import]`` per home
  (:class:`BlockBiller`, the one implementation used by the households' own bill
  and the market's settlement); the cumulative resets at each period boundary.
  At ``start`` every home's counter holds ``ibp_start_kwh`` (the retail import
  before ``start`` in its billing period, the same for every home; default 0, an
  empty counter; a run that starts mid-period sets it, labelled as an
  assumption, since the homes' earlier import is not simulated).
  :func:`import_price_eur_per_mwh` returns the first-tier price (the published
  base price; the market's clearing context and provisional bill at clearing,
  the ``tariff`` policy's 24 h reference and the bid curves' trailing reference
  price use it). The price of a retail purchase is the *marginal* tier price of
  the next kWh given the home's own cumulative import
  (:func:`marginal_import_price_eur_per_mwh`, the one rule): each home's energy
  manager sees it for the next interval
  (:meth:`BlockBiller.marginal_eur_per_mwh`, from the home's own meter), and the
  market's retail backstop compares each home's BID with it, from the cumulative
  residual it knows (settled meter readings plus the scheduled residual of
  intervals not metered yet, ``Ledger.block_import_mwh`` of the market; a home
  that deviated from its schedule near a tier edge may see another tier).
  Since the 24 h reference is the first-tier price, a home in the first tier
  sees price = reference (self-consumption) and a home above it sees a higher
  price (heat pump at the low end of its comfort band, battery not charged from
  the grid, EV at its must-charge). Within a tier the marginal price is the same
  in every interval, so shifting load in time earns nothing; only using less
  does.

Feed-in is a fixed feed-in tariff for all kinds (net metering is the special
case ``feed_in = import price``, set it explicitly).

Defaults are 2016 figures, the year of the SimBench profiles every run uses:
287 EUR/MWh import, the average German household price 2016 of 28.7 ct/kWh
(BDEW Strompreisanalyse 2016), and 123.1 EUR/MWh feed-in, the EEG 2016 rate
for rooftop PV <= 10 kWp (12.31 ct/kWh, BNetzA 2016). The time-of-use prices
350 / 220 EUR/MWh and the peak hours 17-21 h are an illustrative scenario
choice (an assumption, not a published tariff). Critical-peak defaults: 12 event
days a year (US critical-peak tariffs allow 9-15 event days a season, e.g.
PG&E Peak Day Pricing up to 15), in the German winter peak months December to
February, 17-21 h, at 1,000 EUR/MWh, about 3.5 times the flat price; the
experiments surveyed by Faruqui & Sergici (2010, J. Regul. Econ. 38:193-225)
used critical-peak to off-peak ratios of about 3 to 10. The German choices
(months, price) are assumptions. Block-price defaults: monthly tiers at 240
and 400 kWh with price ratios 1 : 1.102 : 1.614, the residential tiered tariff
of Beijing since 2012 (0.4883 / 0.5383 / 0.7883 CNY/kWh for 0-240 / 241-400 /
above 400 kWh a month, NDRC tiered-pricing reform), applied to the German 2016
flat price: 287.0 / 316.4 / 463.3 EUR/MWh (transferring the ratios to German
prices is an assumption). Monthly tiers are also used by the California
investor-owned utilities (baseline allowance per month).
"""

from __future__ import annotations

from functools import lru_cache

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, field_validator, model_validator

from simulators.common.schema import STRICT

#: Where the tariff is defined; named by the errors that reject the old keys.
TARIFF_SECTION = "tariff"


class TariffConfig(BaseModel):
    """The scenario section ``tariff`` (frozen; unknown keys are rejected).

    Prices in [EUR/MWh], hours in local time of ``start`` [h].
    """

    model_config = STRICT
    #: flat, time of use, real-time pass-through, critical peak, increasing block prices (module docstring).
    kind: Literal["flat", "tou", "rtp", "cpp", "ibp"] = "flat"
    #: Import price [EUR/MWh] (flat, cpp outside events); German household average 2016 (BDEW).
    retail_eur_per_mwh: float = Field(287.0, ge=0)
    #: Feed-in price [EUR/MWh], every kind; EEG 2016 rate for rooftop PV <= 10 kWp (BNetzA).
    feed_in_eur_per_mwh: float = Field(123.1, ge=0)
    #: tou: import price in the peak hours [EUR/MWh] (illustrative assumption).
    tou_peak_eur_per_mwh: float = Field(350.0, ge=0)
    #: tou: import price outside the peak hours [EUR/MWh] (illustrative assumption).
    tou_offpeak_eur_per_mwh: float = Field(220.0, ge=0)
    #: tou: first peak hour, local time [h].
    tou_peak_start_h: int = Field(17, ge=0, le=23)
    #: tou: end of the peak hours, exclusive [h].
    tou_peak_end_h: int = Field(21, ge=0, le=24)
    #: rtp: 24 hourly wholesale prices, repeated every day [EUR/MWh].
    rtp_hourly_wholesale_eur_per_mwh: tuple[float, ...] | None = None
    #: rtp: fixed adder for network charges, taxes and levies [EUR/MWh].
    rtp_adder_eur_per_mwh: float = 0.0
    #: cpp: import price during an event [EUR/MWh] (about 3.5 x flat; Faruqui & Sergici 2010 ratios 3-10).
    cpp_event_price_eur_per_mwh: float = Field(1000.0, ge=0)
    #: cpp: first event hour, local time [h].
    cpp_start_h: int = Field(17, ge=0, le=23)
    #: cpp: end of the event hours, exclusive [h].
    cpp_end_h: int = Field(21, ge=1, le=24)
    #: cpp: event days drawn per year (US programmes allow 9-15 a season, e.g. PG&E Peak Day Pricing).
    cpp_events_per_year: int = Field(12, ge=0, le=366)
    #: cpp: months the event days are drawn from (German winter peak; assumption).
    cpp_months: tuple[int, ...] = (1, 2, 12)
    #: cpp: explicit event days (ISO dates) instead of the draw.
    cpp_event_days: tuple[str, ...] | None = None
    #: cpp: seed of the event-day draw.
    cpp_seed: int = Field(0, ge=0)
    #: ibp: billing period over which imports are counted (local calendar month or year).
    ibp_period: Literal["month", "year"] = "month"
    #: ibp: upper bounds of the tiers [kWh per period] (Beijing tiered tariff since 2012).
    ibp_tiers_kwh: tuple[float, ...] = (240.0, 400.0)
    #: ibp: price of each tier, one more than bounds, rising [EUR/MWh] (Beijing ratios on the German price).
    ibp_prices_eur_per_mwh: tuple[float, ...] = (287.0, 316.4, 463.3)
    #: ibp: every home's import already counted at ``start`` in its period [kWh] (assumption; 0: empty).
    ibp_start_kwh: float = Field(0.0, ge=0, allow_inf_nan=False)

    @field_validator("ibp_tiers_kwh")
    @classmethod
    def _tiers_increase(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or not all(np.isfinite(b) and b > 0 for b in v) or any(b1 <= b0 for b0, b1 in zip(v, v[1:])):
            raise ValueError("at least one upper bound [kWh], finite, > 0 and strictly increasing")
        return v

    @field_validator("ibp_prices_eur_per_mwh")
    @classmethod
    def _prices_increase(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) < 2 or not all(np.isfinite(p) and p >= 0 for p in v) or any(p1 <= p0 for p0, p1 in zip(v, v[1:])):
            raise ValueError("at least two prices [EUR/MWh], finite, >= 0 and strictly increasing")
        return v

    @model_validator(mode="after")
    def _kind_params(self) -> "TariffConfig":
        if self.kind == "rtp":
            c = self.rtp_hourly_wholesale_eur_per_mwh
            if c is None or len(c) != 24:
                raise ValueError(
                    "tariff.rtp_hourly_wholesale_eur_per_mwh: kind='rtp' needs 24 hourly prices "
                    f"(got {None if c is None else len(c)} values)"
                )
        if self.kind == "cpp":
            if not self.cpp_start_h < self.cpp_end_h:
                raise ValueError(f"tariff.cpp_end_h={self.cpp_end_h} must be after cpp_start_h={self.cpp_start_h}")
            bad = [m for m in self.cpp_months if not 1 <= m <= 12]
            if bad or not self.cpp_months:
                raise ValueError(f"tariff.cpp_months={list(self.cpp_months)!r}: months 1-12, at least one")
            for d in self.cpp_event_days or ():
                try:
                    pd.Timestamp(d)
                except ValueError:
                    raise ValueError(f"tariff.cpp_event_days: {d!r} is not an ISO date (YYYY-MM-DD)") from None
        if self.kind == "ibp" and len(self.ibp_prices_eur_per_mwh) != len(self.ibp_tiers_kwh) + 1:
            raise ValueError(f"tariff.ibp_prices_eur_per_mwh: needs one price per tier, "
                             f"len(ibp_tiers_kwh) + 1 = {len(self.ibp_tiers_kwh) + 1} values "
                             f"(got {len(self.ibp_prices_eur_per_mwh)})")
        return self


def _as_dict(tariff) -> dict:
    return tariff.model_dump() if isinstance(tariff, BaseModel) else dict(tariff)


def import_price_eur_per_mwh(tariff, start: str, interval_s: np.ndarray | int) -> np.ndarray:
    """Retail import price for delivery intervals [EUR/MWh].

    Parameters
    ----------
    tariff : TariffConfig or dict
        The scenario's ``tariff`` section (validated).
    start : str
        ISO 8601 start of the run (local time of the tariff).
    interval_s : int or array of int
        Interval starts [s since ``start``].
    """
    tariff = _as_dict(tariff)
    t = np.atleast_1d(np.asarray(interval_s, dtype=np.int64))
    kind = tariff.get("kind", "flat")
    if kind == "flat":
        return np.full(len(t), float(tariff["retail_eur_per_mwh"]))
    ts = pd.Timestamp(start) + pd.to_timedelta(t, unit="s")
    hour = np.asarray(ts.hour, dtype=np.int64)
    if kind == "tou":
        a, b = int(tariff["tou_peak_start_h"]), int(tariff["tou_peak_end_h"])
        peak = (hour >= a) & (hour < b) if a <= b else (hour >= a) | (hour < b)
        return np.where(peak, float(tariff["tou_peak_eur_per_mwh"]), float(tariff["tou_offpeak_eur_per_mwh"]))
    if kind == "rtp":
        curve = np.asarray(tariff["rtp_hourly_wholesale_eur_per_mwh"], dtype=float)
        return curve[hour] + float(tariff["rtp_adder_eur_per_mwh"])
    if kind == "cpp":
        day = np.asarray(ts.normalize().values.astype("datetime64[D]"))
        years = np.unique(np.asarray(ts.year))
        events = np.concatenate([_cpp_days(_cpp_key(tariff), int(y)) for y in years])
        event = np.isin(day, events) & (hour >= int(tariff["cpp_start_h"])) & (hour < int(tariff["cpp_end_h"]))
        return np.where(event, float(tariff["cpp_event_price_eur_per_mwh"]), float(tariff["retail_eur_per_mwh"]))
    if kind == "ibp":  # the first block; per home see BlockBiller.marginal_eur_per_mwh
        return np.full(len(t), float(tariff["ibp_prices_eur_per_mwh"][0]))
    raise ValueError(f"tariff kind {kind!r} unknown; allowed: flat, tou, rtp, cpp, ibp")


def _cpp_key(tariff: dict) -> tuple:
    days = tariff.get("cpp_event_days")
    return (int(tariff["cpp_events_per_year"]), tuple(int(m) for m in tariff["cpp_months"]),
            None if days is None else tuple(str(d) for d in days), int(tariff["cpp_seed"]))


@lru_cache(maxsize=64)
def _cpp_days(key: tuple, year: int) -> np.ndarray:
    n, months, explicit, seed = key
    if explicit is not None:
        return np.array(sorted(pd.Timestamp(d).date() for d in explicit), dtype="datetime64[D]")
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    cand = days[np.isin(days.month, months) & (days.dayofweek < 5)]
    rng = np.random.default_rng([seed, year])
    pick = rng.choice(len(cand), size=min(n, len(cand)), replace=False)
    return np.sort(np.asarray(cand[pick].values.astype("datetime64[D]")))


def cpp_event_days(tariff, year: int) -> list[str]:
    """Critical-peak event days of ``year`` (ISO dates) for a ``cpp`` tariff."""
    t = _as_dict(tariff)
    return [str(d) for d in _cpp_days(_cpp_key(t), int(year)) if str(d).startswith(str(year))]


def feed_in_price_eur_per_mwh(tariff, start: str, interval_s: np.ndarray | int) -> np.ndarray:
    """Feed-in remuneration for delivery intervals [EUR/MWh] (constant)."""
    tariff = _as_dict(tariff)
    t = np.atleast_1d(np.asarray(interval_s))
    return np.full(len(t), float(tariff["feed_in_eur_per_mwh"]))


def retail_residual_mwh(import_mwh, export_mwh, local_net_mwh) -> tuple[np.ndarray, np.ndarray]:
    """Energy the retailer settles once the local net position is taken out of the meter [MWh].

    The settlement rule of every bill (households and market operator alike):
    per interval and agent, local trades are paid at their trade prices and the
    retailer settles the *metered residual*. With ``L`` the local net position
    (bought minus sold locally), ``b = max(L, 0)`` and ``s = max(-L, 0)``::

        import_residual = max(import - b, 0) + max(s - export, 0)
        export_residual = max(export - s, 0) + max(b - import, 0)

    Without local trades this is exactly the meter. A seller that delivered less
    than it sold locally buys the shortfall at retail; a buyer that consumed less
    than it bought locally sells the surplus at feed-in. ``import`` and
    ``export`` are the metered energies of the whole interval (with several
    sub-steps both may be positive).

    Parameters
    ----------
    import_mwh, export_mwh : array_like
        Metered import and export of the interval, each >= 0 [MWh].
    local_net_mwh : array_like
        Local net position ``L`` [MWh], positive = net buyer.

    Returns
    -------
    (import_residual_mwh, export_residual_mwh) : tuple of numpy.ndarray
    """
    imp = np.asarray(import_mwh, dtype=float)
    exp_ = np.asarray(export_mwh, dtype=float)
    net = np.asarray(local_net_mwh, dtype=float)
    bought, sold = np.maximum(net, 0.0), np.maximum(-net, 0.0)
    imp_res = np.maximum(imp - bought, 0.0) + np.maximum(sold - exp_, 0.0)
    exp_res = np.maximum(exp_ - sold, 0.0) + np.maximum(bought - imp, 0.0)
    return imp_res, exp_res


def retail_bill_eur(import_mwh, export_mwh, local_net_mwh, retail_eur_per_mwh, feed_in_eur_per_mwh) -> np.ndarray:
    """The retailer's bill of the metered residual [EUR] (:func:`retail_residual_mwh`).

    ``retail * import_residual - feed_in * export_residual`` with the tariff
    prices of the interval (:func:`import_price_eur_per_mwh`,
    :func:`feed_in_price_eur_per_mwh`). With ``local_net_mwh = 0`` it is the
    plain meter bill ``retail * import - feed_in * export``.
    """
    imp_res, exp_res = retail_residual_mwh(import_mwh, export_mwh, local_net_mwh)
    return imp_res * np.asarray(retail_eur_per_mwh, dtype=float) - exp_res * np.asarray(feed_in_eur_per_mwh,
                                                                                       dtype=float)


def block_marginal_eur_per_mwh(cumulative_mwh, tiers_mwh, prices_eur_per_mwh) -> np.ndarray:
    """Increasing block prices: the price of the next kWh after ``cumulative_mwh`` [EUR/MWh].

    Tier ``i`` covers ``(bound[i-1], bound[i]]``; at a bound exactly the tier
    is full, so the next kWh costs the next tier's price.

    Parameters
    ----------
    cumulative_mwh : array_like
        Energy already imported in the billing period, >= 0 [MWh].
    tiers_mwh, prices_eur_per_mwh : array_like
        As :func:`block_cost_eur`.
    """
    tier = np.searchsorted(np.asarray(tiers_mwh, dtype=float), np.asarray(cumulative_mwh, dtype=float), side="right")
    return np.asarray(prices_eur_per_mwh, dtype=float)[tier]


def marginal_import_price_eur_per_mwh(tariff, start: str, interval_s: int, cumulative_mwh) -> np.ndarray:
    """Per home, the retail price of its next kWh imported in interval ``interval_s`` [EUR/MWh].

    The one rule for the price of a retail purchase (used by the home energy
    managers and the market's retail backstop): under block prices (``ibp``)
    the tier price at the home's cumulative retail import of the billing period
    (:func:`block_marginal_eur_per_mwh`); for every other kind the tariff's
    price of the interval (:func:`import_price_eur_per_mwh`), whatever the
    cumulative.

    Parameters
    ----------
    tariff : TariffConfig or dict
        The scenario's ``tariff`` section (validated).
    start : str
        ISO 8601 start of the run.
    interval_s : int
        Interval start [s since ``start``].
    cumulative_mwh : array_like
        Per home, retail import so far in the billing period of the interval [MWh].
    """
    t = _as_dict(tariff)
    cum = np.asarray(cumulative_mwh, dtype=float)
    if t.get("kind", "flat") == "ibp":
        return block_marginal_eur_per_mwh(cum, _tiers_mwh(t), t["ibp_prices_eur_per_mwh"])
    return np.full(cum.shape, float(import_price_eur_per_mwh(t, start, int(interval_s))[0]))


def _tiers_mwh(t: dict) -> np.ndarray:
    return np.asarray(t["ibp_tiers_kwh"], dtype=float) * 1e-3


def block_cost_eur(cumulative_mwh, import_mwh, tiers_mwh, prices_eur_per_mwh) -> np.ndarray:
    """Import cost under increasing block prices [EUR]: the tier prices integrated
    over ``[cumulative, cumulative + import]``.

    Parameters
    ----------
    cumulative_mwh, import_mwh : array_like
        Energy already imported in the billing period and imported now, >= 0 [MWh].
    tiers_mwh : array_like
        Upper bounds of the tiers but the last, strictly increasing [MWh].
    prices_eur_per_mwh : array_like
        One price per tier (``len(tiers_mwh) + 1``) [EUR/MWh].
    """
    c = np.asarray(cumulative_mwh, dtype=float)[..., None]
    e = c + np.asarray(import_mwh, dtype=float)[..., None]
    b = np.asarray(tiers_mwh, dtype=float)
    lo = np.concatenate([[0.0], b])
    hi = np.concatenate([b, [np.inf]])
    overlap = np.maximum(np.minimum(e, hi) - np.maximum(c, lo), 0.0)
    return overlap @ np.asarray(prices_eur_per_mwh, dtype=float)


class BlockBiller:
    """Per-home cumulative retail import of the billing periods of an ``ibp`` tariff.

    The one stateful implementation of increasing block prices: the households'
    own bill and the market's settlement each keep one and feed it the same
    retail import residuals, so their bills agree. Each billing period (calendar
    month or year of the interval start, local time of ``start``) has its own
    counter, starting at zero (the period of ``start`` at ``ibp_start_kwh``);
    the bill of a period does not depend on the
    order in which its intervals are charged, only the split between intervals.

    Parameters
    ----------
    tariff : TariffConfig or dict
        A validated ``tariff`` section of kind ``ibp``.
    start : str
        ISO 8601 start of the run.
    n_agents : int
        Number of homes (ids ``0 .. n_agents-1``).
    """

    def __init__(self, tariff, start: str, n_agents: int) -> None:
        t = _as_dict(tariff)
        self.tiers_mwh = _tiers_mwh(t)
        self.prices_eur_per_mwh = np.asarray(t["ibp_prices_eur_per_mwh"], dtype=float)
        self.period = str(t.get("ibp_period", "month"))
        self.start = pd.Timestamp(start)
        self.n = int(n_agents)
        self._cum: dict[int, np.ndarray] = {}
        #: retail import before ``start`` in its billing period, per home [MWh]
        self.start_mwh = float(t.get("ibp_start_kwh", 0.0)) * 1e-3
        self._first = self.period_of(0)

    def period_of(self, interval_s: int) -> int:
        """Billing period of an interval start [s since ``start``] (year, or 12 * year + month - 1)."""
        ts = self.start + pd.Timedelta(seconds=int(interval_s))
        return int(ts.year) if self.period == "year" else 12 * int(ts.year) + int(ts.month) - 1

    def cumulative_mwh(self, interval_s: int) -> np.ndarray:
        """Retail import charged so far in the billing period of ``interval_s`` [MWh] (a view)."""
        key = self.period_of(interval_s)
        if key not in self._cum:
            self._cum[key] = np.full(self.n, self.start_mwh if key == self._first else 0.0)
        return self._cum[key]

    def marginal_eur_per_mwh(self, interval_s: int) -> np.ndarray:
        """Per home, the price of the next kWh imported in interval ``interval_s`` [EUR/MWh]
        (:func:`block_marginal_eur_per_mwh` at the counter of the interval's billing period)."""
        return block_marginal_eur_per_mwh(self.cumulative_mwh(interval_s), self.tiers_mwh, self.prices_eur_per_mwh)

    def charge_eur(self, interval_s: int, import_mwh, agents=None) -> np.ndarray:
        """Cost of ``import_mwh`` [MWh] per agent (all agents, or the distinct ids ``agents``) in
        interval ``interval_s`` [EUR]; advances the counters."""
        cum = self.cumulative_mwh(interval_s)
        idx = slice(None) if agents is None else np.asarray(agents, dtype=np.int64)
        q = np.broadcast_to(np.asarray(import_mwh, dtype=float), cum[idx].shape)
        cost = block_cost_eur(cum[idx], q, self.tiers_mwh, self.prices_eur_per_mwh)
        cum[idx] = cum[idx] + q
        return cost

    def retail_bill_eur(self, interval_s: int, import_mwh, export_mwh, local_net_mwh, feed_in_eur_per_mwh,
                        agents=None) -> np.ndarray:
        """:func:`retail_bill_eur` under block prices: the import residual charged through the
        tiers, the export residual at the feed-in price [EUR]; advances the counters."""
        imp_res, exp_res = retail_residual_mwh(import_mwh, export_mwh, local_net_mwh)
        return self.charge_eur(interval_s, imp_res, agents) - exp_res * np.asarray(feed_in_eur_per_mwh, dtype=float)
