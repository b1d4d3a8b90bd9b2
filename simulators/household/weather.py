"""Outdoor weather of the households: a weather file, or an offline German default.

All weather lives on SimBench's clock: 35,136 rows of 15 min in 2016 (a leap
year). The SimBench PV profiles peak about one hour before solar noon in
central European time at the grid's coordinates (energy-weighted mean hour
11.2-11.5 h against 12.2-12.4 h for a clear-sky model in CET at 53.6 N,
11.4 E, every month, no daylight-saving jump), so SimBench rows are taken as
UTC, and solar geometry is computed in UTC at the middle of each row.

Weather file (``households.weather: {file: PATH, format: epw|tmy3|pvgis}``)
-----------------------------------------------------------------------
Read with pvlib's readers (``pvlib.iotools.read_epw``, ``read_tmy3``,
``read_pvgis_tmy``; PVGIS files in csv, json or epw form). A typical year has
8760 hourly rows from different source years; each row is placed by month, day
and hour (its year is ignored) and the hours are converted to UTC with the
file's time zone (TMY3 and EPW: local standard time, TMY3 stamps the end of
the hour; PVGIS: UTC). Each 2016 row takes the file hour it falls in; 29 Feb
2016 reuses 28 Feb. Wind speed is the file's (10 m).

German default (no file)
------------------------
Built only from what ships offline; nothing is downloaded at run time.

* **Irradiance**: the net's SimBench PV profile (the most common one among its
  PV sgens; for a net without SimBench profiles, ``PV5`` of SimBench's complete
  data set) is turned into a clear-sky index against the same PV chain fed
  with pvlib's Ineichen clear-sky irradiance (Linke turbidity from pvlib's
  shipped climatology) at the grid's location (the mean bus coordinate when
  the net has geodata inside Germany, else the geographic centre of Germany,
  51.16 N, 10.45 E). Where the clear-sky PV output is below 10 % of the day's
  peak the day's energy ratio is used. SimBench's profile only carries the
  *timing* of clouds: its own level (676 kWh/kWp for PV5, 830 kWh/m2 of
  global irradiation when read as a clear-sky index) is below every German
  region, so the index is scaled to give the annual global horizontal
  irradiation :data:`GHI_ANNUAL_KWH_PER_M2`. GHI = index x clear-sky GHI,
  split into DNI and DHI with the Erbs et al. (1982) model.
* **Temperature**: the DWD area means of Germany for 1991-2020 per month
  (:data:`DWD_T_MONTHLY_C`, annual 9.3 C), interpolated linearly between
  mid-months, plus a cosine diurnal cycle peaking at 15:00 CET with the
  monthly mean daily range :data:`DIURNAL_RANGE_K` (assumption). It has no
  cold spells or heat waves: the heat pump never meets the -12 C design
  temperature, so peaks are milder than in a real winter; annual heat demand
  (which follows the mean) is right.
* **Wind**: constant :data:`DEFAULT_WIND_M_S` (assumption).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from simulators.common.netdata import PROFILE_ROWS

from .errors import HouseholdConfigError

logger = logging.getLogger(__name__)

#: DWD area mean air temperature of Germany 1991-2020, Jan..Dec [C]; annual 9.3 C
#: (DWD climate normals, "Deutschland-Mittel"; annual mean as in the DWD's
#: 2023 annual press release: 9.3 C for 1991-2020).
DWD_T_MONTHLY_C = np.array([0.9, 1.5, 4.7, 9.0, 13.1, 16.4, 18.3, 17.9, 13.8, 9.4, 4.8, 1.8])
#: Mean daily temperature range (max - min) per month [K]. Assumption: the order
#: of German lowland stations (small in cloudy winters, ~10 K in summer); it
#: shapes hours within a day only, not daily means.
DIURNAL_RANGE_K = np.array([5.0, 6.0, 8.0, 10.0, 11.0, 11.0, 11.0, 11.0, 10.0, 8.0, 5.5, 4.5])
#: Annual global horizontal irradiation of the German default [kWh/m2]: the DWD
#: area mean of Germany 1981-2010, 1055 kWh/m2 (DWD: 2012's 1096 kWh/m2 was 3.9 %
#: above it; Photon 03/2013). Recent years are sunnier (2011-2020 mean 1114,
#: DWD via solarserver.de, Jan 2023); DWD annual maps range from about 950
#: (north-west) to 1250 (south) kWh/m2.
GHI_ANNUAL_KWH_PER_M2 = 1055.0
#: Wind speed of the default at 10 m [m/s]. Assumption: the order of inland
#: annual means of DWD stations (2.5-4 m/s); it only enters the cell temperature.
DEFAULT_WIND_M_S = 3.0
#: Geographic centre of Germany (Niederdorla, Thuringia) [deg N, deg E].
GERMANY_CENTRE = (51.163, 10.447)
_GERMANY_BOX = ((47.0, 55.1), (5.8, 15.1))
#: SimBench rows are UTC (see module docstring); CET for the diurnal temperature cycle.
_CET_H = 1.0
_STEP_H = 0.25


@dataclass(frozen=True)
class WeatherYear:
    """One year of weather on SimBench's 15-min rows of 2016 (UTC)."""

    temp_air_c: np.ndarray
    ghi_w_per_m2: np.ndarray
    dni_w_per_m2: np.ndarray
    dhi_w_per_m2: np.ndarray
    wind_m_s: np.ndarray
    latitude: float
    longitude: float
    altitude_m: float
    source: str

    @property
    def ghi_annual_kwh_per_m2(self) -> float:
        """Annual global horizontal irradiation [kWh/m2] (2016 rows, leap day included)."""
        return float(self.ghi_w_per_m2.sum() * _STEP_H * 1e-3)


