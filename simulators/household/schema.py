"""Scenario section ``households:`` as a frozen pydantic v2 model.

Every default that stands for a physical quantity cites where it comes from.
Scenario-design choices (the bid price of a flexibility offer) are marked as
such. The retail tariff is not here: it is the scenario's top-level ``tariff``
section (:mod:`simulators.common.tariffs`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from simulators.common.schema import STRICT

#: Built-in policies (:data:`simulators.household.hems.POLICIES`); ``households.policy``
#: also takes an entry point of group ``cosim.hems_policies`` or ``package.module:name``.
POLICIES = ("none", "self_consumption", "tariff", "market", "market_fixed", "flex")
_CFG = STRICT
#: Error for the retired per-section tariff keys (one tariff per scenario).
_MOVED_TARIFF = ("{section}.tariff is no longer accepted: the retail tariff is defined once per scenario "
                 "in the top-level 'tariff:' section (kind, retail_eur_per_mwh, feed_in_eur_per_mwh, ...) "
                 "and shared by households and market; move it there")


class SizeDist(BaseModel):
    """A size distribution ``{dist: fixed|uniform|normal, ...}``.

    ``fixed`` uses ``value``; ``uniform`` draws in ``[low, high]``; ``normal``
    draws ``N(mean, std)`` and clips at 0 (a size cannot be negative).
    Units are those of the field holding the distribution.
    """

    model_config = _CFG
    #: Distribution of the size over homes (seeded draw).
    dist: Literal["fixed", "uniform", "normal"] = "fixed"
    #: Size of every home (``fixed``).
    value: float | None = None
    #: Lower bound (``uniform``).
    low: float | None = None
    #: Upper bound (``uniform``).
    high: float | None = None
    #: Mean (``normal``, clipped at 0).
    mean: float | None = None
    #: Standard deviation (``normal``).
    std: float | None = None

    @model_validator(mode="after")
    def _check(self) -> "SizeDist":
        need = {"fixed": ("value",), "uniform": ("low", "high"), "normal": ("mean", "std")}
        for name in need[self.dist]:
            v = getattr(self, name)
            if v is None:
                raise ValueError(f"{name} is required for dist={self.dist!r} (allowed: a number >= 0)")
            if v < 0:
                raise ValueError(f"{name}={v} is negative; sizes must be >= 0")
        if self.dist == "uniform" and self.high < self.low:
            raise ValueError(f"high={self.high} < low={self.low}; need low <= high")
        return self


def _fixed(v: float) -> SizeDist:
    return SizeDist(dist="fixed", value=v)


class _Device(BaseModel):
    """Common part: which share of households owns the device."""

    model_config = _CFG
    #: Share of homes that own the device [-] (seeded draw).
    share: float = 0.0
    count: int | None = Field(default=None, description="exact number of homes; overrides share")

    @field_validator("share")
    @classmethod
    def _share(cls, v: float) -> float:
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"share={v} is outside [0, 1]")
        return v

    @field_validator("count")
    @classmethod
    def _count(cls, v: int | None) -> int | None:
        if v is not None and v < 0:
            raise ValueError(f"count={v} is negative; allowed: an integer >= 0")
        return v


class PvConfig(_Device):
    """Rooftop PV.

    kwp default: uniform 4–10 kWp, the range that holds most residential
    systems in the German register (BNetzA Marktstammdatenregister; the EEG
    2014/2017 10 kWp threshold bounds the upper end).
    """

    #: DC rating per home [kWp] (uniform 4-10 kWp, BNetzA Marktstammdatenregister; see the class).
    kwp: SizeDist = SizeDist(dist="uniform", low=4.0, high=10.0)
    #: ``simbench``: a SimBench PV profile; ``tmy``: pvlib's PVWatts chain on the
    #: scenario's weather (``households.weather``).
    source: Literal["simbench", "tmy"] = "simbench"
    #: SimBench renewables profile for drawn PV (normalised to kWp); "auto" = the
    #: most common PV profile among the net's sgens (else the first PV column).
    simbench_profile: str = "auto"
    #: ``keep``: SimBench PV sgens stay grid elements, household PV is extra.
    #: ``absorb``: PV sgens at a household bus are split equally over the
    #: households there (installed capacity conserved exactly).
    sgen_mode: Literal["keep", "absorb"] = "keep"
    #: Inverter rating per kWp [kVA/kWp]; 1.0 = no clipping (DC/AC ratio 1).
    inverter_kva_per_kwp: float = Field(default=1.0, gt=0)
    #: Reactive power control: unity, fixed cos phi or the cos phi(P) characteristic
    #: (VDE-AR-N 4105:2018), volt-var (IEEE 1547-2018 category B); see `simulators.household.pv`.
    q_mode: Literal["unity", "fixed_cosphi", "cosphi_p", "q_u"] = "unity"
    #: Underexcited cos phi; 0.95 is the VDE-AR-N 4105:2018 limit for small units.
    cosphi: float = Field(default=0.95, gt=0, le=1)
    #: ``tmy`` chain: module tilt / azimuth [deg]; 30 deg south is the usual
    #: roof orientation in German yield studies (e.g. HTW Berlin "Unabhaengigkeitsrechner").
    tilt_deg: float = 30.0
    #: ``tmy`` chain: module azimuth [deg], 180 = south (see ``tilt_deg``).
    azimuth_deg: float = 180.0
    #: PVWatts v5 power temperature coefficient [1/K] (Dobos 2014, NREL/TP-6A20-62641).
    gamma_pdc_per_k: float = -0.0037
    #: PVWatts v5 nominal inverter efficiency (Dobos 2014).
    inverter_efficiency: float = Field(default=0.96, gt=0, le=1)
    #: PVWatts v5 default system losses before the inverter, 14 % (Dobos 2014:
    #: soiling 2, shading 3, snow 0, mismatch 2, wiring 2, connections 0.5,
    #: light-induced degradation 1.5, nameplate 1, age 0, availability 3 %).
    dc_losses_frac: float = Field(default=0.14, ge=0, lt=1)


class BatteryConfig(_Device):
    """Home battery.

    Defaults: mean German home storage ~8 kWh and power/energy ratio ~0.6
    (Figgener et al. 2020, J. Energy Storage 29:101153); one-way
    efficiencies 0.95 (round trip 0.90, HTW Berlin Stromspeicher-Inspektion
    2019); Li-ion self-discharge ~2 %/month = 2.8e-5 /h (Linden's Handbook of
    Batteries, 4th ed., ch. 26).
    """

    #: Usable capacity per home [kWh] (uniform 5-10, mean ~8 kWh, Figgener et al. 2020).
    e_kwh: SizeDist = SizeDist(dist="uniform", low=5.0, high=10.0)
    #: Power rating per kWh of capacity [kW/kWh] (~0.6, Figgener et al. 2020).
    p_kw_per_kwh: float = Field(default=0.6, gt=0)
    #: One-way charging efficiency [-] (round trip 0.90, HTW Berlin 2019).
    eta_charge: float = Field(default=0.95, gt=0, le=1)
    #: One-way discharging efficiency [-] (round trip 0.90, HTW Berlin 2019).
    eta_discharge: float = Field(default=0.95, gt=0, le=1)
    #: Lowest state of charge the manager uses [-].
    soc_min_frac: float = Field(default=0.05, ge=0, le=1)
    #: Highest state of charge the manager uses [-].
    soc_max_frac: float = Field(default=0.95, ge=0, le=1)
    #: State of charge at the start of the run [-].
    soc_init_frac: float = Field(default=0.5, ge=0, le=1)
    #: Self-discharge per hour [1/h] (~2 %/month, Linden's Handbook of Batteries).
    self_discharge_per_h: float = Field(default=2.8e-5, ge=0, lt=1)
    #: Only homes with PV get a battery (true for > 95 % of German home storage, Figgener 2020).
    requires_pv: bool = True

    @model_validator(mode="after")
    def _soc(self) -> "BatteryConfig":
        if not self.soc_min_frac <= self.soc_init_frac <= self.soc_max_frac:
            raise ValueError(
                f"soc fractions min={self.soc_min_frac}, init={self.soc_init_frac}, "
                f"max={self.soc_max_frac} must satisfy min <= init <= max"
            )
        return self


class EvConfig(_Device):
    """Electric vehicle with a home charger.

    Mobility (see :mod:`simulators.household.ev`): a car is driven on 60 % of
    days (MiD 2017, about six in ten cars moved on an average day); on those
    days arrival home N(17.6 h, 3.4 h), departure N(8.9 h, 3.2 h) and a
    lognormal distance of shape 0.88 (Qian et al. 2011, IEEE Trans. Power
    Syst. 26(2):802-810, fitted to the US NHTS 2001) scaled so that the mean
    over all days is 39 km per car (MiD 2017 mean; 14,200 km a year, within
    the 13,000-15,000 km of KBA "Verkehr in Kilometern" 2017-2019); consumption
    0.18 kWh/km (ADAC Ecotest average of compact BEVs); battery 40 kWh
    (Renault Zoe ZE40 / VW e-Golf class, the best-selling German BEVs of
    2018-2019); 11 kW wallbox (3 x 16 A, the common German home charger);
    charging efficiency 0.9 (Apostolaki-Iosifidou et al. 2017, Energy 127:730).
    """

    #: Battery capacity [kWh] (Renault Zoe ZE40 / VW e-Golf class).
    battery_kwh: SizeDist = _fixed(40.0)
    #: Home charger power [kW] (11 kW wallbox, 3 x 16 A).
    charger_kw: SizeDist = _fixed(11.0)
    #: ``uncontrolled``: full power on arrival; ``smart``: as late as the departure target allows
    #: (the manager may charge more); ``v2g``: smart, and may discharge to the home or grid.
    mode: Literal["uncontrolled", "smart", "v2g"] = "uncontrolled"
    #: Charging efficiency grid -> battery [-] (Apostolaki-Iosifidou et al. 2017).
    efficiency: float = Field(default=0.9, gt=0, le=1)
    #: Driving consumption [kWh/km] (ADAC Ecotest, compact BEVs).
    consumption_kwh_per_km: float = Field(default=0.18, ge=0)
    #: State of charge wanted at departure [-].
    target_soc_frac: float = Field(default=0.9, ge=0, le=1)
    #: State of charge at the start of the run [-].
    soc_init_frac: float = Field(default=0.9, ge=0, le=1)
    #: V2G never discharges below this state of charge.
    v2g_min_soc_frac: float = Field(default=0.3, ge=0, le=1)
    #: Mean arrival home on a driving day [h, local] (N(17.6, 3.4), Qian et al. 2011).
    arrival_mean_h: float = 17.6
    #: Standard deviation of the arrival [h].
    arrival_std_h: float = Field(default=3.4, ge=0)
    #: Mean departure on a driving day [h, local] (N(8.9, 3.2), Qian et al. 2011).
    departure_mean_h: float = 8.9
    #: Standard deviation of the departure [h].
    departure_std_h: float = Field(default=3.2, ge=0)
    #: Mean distance per car and calendar day, non-driving days included [km] (MiD 2017).
    mean_daily_km: float = Field(default=39.0, ge=0)
    #: Share of days on which a car is driven [-] (MiD 2017, about 0.6).
    driving_day_share: float = Field(default=0.6, ge=0, le=1)
    #: Shape of the lognormal distance of a driving day (Qian et al. 2011).
    distance_lognorm_sigma: float = Field(default=0.88, ge=0)


class HeatPumpConfig(_Device):
    """Air-source heat pump heating a 1R1C building.

    Defaults: heat loss coefficient H = 200 W/K and heat capacity
    C = 6.9 kWh/K for a 150 m2 single-family home: C from EN ISO 13790:2008
    Table 12 class "medium" (165 kJ/(m2 K) x 150 m2); with the German default
    weather (:mod:`.weather`, DWD 1991-2020 normals, annual mean 9.3 C) H
    gives 99 kWh/m2a of space heat at a 21 C setpoint, near the ~110 kWh/m2a
    stock average of the dena Gebaeudereport 2016 (no solar gains in the
    1R1C model). Design outdoor temperature -12 C (DIN EN 12831 Beiblatt 1,
    central Germany). Internal gains 5 W/m2 (DIN V 4108-6) x 150 m2 =
    0.75 kW. COP after Ruhnau et al. 2019 (Sci. Data 6:189); with the
    default weather the seasonal performance factor (space heat only) is
    3.2, inside the 2.5-3.8 of air-source heat pumps in existing German
    homes (Fraunhofer ISE field test "WPsmart im Bestand", Guenther et al.
    2020, mean 3.1).
    """

    #: Building heat loss coefficient [W/K] (150 m2 home; see the class).
    h_w_per_k: SizeDist = _fixed(200.0)
    #: Building heat capacity [kWh/K] (EN ISO 13790 class "medium", 150 m2).
    c_kwh_per_k: SizeDist = _fixed(6.9)
    #: Design outdoor temperature [C] (DIN EN 12831 Beiblatt 1, central Germany).
    design_temp_c: float = -12.0
    #: Thermal rating = oversize x H x (setpoint - design temperature).
    oversize_factor: float = Field(default=1.2, gt=0)
    #: Internal heat gains [kW] (5 W/m2, DIN V 4108-6, x 150 m2).
    internal_gains_kw: float = Field(default=0.75, ge=0)
    #: Heat sink, which sets the supply temperature of the COP (Ruhnau et al. 2019).
    sink: Literal["radiator", "floor"] = "radiator"
    #: Ruhnau et al. 2019 real-world correction factor.
    cop_correction: float = Field(default=0.85, gt=0)
    #: Indoor setpoint the heat pump holds without a manager [C].
    setpoint_c: float = 21.0
    #: Lowest indoor temperature a manager may coast to [C].
    comfort_low_c: float = 20.0
    #: Highest indoor temperature a manager may pre-heat to [C].
    comfort_high_c: float = 23.0
    #: Indoor temperature at the start of the run [C].
    t_init_c: float = 21.0

    @model_validator(mode="after")
    def _band(self) -> "HeatPumpConfig":
        if not self.comfort_low_c <= self.setpoint_c <= self.comfort_high_c:
            raise ValueError(
                f"setpoint_c={self.setpoint_c} must lie in the comfort band "
                f"[{self.comfort_low_c}, {self.comfort_high_c}]"
            )
        return self


class WeatherConfig(BaseModel):
    """``households.weather``: a weather file, or (no file) the offline German default.

    See :mod:`simulators.household.weather`. ``format`` names the pvlib reader:
    ``epw`` (EnergyPlus), ``tmy3`` (NREL TMY3 csv), ``pvgis`` (a PVGIS TMY
    download as csv, json or epw).
    """

    model_config = _CFG
    #: Weather file (relative to the working directory); null: the offline German default.
    file: str | None = None
    #: Reader of ``file``: epw, tmy3 or pvgis.
    format: Literal["epw", "tmy3", "pvgis"] | None = None

    @field_validator("file")
    @classmethod
    def _exists(cls, v: str | None) -> str | None:
        import os

        if v is not None and not os.path.isfile(v):
            raise ValueError(f"no such file (paths are relative to the working directory); got {v!r}")
        return v

    @model_validator(mode="after")
    def _pair(self) -> "WeatherConfig":
        if self.file is not None and self.format is None:
            raise ValueError("format is required with file; allowed: epw, tmy3, pvgis")
        if self.file is None and self.format is not None:
            raise ValueError(f"format={self.format!r} without file; give file: PATH (no file = German default)")
        return self


class DlcTrigger(BaseModel):
    """``households.dlc.trigger``: when an enrolled home's direct load control event starts.

    Any condition given starts an event (logical or); at least one is required.
    Each is observable by the home without a new coupling: the published
    tariff import price of the interval, the bus voltage it already receives
    from the last power flow, or fixed local clock hours.
    """

    model_config = _CFG
    #: Tariff import price of the interval at or above this [EUR/MWh] (a price trigger).
    price_eur_per_mwh: float | None = None
    #: The home's bus voltage of the last power flow below this [pu] (a reliability trigger).
    vm_pu_below: float | None = Field(default=None, gt=0)
    #: Local clock hours [0, 23] in which an event is called (an event-hour schedule).
    hours: list[int] | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, v: list[int] | None) -> list[int] | None:
        if v is not None:
            bad = [h for h in v if not 0 <= h <= 23]
            if bad or not v:
                raise ValueError(f"hours must be a non-empty list of local hours 0..23; got {v}")
        return v

    @model_validator(mode="after")
    def _one(self) -> "DlcTrigger":
        if self.price_eur_per_mwh is None and self.vm_pu_below is None and self.hours is None:
            raise ValueError("give at least one of price_eur_per_mwh, vm_pu_below, hours (none given)")
        return self


class DlcConfig(BaseModel):
    """``households.dlc``: direct load control (see :mod:`.programmes`).

    Enrolled homes (a seeded draw of ``share``) have the listed devices limited
    to ``limit_frac`` of their rated electric power while an event is active.
    Defaults: at most 3 events a day of at most 2 h each, the blocking times
    German network operators may impose on heat pumps on a heat-pump tariff
    ("EVU-Sperre", commonly up to 3 x 2 h a day in the operators' technical
    connection conditions; quoted from common tariff terms, not one cited
    document). The limit of 50 % of rated power is an assumption (the
    EVU-Sperre blocks fully, ``limit_frac: 0``; cycling programmes of US
    utilities commonly run at 50 % duty). Enrolment of every home and the
    payment per event (0) are scenario choices.
    """

    model_config = _CFG
    #: Share of homes enrolled [-] (seeded draw; scenario choice).
    share: float = Field(default=1.0, ge=0, le=1)
    #: Devices the operator limits.
    devices: list[Literal["heat_pump", "ev"]] = Field(default_factory=lambda: ["heat_pump", "ev"], min_length=1)
    #: Limit during an event, share of rated electric power [-] (assumption, see the class).
    limit_frac: float = Field(default=0.5, ge=0, le=1)
    #: When an event starts.
    trigger: DlcTrigger
    #: Events per home and day at most (3, EVU-Sperre terms; see the class).
    max_events_per_day: int = Field(default=3, ge=1)
    #: Longest event [s] (2 h, EVU-Sperre terms; see the class).
    max_duration_s: int = Field(default=2 * 3600, gt=0)
    #: Paid to an enrolled home for each event it is called in [EUR] (scenario choice).
    payment_eur_per_event: float = Field(default=0.0, ge=0)


class EmergencyDrEvent(BaseModel):
    """One emergency curtailment request: ``{start: ISO, duration_s, reduction_frac}``."""

    model_config = _CFG
    #: Start of the request (ISO 8601, the run's clock).
    start: str
    #: Length of the request [s].
    duration_s: int = Field(gt=0)
    #: Share of the flexible consumption a complying home sheds [-].
    reduction_frac: float = Field(gt=0, le=1)

    @field_validator("start")
    @classmethod
    def _iso(cls, v: str) -> str:
        import pandas as pd

        try:
            pd.Timestamp(v)
        except (ValueError, TypeError):
            raise ValueError(f"start must be an ISO 8601 time such as 2016-01-12T17:00:00; got {v!r}") from None
        return v


class EmergencyDrConfig(BaseModel):
    """``households.emergency_dr``: emergency demand response (see :mod:`.programmes`).

    Every home is enrolled; for each event each home complies with
    probability ``compliance_rate`` (seeded) by reducing its flexible
    consumption (heat pump, EV charging, battery charging) by the event's
    ``reduction_frac``. The defaults are assumptions (no cited programme).
    """

    model_config = _CFG
    #: The curtailment requests.
    events: list[EmergencyDrEvent] = Field(min_length=1)
    #: Probability that a home complies with a request [-] (assumption).
    compliance_rate: float = Field(default=0.8, ge=0, le=1)
    #: Paid per MWh of reduction delivered [EUR/MWh] (scenario choice).
    payment_eur_per_mwh: float = Field(default=0.0, ge=0)
    #: What the paid reduction is measured against: ``meter_before``, the home's mean metered
    #: import over ``baseline_window_s`` before the request (NAESB "Meter Before / Meter After"
    #: baseline of emergency programmes); ``own_decision``, the power its own energy manager
    #: wanted in the same step (an upper bound: a curtailed heat pump asks for more each step).
    baseline: Literal["meter_before", "own_decision"] = "meter_before"
    #: Window of the meter-before baseline [s] (one hour; assumption).
    baseline_window_s: int = Field(default=3600, gt=0)


#: Load classes that become homes unless ``households.include`` says otherwise:
#: SimBench household (H0) profiles, and loads without a SimBench profile (one's own net).
DEFAULT_INCLUDE = ("household", "unclassified")


class HouseholdsConfig(BaseModel):
    """The scenario's ``households:`` section."""

    model_config = _CFG
    #: Load classes that become homes (see :func:`.checks.load_classes`); the
    #: others stay profile-driven grid loads. Ignored on a net without LV loads.
    include: list[Literal["household", "commercial", "agricultural", "other", "unclassified"]] = Field(
        default_factory=lambda: list(DEFAULT_INCLUDE), min_length=1)
    #: Home energy manager: none, self_consumption, tariff, market, market_fixed, flex (see
    #: `simulators.household.hems`), an entry point of ``cosim.hems_policies`` or ``module:name``.
    policy: str = "none"
    #: Base load and PV forecast of the next interval: the profile (perfect) or the last value.
    forecast: Literal["perfect", "persistence"] = "perfect"
    #: Rooftop PV.
    pv: PvConfig = PvConfig()
    #: Home batteries.
    battery: BatteryConfig = BatteryConfig()
    #: Electric vehicles with a home charger.
    ev: EvConfig = EvConfig()
    #: Air-source heat pumps.
    heat_pump: HeatPumpConfig = HeatPumpConfig()
    #: Outdoor weather for heat pumps and the ``tmy`` PV chain (see :mod:`.weather`).
    weather: WeatherConfig = WeatherConfig()
    #: ``flex`` policy: aggregator k receives offers (id AGGREGATOR_BASE - k); None = MARKET.
    aggregator: int | None = Field(default=None, ge=0)
    #: Price of flexibility offers [EUR/MWh]; a scenario choice, no published default.
    flex_price_eur_per_mwh: float = 100.0
    #: Direct load control (None: off).
    dlc: DlcConfig | None = None
    #: Emergency demand response (None: off).
    emergency_dr: EmergencyDrConfig | None = None
    #: Send each interval's metered energy to the market (METER messages) for settlement.
    send_meter_readings: bool = True

    @model_validator(mode="before")
    @classmethod
    def _no_tariff(cls, data):
        if isinstance(data, dict) and "tariff" in data:
            raise ValueError(_MOVED_TARIFF.format(section="households"))
        if isinstance(data, dict) and "weather_file" in data:
            raise ValueError("weather_file is no longer accepted (it only offered two US TMY files); "
                             "use weather: {file: PATH, format: epw|tmy3|pvgis}, or leave weather out "
                             "for the German default")
        return data

    @field_validator("policy")
    @classmethod
    def _policy(cls, v: str) -> str:
        if v in POLICIES:
            return v
        from .hems import resolve_policy

        resolve_policy(v)  # PluginError (a ValueError): one line, lists the allowed names
        return v
