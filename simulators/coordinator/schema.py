"""Scenario section ``coordinator:`` (pydantic v2, frozen, ``extra="forbid"``).

Example::

    coordinator:
      scheme: local            # centralized | local | shared_balancing | common | integrated
      areas: auto              # or a list of trafo indices, e.g. [0, 3]
      activation_lead_s: 120
      tso: {source: ar1, system_sigma_mw: 500, phi_15min: 0.7, price_eur_per_mwh: 150}
      dso: {max_loading_percent: 100, vm_min_pu: 0.9, vm_max_pu: 1.1}
      brp: {sigma_mw: 0.0, price_eur_per_mwh: 100}
      shared_balancing: {pcc_band_mw: 0.05}
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from simulators.common.schema import STRICT

SCHEMES = ("centralized", "local", "shared_balancing", "common", "integrated")

#: Schemes in which the DSO traffic light gates TSO activations by default
#: (ENERA: the DSO signal restricts the TSO's use of distribution flexibility).
#: ``centralized`` is the baseline that ignores the DSO; ``common`` has the
#: network constraints in its clearing; ``shared_balancing`` has no TSO use.
TRAFFIC_LIGHT_DEFAULT = {"centralized": False, "local": True, "shared_balancing": False,
                         "common": False, "integrated": True}


class _Frozen(BaseModel):
    model_config = STRICT


class TsoConfig(_Frozen):
    """TSO balancing need and price (see :mod:`simulators.coordinator.tso`)."""

    #: ``ar1``, ``csv``, an entry point of group ``cosim.tso_processes`` or
    #: ``package.module:function`` (imported: runs user code, see docs/extending.md).
    source: str = "ar1"
    #: CSV file of the need (``source: csv``): columns time, need_mw, price_eur_per_mwh.
    csv_path: str | None = None
    #: Parameters of a user process (``TsoInput.config["params"]``); unused by ar1 / csv.
    params: dict[str, Any] = Field(default_factory=dict)
    #: stationary mean of the system imbalance [MW] (0: no bias; assumption).
    mean_mw: float = 0.0
    #: std of the system imbalance [MW]; assumption of the order of the German
    #: NRV-Saldo (netztransparenz.de), see tso.py.
    system_sigma_mw: float = Field(500.0, ge=0.0)
    #: lag-1 autocorrelation per 15 min (assumption, see tso.py).
    phi_15min: float = Field(0.7, ge=0.0, lt=1.0)
    #: share of the system imbalance assigned to the coordinator's areas [-];
    #: None: nominal area load / German peak load 80 GW (tso.GERMAN_PEAK_LOAD_MW).
    area_share: float | None = Field(None, ge=0.0)
    #: TSO price for activated energy [EUR/MWh]; assumption of the order of
    #: German aFRR energy prices (regelleistung.net), replace with the CSV.
    price_eur_per_mwh: float = 150.0

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        from .tso import resolve_tso_process

        resolve_tso_process(v)  # TsoProcessError (a ValueError): one line, lists the allowed names
        return v

    @model_validator(mode="after")
    def _csv(self) -> "TsoConfig":
        if self.source == "csv":
            if not self.csv_path:
                raise ValueError("coordinator.tso.csv_path: required when source is 'csv'")
            from .tso import read_tso_csv

            read_tso_csv(self.csv_path)  # TsoCsvError (a ValueError) names file, field, line
        elif self.csv_path is not None:
            raise ValueError(
                f"coordinator.tso.csv_path: {self.csv_path!r} given but source is "
                f"{self.source!r}; set source: csv or drop csv_path"
            )
        return self


class DsoConfig(_Frozen):
    """DSO limits, traffic light thresholds and DSO price."""

    #: thermal limit of lines and transformers [%] (rating = 100 %).
    max_loading_percent: float = Field(100.0, gt=0.0)
    #: EN 50160: supply voltage within +-10 % of nominal.
    vm_min_pu: float = Field(0.90, gt=0.0)
    #: EN 50160: supply voltage within +-10 % of nominal.
    vm_max_pu: float = Field(1.10, gt=0.0)
    #: amber when a forecast loading exceeds this [%] (assumption: 80 % leaves
    #: room for forecast error, cf. the 0.6/0.8 thresholds of the German
    #: NRV-Saldo traffic light, netztransparenz.de).
    amber_loading_percent: float = Field(80.0, gt=0.0)
    #: amber when a forecast voltage is within this margin of its limit [pu] (assumption).
    amber_vm_margin_pu: float = Field(0.02, ge=0.0)
    #: DSO willingness to pay for congestion relief [EUR/MWh] (assumption).
    price_eur_per_mwh: float = 250.0
    #: penalty on residual violations in the clearing LPs [EUR/MWh]; must
    #: exceed every offer price so relieving a violation always pays.
    violation_penalty_eur_per_mwh: float = Field(1.0e4, gt=0.0)
    #: power factor used to turn active flow into apparent loading [-]
    #: (1.0: the linear model uses active power only).
    power_factor: float = Field(1.0, gt=0.0, le=1.0)

    @model_validator(mode="after")
    def _order(self) -> "DsoConfig":
        if not self.vm_min_pu < self.vm_max_pu:
            raise ValueError(
                f"coordinator.dso.vm_min_pu ({self.vm_min_pu}) must be < vm_max_pu ({self.vm_max_pu})"
            )
        if self.amber_loading_percent > self.max_loading_percent:
            raise ValueError(
                f"coordinator.dso.amber_loading_percent ({self.amber_loading_percent}) must be "
                f"<= max_loading_percent ({self.max_loading_percent})"
            )
        return self


class BrpConfig(_Frozen):
    """A balance responsible party buying flexibility in the integrated scheme.

    Its need follows its own AR(1) (same form as the TSO's, seeded from the
    coordinator's generator); ``sigma_mw = 0`` and ``mean_mw = 0`` disable it.
    """

    #: stationary mean of the BRP's need [MW] (0: none; scenario choice).
    mean_mw: float = 0.0
    #: std of the BRP's need [MW] (0: none; scenario choice).
    sigma_mw: float = Field(0.0, ge=0.0)
    #: lag-1 autocorrelation of the need per 15 min (assumption, as the TSO's).
    phi_15min: float = Field(0.7, ge=0.0, lt=1.0)
    #: BRP price [EUR/MWh] (assumption, below the TSO's aFRR price).
    price_eur_per_mwh: float = 100.0


class SharedBalancingConfig(_Frozen):
    """Agreed PCC exchange schedule of the shared-balancing scheme."""

    #: schedule per area [MW], consumer reference (import > 0); None: the
    #: first forecast exchange of each area is held for the whole run.
    pcc_schedule_mw: list[float] | None = None
    #: half-width of the agreed band around the schedule [MW] (assumption).
    pcc_band_mw: float = Field(0.05, ge=0.0)


class CoordinatorConfig(_Frozen):
    """The ``coordinator:`` section of a scenario."""

    #: TSO-DSO coordination scheme (the five SmartNet coordination schemes; see
    #: `simulators.coordinator.schemes` and scenarios/README.md).
    scheme: Literal["centralized", "local", "shared_balancing", "common", "integrated"] = "local"
    #: 'auto' (the deepest transformer level: MV/LV trafos of an MV+LV grid,
    #: HV/MV trafos of an HV+MV grid) or a list of trafo indices.
    areas: Literal["auto"] | list[int] = "auto"
    #: activation is decided this long before the interval starts [s].
    activation_lead_s: int = Field(120, ge=0)
    #: gate TSO activations with the DSO traffic light; None: scheme default
    #: (schema.TRAFFIC_LIGHT_DEFAULT).
    traffic_light: bool | None = None
    #: The TSO's balancing need and price.
    tso: TsoConfig = TsoConfig()
    #: The DSO's limits, traffic light and price.
    dso: DsoConfig = DsoConfig()
    #: A balance responsible party's need (integrated scheme).
    brp: BrpConfig = BrpConfig()
    #: The agreed PCC schedule (shared-balancing scheme).
    shared_balancing: SharedBalancingConfig = SharedBalancingConfig()

    @field_validator("areas")
    @classmethod
    def _areas(cls, v):
        if isinstance(v, list):
            if not v:
                raise ValueError("coordinator.areas: empty list; give trafo indices or 'auto'")
            if len(set(v)) != len(v) or min(v) < 0:
                raise ValueError(
                    f"coordinator.areas: {v} must be distinct non-negative trafo indices"
                )
        return v

    def uses_traffic_light(self) -> bool:
        """Whether TSO activations are gated by the traffic light."""
        if self.traffic_light is None:
            return TRAFFIC_LIGHT_DEFAULT[self.scheme]
        return self.traffic_light