def row_times_utc() -> pd.DatetimeIndex:
    """Middle of each SimBench 15-min row of 2016, UTC."""
    return pd.date_range("2016-01-01 00:07:30", periods=PROFILE_ROWS, freq="15min", tz="UTC")


@functools.lru_cache(maxsize=4)
def _solar_position(lat: float, lon: float, alt: float) -> pd.DataFrame:
    """pvlib's solar position (SPA) at the 2016 row midpoints; kept on disk per place.

    The SPA over 35,136 rows takes about 0.4 s, paid by every process with
    PV from weather; the grid cache keeps the columns bit for bit (keyed by
    the place, the library versions and this module's source).
    """
    from simulators.common import netcache

    def build() -> dict[str, np.ndarray]:
        import pvlib

        sp = pvlib.location.Location(lat, lon, altitude=alt).get_solarposition(row_times_utc())
        return {str(c): sp[c].to_numpy() for c in sp.columns}

    key = {"lat": repr(float(lat)), "lon": repr(float(lon)), "alt": repr(float(alt)),
           "rows": "2016 15-min row midpoints, UTC", "code": _SOURCE_DIGEST}
    cols = netcache.load_arrays("solar-position", key, build)
    return pd.DataFrame(cols, index=row_times_utc())


#: Version of this module's code in cache keys: any edit gives new entries.
_SOURCE_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


