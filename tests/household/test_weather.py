"""The weather chain against published German figures, and weather files read with pvlib."""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from simulators.household import weather as W
from simulators.household.errors import HouseholdConfigError
from simulators.household.heatpump import cop_ashp
from simulators.household.schema import HouseholdsConfig, WeatherConfig

CFG = HouseholdsConfig()
#: a net without SimBench profiles whose buses lie at 1-LV-rural1's place (53.64 N, 11.41 E)
NET = SimpleNamespace(bus=pd.DataFrame({"geo": ['{"type": "Point", "coordinates": [11.41, 53.64]}']}))


@pytest.fixture(scope="module")
def default():
    return W.for_net(NET, WeatherConfig())


def _pv_yield_kwh_per_kwp(w):
    pv = CFG.pv
    p = W.pv_norm(w, pv.tilt_deg, pv.azimuth_deg, pv.gamma_pdc_per_k, pv.dc_losses_frac, pv.inverter_efficiency)
    return p.sum() * 0.25


def _heat(w):
    """Annual space heat [kWh/m2a] and seasonal COP of the default building held at its setpoint.

    Steady state per step (the 1R1C capacity only shifts heat in time): heat = max(H (T_set - T_out)
    - gains, 0); 150 m2 is the floor area the HeatPumpConfig defaults are sized for.
    """
    hp = CFG.heat_pump
    q_w = np.maximum(hp.h_w_per_k.value * (hp.setpoint_c - w.temp_air_c) - hp.internal_gains_kw * 1e3, 0.0)
    el_w = q_w / cop_ashp(w.temp_air_c, hp.sink, hp.cop_correction)
    return q_w.sum() * 0.25e-3 / 150.0, q_w.sum() / el_w.sum()


def test_default_location_is_the_grids(default):
    assert (round(default.latitude, 2), round(default.longitude, 2)) == (53.64, 11.41)
    assert W.grid_location(SimpleNamespace(bus=pd.DataFrame({"geo": [None]}))) == W.GERMANY_CENTRE


def test_default_annual_irradiation_within_dwd_range(default):
    # DWD annual global irradiation maps of Germany: about 950 (north-west) to 1250 (south) kWh/m2;
    # the default is scaled to the 1981-2010 area mean of 1055 kWh/m2 (+-1 % from capping at
    # 1.5 x clear sky).
    assert 950.0 <= default.ghi_annual_kwh_per_m2 <= 1250.0
    assert abs(default.ghi_annual_kwh_per_m2 / 1055.0 - 1.0) < 0.01


def test_default_annual_mean_temperature_is_the_dwd_normal(default):
    # DWD area mean of Germany 1991-2020: 9.3 C; +-0.1 K (linear interpolation between mid-months
    # and rounding of the monthly normals).
    assert abs(default.temp_air_c.mean() - 9.3) < 0.1
    # January and July within 0.5 K of their normals (0.9 C, 18.3 C); the interpolation smooths peaks.
    jan, jul = default.temp_air_c[: 31 * 96].mean(), default.temp_air_c[182 * 96: 213 * 96].mean()
    assert abs(jan - 0.9) < 0.5 and abs(jul - 18.3) < 0.5


def test_default_pv_specific_yield_within_german_range(default):
    # German specific yield of rooftop PV: about 900-1000 kWh/kWp a year (Fraunhofer ISE, "Aktuelle
    # Fakten zur Photovoltaik in Deutschland"); 30 deg south, PVWatts with 14 % DC losses.
    assert 900.0 <= _pv_yield_kwh_per_kwp(default) <= 1000.0


def test_default_heat_demand_and_spf_within_published_ranges(default):
    heat, spf = _heat(default)
    # Space heat of an average German existing home: ~110 kWh/m2a stock average (dena
    # Gebaeudereport 2016); the stock of single-family homes built 1970-1995 spans about 80-150.
    assert 80.0 <= heat <= 150.0, heat
    # Seasonal performance of air-source heat pumps in existing German homes: 2.5-3.8, mean 3.1
    # (Fraunhofer ISE field test "WPsmart im Bestand", Guenther et al. 2020).
    assert 2.5 <= spf <= 3.8, spf


