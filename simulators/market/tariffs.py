"""Retail tariffs: the baseline every market is compared with.

The retailer serves unmatched demand at the *import* price and buys unmatched
supply at the *feed-in* price. Kinds:

* ``flat``: one import price all day.
* ``tou``: time of use; ``tou_peak_eur_per_mwh`` in the local hours
  ``[tou_peak_start_h, tou_peak_end_h)``, ``tou_offpeak_eur_per_mwh`` otherwise.
* ``rtp``: real-time pass-through; an hourly wholesale price curve
  (24 values, repeated every day) plus a fixed adder for network charges,
  taxes and levies.

Feed-in is a fixed feed-in tariff for all kinds (net metering is the special
case ``feed_in = import price``, set it explicitly).

Defaults (see :class:`simulators.market.schema.TariffConfig`):
400 EUR/MWh import (the German 2023 household price cap of 40 ct/kWh of the
Strompreisbremsegesetz; the measured 2023 averages were 42.29 ct/kWh,
Destatis H1 2023, and 46.27 ct/kWh, BDEW Strompreisanalyse July 2023) and
82 EUR/MWh feed-in (EEG 2023 §48(2): 8.2 ct/kWh for rooftop PV <= 10 kWp with
self-consumption, commissioned 2023-01 to 2024-01).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def import_price_eur_per_mwh(tariff: dict, start: str, interval_s: np.ndarray | int) -> np.ndarray:
    """Retail import price for delivery intervals [EUR/MWh].

    Parameters
    ----------
    tariff : dict
        A ``TariffConfig`` as dict (``kind`` and its parameters).
    start : str
        ISO 8601 start of the run (local time of the tariff).
    interval_s : int or array of int
        Interval starts [s since ``start``].
    """
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
    raise ValueError(f"tariff kind {kind!r} unknown; allowed: flat, tou, rtp")


def feed_in_price_eur_per_mwh(tariff: dict, start: str, interval_s: np.ndarray | int) -> np.ndarray:
    """Feed-in remuneration for delivery intervals [EUR/MWh] (constant)."""
    t = np.atleast_1d(np.asarray(interval_s))
    return np.full(len(t), float(tariff["feed_in_eur_per_mwh"]))