# ----------------------------------------------------------------- weather files
def _read(path: str, fmt: str) -> tuple[pd.DataFrame, float, float, float, float]:
    """Read a file with pvlib; return data (hour-start stamps, tz-naive, the file's own clock),
    lat, lon, alt and the clock's offset from UTC [h]."""
    from pvlib import iotools

    if fmt == "epw":
        data, meta = iotools.read_epw(path)
        tz = float(meta["TZ"])
        start = data.index.tz_localize(None)
        lat, lon, alt = float(meta["latitude"]), float(meta["longitude"]), float(meta["altitude"])
    elif fmt == "tmy3":
        data, meta = iotools.read_tmy3(path, map_variables=True)
        tz = float(meta["TZ"])
        start = data.index.tz_localize(None)  # stamps the hour end; row order is what counts
        lat, lon, alt = float(meta["latitude"]), float(meta["longitude"]), float(meta["altitude"])
    else:  # pvgis: stamps in UTC
        data, meta = iotools.read_pvgis_tmy(path, map_variables=True)
        idx = data.index
        start = idx.tz_convert("UTC").tz_localize(None) if idx.tz is not None else idx
        loc = meta.get("location", meta.get("inputs", {}).get("location", meta)) if isinstance(meta, dict) else {}
        lat, lon = float(loc["latitude"]), float(loc["longitude"])
        alt = float(loc.get("elevation", loc.get("altitude", 0.0)))
        tz = 0.0
    data = data.copy()
    data.index = start
    return data, lat, lon, alt, tz


def _hour_of_year_index() -> np.ndarray:
    """Position (0..8759, by month/day/hour of a non-leap year) of the UTC hour of each 2016 row."""
    t = pd.date_range("2016-01-01", periods=PROFILE_ROWS, freq="15min")
    doy = t.dayofyear.to_numpy()
    after_feb = doy >= 60  # 29 Feb 2016 is day 60: it reuses 28 Feb, later days shift back one
    doy_nl = np.where(after_feb, np.maximum(doy - 1, 59), doy)
    return (doy_nl - 1) * 24 + t.hour.to_numpy()


def _from_file(path: str, fmt: str) -> WeatherYear:
    where = "households.weather.file"
    if not os.path.isfile(path):
        raise HouseholdConfigError(f"{where}: no such file; got {path!r}")
    try:
        data, lat, lon, alt, _tz = _read(path, fmt)
    except (ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError, json.JSONDecodeError,
            pd.errors.ParserError, AttributeError) as exc:
        detail = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}" if str(exc) else type(exc).__name__
        raise HouseholdConfigError(f"{where}: cannot read {path!r} as {fmt} ({detail}); "
                                   f"check households.weather.format") from None
    need = ["temp_air", "ghi", "dni", "dhi", "wind_speed"]
    missing = [c for c in need if c not in data.columns]
    if missing:
        raise HouseholdConfigError(f"{where}: {path!r} has no column(s) {missing} after reading as {fmt}")
    # a typical year is 8760 hours in calendar order (row i = hour i of the file's clock);
    # a leap-year file's 29 Feb is dropped
    ix = data.index
    keep = ~((ix.month == 2) & (ix.day == 29))
    data, ix = data[keep], ix[keep]
    if len(data) != 8760:
        raise HouseholdConfigError(f"{where}: {path!r} needs 8760 hourly rows (one typical year); "
                                   f"got {len(data)}")
    if np.any(np.diff(ix.month.to_numpy())[1:-1] < 0):  # an hour-end stamp may wrap at either end
        raise HouseholdConfigError(f"{where}: {path!r} is not in calendar order (months go back)")
    # file clock -> UTC: UTC hour u holds the file's hour u + tz (wrapping round the typical year)
    shift = -int(round(_tz))
    vals = {c: np.roll(data[c].to_numpy(float), shift) for c in need}
    bad = [c for c in need if not np.isfinite(vals[c]).all()]
    if bad:
        raise HouseholdConfigError(f"{where}: {path!r} has missing values in {bad}")
    h = _hour_of_year_index()
    return WeatherYear(vals["temp_air"][h], vals["ghi"][h], vals["dni"][h], vals["dhi"][h],
                       vals["wind_speed"][h], lat, lon, alt, f"{fmt} file {os.path.basename(path)}")


