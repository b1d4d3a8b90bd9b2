"""Outdoor weather from a typical-meteorological-year file shipped with pvlib.

Which file
----------
pvlib ships two TMY3 files in its ``data`` folder; the default is
``723170TYA.CSV`` (Greensboro, North Carolina, 36.1 N, 273 m; US NREL TMY3,
Wilcox & Marion 2008). The alternative ``703165TY.csv`` is Sand Point,
Alaska (55.3 N). Neither lies in Germany, where SimBench is located: Greensboro
has the latitude of southern Spain and a mean temperature of 14.4 C against
about 9.5 C in central Germany, so heat-pump demand is lower and PV yield higher
than for a German home. Sand Point has German solar geometry but a cold
maritime climate (few warm summer days). No German TMY ships with pvlib and
nothing may be downloaded at run time, so this mismatch is documented rather
than hidden.

Calendar mapping
----------------
SimBench profiles are 15-min values of 2016 (a leap year). A 2016 timestamp is
mapped to the TMY hour with the same day of year and hour of day (TMY3 hour
``i`` is the hour ending at ``i+1``, i.e. starting at ``i``); 31 Dec 2016
(day 366) reuses day 365. The TMY's local standard time is taken as the
SimBench local time (both are wall-clock profiles).
"""

from __future__ import annotations

import functools
import logging
import os

import numpy as np
import pandas as pd

from .errors import HouseholdDataError

logger = logging.getLogger(__name__)



@functools.lru_cache(maxsize=4)
def load_tmy(name: str) -> tuple[pd.DataFrame, dict]:
    """Read a pvlib-shipped TMY3 file.

    Returns
    -------
    data : DataFrame
        8760 hourly rows with ``temp_air`` [C], ``ghi``, ``dni``, ``dhi`` [W/m2].
    meta : dict
        latitude, longitude [deg], altitude [m], TZ [h].
    """
    import pvlib
    from pvlib.iotools import read_tmy3

    path = os.path.join(os.path.dirname(pvlib.__file__), "data", name)
    if not os.path.exists(path):
        raise HouseholdDataError(f"TMY file {name!r} not found in pvlib's data folder")
    data, meta = read_tmy3(path, map_variables=True)
    return data[["temp_air", "ghi", "dni", "dhi"]].copy(), meta


def tmy_hour_index(rows: np.ndarray) -> np.ndarray:
    """TMY hour (0..8759) for SimBench 15-min rows of 2016 (day-of-year, hour)."""
    rows = np.asarray(rows, dtype=np.int64)
    day = np.minimum(rows // 96, 364)
    hour = (rows % 96) // 4
    return day * 24 + hour


def outdoor_temp_c(name: str, rows: np.ndarray) -> np.ndarray:
    """Outdoor air temperature [C] for SimBench rows."""
    data, _ = load_tmy(name)
    return data["temp_air"].to_numpy(float)[tmy_hour_index(rows)]


@functools.lru_cache(maxsize=8)
def _pv_norm_hourly(name: str, tilt: float, azimuth: float, gamma: float, eta_inv: float) -> np.ndarray:
    import pvlib

    data, meta = load_tmy(name)
    # Solar position at mid-hour of each TMY hour (hour-ending stamps minus 30 min).
    times = data.index - pd.Timedelta(minutes=30)
    loc = pvlib.location.Location(meta["latitude"], meta["longitude"], altitude=meta["altitude"])
    sp = loc.get_solarposition(times)
    poa = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth, sp["apparent_zenith"].to_numpy(), sp["azimuth"].to_numpy(),
        data["dni"].to_numpy(), data["ghi"].to_numpy(), data["dhi"].to_numpy(),
    )["poa_global"]
    poa = np.nan_to_num(np.asarray(poa, float), nan=0.0)
    # SAPM cell temperature, open-rack glass/glass (King et al. 2004, SAND2004-3535).
    par = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"]
    t_cell = pvlib.temperature.sapm_cell(poa, data["temp_air"].to_numpy(), np.zeros(len(poa)), **par)
    pdc = pvlib.pvsystem.pvwatts_dc(poa, t_cell, 1.0, gamma)  # per kWp (pdc0 = 1)
    return np.clip(np.asarray(pdc, float) * eta_inv, 0.0, None)


def pv_norm(name: str, rows: np.ndarray, tilt: float, azimuth: float, gamma: float, eta_inv: float) -> np.ndarray:
    """AC PV output per unit of DC rating [MW/MWp] for SimBench rows (PVWatts v5 chain)."""
    return _pv_norm_hourly(name, tilt, azimuth, gamma, eta_inv)[tmy_hour_index(rows)]