def test_pv_chain_uses_dc_losses_and_wind(default):
    pv = CFG.pv
    base = W.pv_norm(default, 30, 180, pv.gamma_pdc_per_k, 0.14, 0.96)
    lossless = W.pv_norm(default, 30, 180, pv.gamma_pdc_per_k, 0.0, 0.96)
    assert np.allclose(base, lossless * 0.86)  # PVWatts DC losses scale DC power (Dobos 2014)
    calm = W.WeatherYear(default.temp_air_c, default.ghi_w_per_m2, default.dni_w_per_m2, default.dhi_w_per_m2,
                         np.zeros_like(default.wind_m_s), default.latitude, default.longitude,
                         default.altitude_m, "calm")
    # no wind -> hotter cells -> less power (negative temperature coefficient)
    assert W.pv_norm(calm, 30, 180, pv.gamma_pdc_per_k, 0.14, 0.96).sum() < base.sum()


def _tmy3_path():
    import pvlib

    return os.path.join(os.path.dirname(pvlib.__file__), "data", "723170TYA.CSV")


def test_tmy3_file_greensboro_is_the_mismatch_the_default_replaces():
    w = W.for_net(None, WeatherConfig(file=_tmy3_path(), format="tmy3"))
    # NREL TMY3 Greensboro NC: mean 14.4 C (hand mean of the file's column), far above Germany's 9.3 C
    assert abs(w.temp_air_c.mean() - 14.4) < 0.1
    heat, _ = _heat(w)
    assert heat < 80.0  # 65 kWh/m2a: the number that made the old default implausible for Germany
    # hour-end local standard time (UTC-5) -> UTC: the sunniest hour of the mean day is 17-18 UTC
    day = w.ghi_w_per_m2.reshape(366, 96).mean(axis=0)
    assert 16.0 <= day.argmax() / 4 <= 18.0


def test_pvgis_json_round_trip_places_hours_in_utc(tmp_path, default):
    # a PVGIS TMY json written from the default (one non-leap year in UTC) reads back row for row
    t = pd.date_range("2015-01-01", periods=8760, freq="h", tz="UTC")
    sel = np.r_[0:59 * 96:4, 60 * 96:366 * 96:4]  # the default's hourly values without 29 Feb
    rows = [{"time(UTC)": ts.strftime("%Y%m%d:%H%M"), "T2m": float(default.temp_air_c[i]),
             "G(h)": float(default.ghi_w_per_m2[i]), "Gb(n)": float(default.dni_w_per_m2[i]),
             "Gd(h)": float(default.dhi_w_per_m2[i]), "WS10m": 3.0, "RH": 80.0, "IR(h)": 300.0,
             "WD10m": 180.0, "SP": 101325.0} for ts, i in zip(t, sel)]
    src = {"inputs": {"location": {"latitude": 53.64, "longitude": 11.41, "elevation": 40.0}},
           "outputs": {"tmy_hourly": rows, "months_selected": []}, "meta": {"inputs": {}}}
    path = tmp_path / "pvgis.json"
    path.write_text(json.dumps(src))
    w = W.for_net(None, WeatherConfig(file=str(path), format="pvgis"))
    assert np.allclose(w.temp_air_c[sel], default.temp_air_c[sel])
    assert (w.latitude, w.longitude, w.altitude_m) == (53.64, 11.41, 40.0)


@pytest.mark.parametrize("content,fmt,match", [
    (None, "tmy3", "no such file"),
    ("this is not a weather file\n1,2,3\n", "tmy3", "cannot read"),
    ("garbage", "epw", "cannot read"),
    ("{not json", "pvgis", "cannot read"),
])
def test_bad_weather_files_give_one_line_errors(tmp_path, content, fmt, match):
    path = tmp_path / "w.dat"
    if content is not None:
        path.write_text(content)
    with pytest.raises(HouseholdConfigError, match=match) as exc:
        W.for_net(None, WeatherConfig.model_construct(file=str(path), format=fmt))
    msg = str(exc.value)
    assert msg.startswith("households.weather.file: ") and "\n" not in msg


def test_schema_pairs_file_and_format_and_retires_weather_file():
    with pytest.raises(ValueError, match="format is required"):
        WeatherConfig(file=_tmy3_path())
    with pytest.raises(ValueError, match="no such file"):
        WeatherConfig(file="no/such/weather.epw", format="epw")
    with pytest.raises(ValueError, match="weather_file is no longer accepted"):
        HouseholdsConfig.model_validate({"weather_file": "723170TYA.CSV"})