# ----------------------------------------------------------------- German default
def grid_location(net) -> tuple[float, float]:
    """Mean bus coordinate (lat, lon) if the net has geodata in Germany, else the centre of Germany."""
    lat = lon = None
    try:
        if "geo" in net.bus.columns and net.bus.geo.notna().any():
            pts = [json.loads(g)["coordinates"] for g in net.bus.geo.dropna()]
            lon, lat = float(np.mean([p[0] for p in pts])), float(np.mean([p[1] for p in pts]))
        elif hasattr(net, "bus_geodata") and len(net.bus_geodata):
            lon, lat = float(net.bus_geodata.x.mean()), float(net.bus_geodata.y.mean())
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        lat = lon = None
    (la0, la1), (lo0, lo1) = _GERMANY_BOX
    if lat is None or not (la0 <= lat <= la1 and lo0 <= lon <= lo1):
        return GERMANY_CENTRE
    return lat, lon


def simbench_pv_profile(net) -> tuple[str, np.ndarray]:
    """The net's most common SimBench PV profile (name, 35,136 values per unit of rating)."""
    ren = net.profiles.get("renewables") if hasattr(net, "profiles") else None
    if ren is not None:
        used = net.sgen.loc[net.sgen.type.astype(str).str.contains("PV"), "profile"].dropna()
        cols = [c for c in ren.columns if str(c).startswith("PV")]
        name = used.mode().iloc[0] if len(used) else (cols[0] if cols else None)
        if name is not None and name in ren.columns:
            return str(name), ren[name].to_numpy(dtype=float)
    return "PV5", _complete_data_pv5()


@functools.lru_cache(maxsize=1)
def _complete_data_pv5() -> np.ndarray:
    import simbench

    path = os.path.join(os.path.dirname(simbench.__file__), "networks", "1-complete_data-mixed-all-0-sw",
                        "RESProfile.csv")
    return pd.read_csv(path, sep=";", usecols=["PV5"])["PV5"].to_numpy(float)


def german_temperature_c() -> np.ndarray:
    """Air temperature of the German default on SimBench rows [C] (see module docstring)."""
    t = row_times_utc()
    day = (t.dayofyear.to_numpy() - 1) + (t.hour.to_numpy() + t.minute.to_numpy() / 60.0) / 24.0
    ml = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=float)
    mid = np.cumsum(ml) - ml / 2.0
    xp = np.r_[mid[-1] - 366.0, mid, mid[0] + 366.0]

    def periodic(v):
        return np.interp(day, xp, np.r_[v[-1], v, v[0]])

    hour_cet = (t.hour.to_numpy() + t.minute.to_numpy() / 60.0 + _CET_H) % 24.0
    return periodic(DWD_T_MONTHLY_C) + periodic(DIURNAL_RANGE_K) / 2.0 * np.cos(
        2.0 * np.pi * (hour_cet - 15.0) / 24.0)


def _german_default(lat: float, lon: float, profile_name: str, profile: np.ndarray) -> WeatherYear:
    import pvlib

    alt = float(pvlib.location.lookup_altitude(lat, lon))
    sp = _solar_position(lat, lon, alt)
    times = row_times_utc()
    cs = pvlib.location.Location(lat, lon, altitude=alt).get_clearsky(times, solar_position=sp)
    temp = german_temperature_c()
    wind = np.full(PROFILE_ROWS, DEFAULT_WIND_M_S)
    ref = _dc_chain(cs["ghi"].to_numpy(), cs["dni"].to_numpy(), cs["dhi"].to_numpy(), temp, wind, sp,
                    30.0, 180.0, -0.0037, 0.0)
    per_day = 96
    e_sb = profile.reshape(-1, per_day).sum(axis=1)
    e_cs = ref.reshape(-1, per_day).sum(axis=1)
    k_day = np.divide(e_sb, e_cs, out=np.zeros_like(e_sb), where=e_cs > 0)
    peak = np.repeat(ref.reshape(-1, per_day).max(axis=1), per_day)
    ok = ref > 0.1 * peak
    k = np.where(ok, profile / np.where(ok, ref, 1.0), np.repeat(k_day, per_day))
    k = np.clip(k, 0.0, 1.5 * np.percentile(k[ok], 99))  # keep cloud enhancement, drop ratios of tiny numbers
    ghi = k * cs["ghi"].to_numpy()
    ghi *= GHI_ANNUAL_KWH_PER_M2 / (ghi.sum() * _STEP_H * 1e-3)
    ghi = np.minimum(ghi, 1.5 * np.maximum(cs["ghi"].to_numpy(), 0.0))
    dec = pvlib.irradiance.erbs(ghi, sp["zenith"].to_numpy(), times)
    dni = np.nan_to_num(np.asarray(dec["dni"], float))
    dhi = np.nan_to_num(np.asarray(dec["dhi"], float))
    return WeatherYear(temp, ghi, dni, dhi, wind, lat, lon, alt,
                       f"German default at {lat:.2f} N {lon:.2f} E (SimBench {profile_name} clear-sky index, "
                       f"DWD 1991-2020 temperatures)")


