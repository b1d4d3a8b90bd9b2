"""Scenario section ``market``: pydantic v2 models (frozen, extra fields forbidden)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from simulators.common.dlt import LedgerConfig  # the section is shared with the ledger simulator
from simulators.common.schema import STRICT

_FROZEN = STRICT
#: Error for the retired per-section tariff key (one tariff per scenario).
_MOVED_TARIFF = ("market.tariff is no longer accepted: the retail tariff is defined once per scenario "
                 "in the top-level 'tariff:' section (kind, retail_eur_per_mwh, feed_in_eur_per_mwh, ...) "
                 "and shared by households and market; move it there")


class CapsConfig(BaseModel):
    """Import/export limits per zone for ``dso_check: caps`` and ``zonal`` [MW].

    ``None`` means unlimited. A zone's import is the power of trades whose buyer
    is in the zone and seller outside it (export likewise).
    """

    model_config = _FROZEN
    #: Largest import into a zone from local trades [MW] (null: unlimited).
    zone_import_mw: float | None = Field(None, ge=0)
    #: Largest export out of a zone from local trades [MW] (null: unlimited).
    zone_export_mw: float | None = Field(None, ge=0)


class AttackConfig(BaseModel):
    """Injected attacks that show the authenticity checks.

    ``forged_orders_per_interval``: orders with a random (wrong) tag posing as
    random agents; ``replayed_orders_per_interval``: copies of orders accepted
    in the previous interval (same msg_id and tag).
    """

    model_config = _FROZEN
    #: Orders with a wrong tag posing as random agents, per interval.
    forged_orders_per_interval: int = Field(0, ge=0)
    #: Copies of orders accepted in the previous interval, per interval.
    replayed_orders_per_interval: int = Field(0, ge=0)


#: What each DSO model of the reviews sets (``market.dso_model``): who operates the
#: market, the mechanism and DSO check it implies (None: the scenario's choice,
#: within ``allowed``), and who receives the operator's surplus (congestion rents).
DSO_MODELS: dict[str, dict] = {
    # Total DSO: the distribution utility acts as an ISO/RTO at distribution level,
    # runs the local market with nodal prices (DLMP) and dispatches.
    "total": {"operator": "dso", "mechanism": "dlmp", "dso_check": "none", "rent_to": "dso",
              "allowed": ("dlmp",)},
    # Minimal DSO: only the duty to keep the grid reliable as DER grows; markets are
    # run by others. The DSO publishes zone limits (caps) the third-party operator obeys.
    "minimal": {"operator": "third_party", "mechanism": None, "dso_check": "caps", "rent_to": "operator",
                "allowed": ("pay_as_clear", "pay_as_bid", "p2p_cda", "p2p_bilateral", "community")},
    # Independent DSO: an independent, regulated, non-profit market facilitator coordinates
    # distribution operation and open retail markets; the utility keeps the wires. It
    # validates every trade on the grid (ac_check) and returns its surplus to the traders.
    "independent": {"operator": "idso", "mechanism": None, "dso_check": "ac_check", "rent_to": "participants",
                    "allowed": ("pay_as_clear", "pay_as_bid", "p2p_cda", "p2p_bilateral", "community")},
}


class MarketConfig(BaseModel):
    """Scenario section ``market`` (the retail tariff is the scenario's ``tariff`` section)."""

    model_config = _FROZEN

    @model_validator(mode="before")
    @classmethod
    def _no_tariff(cls, data):
        if isinstance(data, dict) and "tariff" in data:
            raise ValueError(_MOVED_TARIFF)
        return data

    #: A built-in (pay_as_clear, pay_as_bid, p2p_cda, p2p_bilateral, community,
    #: tariff, dlmp, lfm), an entry point of group ``cosim.mechanisms`` or
    #: ``package.module:function`` (imported: runs user code, see docs/extending.md).
    mechanism: str = "pay_as_clear"
    gate_closure_s: int = Field(300, ge=0, description="gate closure before delivery [s]")
    #: DSO validation of the cleared trades before execution: none, zone caps, an AC power
    #: flow of the resulting grid state (curtails until feasible), or zonal limits (`simulators.market.dso`).
    dso_check: Literal["none", "caps", "ac_check", "zonal"] = "none"
    #: Deviations from the schedule settled at the tariff, or at the tariff plus a penalty.
    imbalance_price: Literal["tariff", "penalty"] = "tariff"
    #: Penalty per MWh of |metered - scheduled| net energy (``imbalance_price: penalty``) [EUR/MWh].
    imbalance_penalty_eur_per_mwh: float = Field(0.0, ge=0)
    #: Community price: supply-demand ratio (Liu et al. 2017) or mid-market rate (Long et al. 2017).
    community_price_rule: Literal["sdr", "mid_market"] = "sdr"
    #: Voltage band of the DSO check [pu]; EN 50160: supply voltage within +-10 % of nominal.
    voltage_band_pu: tuple[float, float] = (0.9, 1.1)
    #: Thermal limit of lines and transformers in the DSO check [%] (rating = 100 %).
    max_loading_percent: float = Field(100.0, gt=0)
    #: Zone limits for ``dso_check: caps`` and ``zonal``.
    caps: CapsConfig = CapsConfig()
    #: Zones of the caps: one per LV feeder or per transformer.
    zones: Literal["feeder", "trafo"] = "feeder"
    #: Reject orders whose keyed BLAKE2b tag does not verify or that replay an accepted one.
    require_auth: bool = True
    #: Injected forged / replayed orders (to show the authenticity checks).
    attack: AttackConfig = AttackConfig()
    # --- network-aware clearing (mechanism "dlmp", see simulators.market.flexmarket) ---
    #: Upper bound of import and of export at the substation [MW]; None = unlimited.
    import_limit_mw: float | None = Field(None, ge=0)
    #: Price of energy from / to the upstream grid at the slack bus [EUR/MWh]: the
    #: wholesale price, not the retail tariff (households bid their retail price and
    #: must clear against the grid's marginal cost). Default 29: EPEX Spot DE/AT
    #: day-ahead base average 2016, 28.98 EUR/MWh (Fraunhofer ISE, Energy-Charts).
    dlmp_import_price_eur_per_mwh: float = 29.0
    #: Price the upstream grid pays for exported energy [EUR/MWh] (as the import price, EPEX 2016).
    dlmp_export_price_eur_per_mwh: float = 29.0
    #: Price of demand the clearing cannot serve / export it must spill at a bus
    #: [EUR/MWh] (keeps the LP feasible; the volume is published as
    #: ``dlmp_unserved_mw``). Default: the harmonised maximum clearing price of the
    #: EU single day-ahead coupling, 4,000 EUR/MWh (SDAC HMMCP, 2022).
    dlmp_shed_price_eur_per_mwh: float = Field(4000.0, gt=0)
    #: What the DLMP pool clears the orders against: ``orders`` (default) -- the
    #: elements no participant replaces (profiles) when households bid (their orders
    #: carry their whole position, as bid curves do); ``forecast`` -- the whole-grid
    #: forecast minus the orders' net (for net-position bids only).
    dlmp_base: Literal["orders", "forecast"] = "orders"
    #: Model marginal losses in the DLMPs (false: constant losses).
    dlmp_losses: bool = True
    #: Run an AC power flow of the cleared schedule and record its deviation from the linear model.
    dlmp_ac_check: bool = True
    # --- local flexibility market (mechanism "lfm") ---
    #: Clearing objective: welfare (Jin et al., binary acceptance of requests) or the DSO's cost.
    lfm_objective: Literal["welfare", "dso_cost_min"] = "welfare"
    #: Payment of activated flexibility.
    lfm_pricing: Literal["pay_as_bid", "pay_as_clear"] = "pay_as_bid"
    #: Product: scheduled re-profiling (firm), conditional re-profiling (option), or both directions.
    lfm_product: Literal["srp", "crp", "crp2"] = "srp"
    #: DSO forecast horizon for needs, traffic light and REQUEST messages [intervals].
    lfm_horizon_steps: int = Field(4, ge=1, le=96)
    #: DSO value of relief and shortfall penalty [EUR/MWh]: 300, the household
    #: retail price a DSO would otherwise compensate for curtailed energy (BDEW
    #: Strompreisanalyse 2021, ~32 ct/kWh); an assumption, the reviews give none.
    lfm_value_eur_per_mwh: float = Field(300.0, ge=0)
    #: Penalty of unmet need in the DSO-cost objective [EUR/MWh] (assumption, as the value above).
    lfm_penalty_eur_per_mwh: float = Field(300.0, ge=0)
    #: Traffic light amber thresholds (BDEW traffic-light concept 2015 fixes no numbers;
    #: 90 % / 0.01 pu are documented assumptions).
    amber_loading_percent: float = Field(90.0, gt=0)
    #: Amber when a forecast voltage is within this margin of the band [pu] (assumption, see above).
    amber_vm_margin_pu: float = Field(0.01, ge=0)
    #: Households an aggregator bundles into one flexibility profile at most.
    members_per_profile: int = Field(10, ge=1)
    #: Reservation price of options as a share of the activation price (assumption).
    reservation_share: float = Field(0.2, ge=0)
    #: Penalty per undelivered MWh as a multiple of the unit price (assumption).
    settlement_penalty_factor: float = Field(1.0, ge=0)
    #: Households whose FLEX_OFFERs go to the market (not to an aggregator id) are
    #: assigned to aggregator ``row % n_aggregators``.
    n_aggregators: int = Field(1, ge=1)
    #: Settle local trades on a distributed ledger (None: settled instantly).
    ledger: LedgerConfig | None = None
    #: DSO model of the reviews (:data:`DSO_MODELS`): sets operator, mechanism,
    #: DSO check and where the operator's surplus goes; None: as configured,
    #: surplus kept by the operator.
    dso_model: Literal["total", "minimal", "independent"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _removed(cls, data):
        if isinstance(data, dict) and "dso_base" in data:
            raise ValueError(
                f"market.dso_base={data['dso_base']!r} was removed: the DSO now always checks the whole "
                "grid state (elements no participant models from their profiles, participants from their "
                "executed orders); delete the key")
        return data

    @model_validator(mode="before")
    @classmethod
    def _dso_model(cls, data):
        if not isinstance(data, dict) or data.get("dso_model") is None:
            return data
        model = data["dso_model"]
        spec = DSO_MODELS.get(model)
        if spec is None:
            return data  # the Literal reports it
        data = dict(data)
        for key in ("mechanism", "dso_check"):
            want = spec[key]
            got = data.get(key)
            if key == "mechanism":
                if got is None:
                    data[key] = want or "pay_as_clear"
                elif got not in spec["allowed"]:
                    raise ValueError(f"market.mechanism={got!r} contradicts market.dso_model={model!r}; "
                                     f"allowed: {', '.join(spec['allowed'])}")
            elif got is None:
                data[key] = want
            elif got != want:
                raise ValueError(f"market.dso_check={got!r} contradicts market.dso_model={model!r}, "
                                 f"which sets {want!r}; delete the key")
        return data

    @property
    def rent_to(self) -> str:
        """Who receives the operator's surplus: ``operator``, ``dso`` or ``participants``."""
        return "operator" if self.dso_model is None else DSO_MODELS[self.dso_model]["rent_to"]

    @field_validator("mechanism")
    @classmethod
    def _mechanism(cls, v: str) -> str:
        from simulators.market.mechanisms import resolve_mechanism

        resolve_mechanism(v)  # UnknownMechanismError (a ValueError): one line, lists the allowed names
        return v

    @field_validator("voltage_band_pu")
    @classmethod
    def _band(cls, v: tuple[float, float]) -> tuple[float, float]:
        lo, hi = v
        if not (0 < lo < 1 < hi):
            raise ValueError(f"market.voltage_band_pu={v!r}: need 0 < low < 1 < high, e.g. (0.9, 1.1)")
        return v

    @model_validator(mode="after")
    def _amber(self) -> "MarketConfig":
        if self.amber_loading_percent > self.max_loading_percent:
            raise ValueError(
                f"market.amber_loading_percent={self.amber_loading_percent} exceeds "
                f"max_loading_percent={self.max_loading_percent}; amber must be <= the limit")
        return self