# ----------------------------------------------------------------- entry points
_CACHE: dict = {}


def for_net(net, wcfg) -> WeatherYear:
    """The scenario's weather for ``net`` (``wcfg``: ``WeatherConfig``), cached per input."""
    if wcfg.file is not None:
        key = ("file", os.path.abspath(wcfg.file), wcfg.format,
               os.path.getmtime(wcfg.file) if os.path.isfile(wcfg.file) else None)
        maker = functools.partial(_from_file, wcfg.file, wcfg.format)
    else:
        lat, lon = grid_location(net)
        name, prof = simbench_pv_profile(net)
        key = ("default", round(lat, 4), round(lon, 4), name, float(prof.sum()))
        maker = functools.partial(_german_default, lat, lon, name, prof)
    if key not in _CACHE:
        if len(_CACHE) >= 4:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = maker()
        logger.info("weather: %s", _CACHE[key].source)
    return _CACHE[key]


def outdoor_temp_c(w: WeatherYear, rows: np.ndarray) -> np.ndarray:
    """Outdoor air temperature [C] for SimBench rows."""
    return w.temp_air_c[np.asarray(rows, dtype=np.int64) % PROFILE_ROWS]


def _dc_chain(ghi, dni, dhi, temp, wind, sp, tilt, azimuth, gamma, dc_losses) -> np.ndarray:
    """DC power per kWp [kW/kWp] of a fixed plane: isotropic sky, SAPM cell temperature, PVWatts DC."""
    import pvlib

    poa = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth, sp["apparent_zenith"].to_numpy(), sp["azimuth"].to_numpy(), dni, ghi, dhi,
    )["poa_global"]
    poa = np.nan_to_num(np.asarray(poa, float), nan=0.0)
    # SAPM cell temperature, glass/glass close roof mount (King et al. 2004, SAND2004-3535,
    # Table 1), with the weather's wind speed at 10 m.
    par = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["close_mount_glass_glass"]
    t_cell = pvlib.temperature.sapm_cell(poa, temp, wind, **par)
    pdc = np.asarray(pvlib.pvsystem.pvwatts_dc(poa, t_cell, 1.0, gamma), float)
    return np.clip(pdc * (1.0 - dc_losses), 0.0, None)


def pv_norm(w: WeatherYear, tilt: float, azimuth: float, gamma: float, dc_losses: float,
            eta_inv: float) -> np.ndarray:
    """AC PV output per unit of DC rating [MW/MWp] on SimBench rows (PVWatts v5 chain).

    ``dc_losses``: PVWatts system losses before the inverter (14 % default,
    Dobos 2014, NREL/TP-6A20-62641: soiling, shading, mismatch, wiring,
    connections, LID, nameplate, age, availability).
    """
    sp = _solar_position(w.latitude, w.longitude, w.altitude_m)
    pdc = _dc_chain(w.ghi_w_per_m2, w.dni_w_per_m2, w.dhi_w_per_m2, w.temp_air_c, w.wind_m_s, sp,
                    tilt, azimuth, gamma, dc_losses)
    return pdc * eta_inv
