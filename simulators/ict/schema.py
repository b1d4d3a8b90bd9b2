"""Scenario section ``ict:``: the communication network, its faults and attacks.

All models are frozen pydantic v2 models with ``extra="forbid"``; field names
carry units. Values are validated once, here; the model trusts them.

Example (YAML)::

    ict:
      technologies: {fiber: 0.3, lte: 0.7}     # shares of households, sum to 1
      overrides: {lte: {latency_median_ms: 50}}
      backhaul: {latency_min_ms: 1, latency_median_ms: 2, latency_sigma: 0.3}
      outages:
        - {feeders: [3, 4], start_s: 600, end_s: 1200}
      dos:
        - {endpoint: market, start_s: 800, end_s: 900, extra_latency_ms: 500, loss: 0.3}
      forged:
        - {at_s: 850, count: 20, kind: bid}
      order_deadline_s: 300
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator, model_serializer

from simulators.common.schema import STRICT

from .errors import IctConfigError

#: Names of the technology presets (see :mod:`simulators.ict.presets`).
TECHNOLOGY_NAMES = ("fiber", "dsl", "lte", "5g", "nb_plc", "rf_mesh", "ideal")

#: Endpoint names accepted by ``dos[].endpoint`` and ``forged[].receiver``.
ENDPOINT_NAMES = ("market", "dso", "tso", "coordinator", "retailer")

_FROZEN = STRICT


class _LatencyLoss(BaseModel):
    """Shifted log-normal latency + loss; shared by access technologies and backhaul."""

    model_config = _FROZEN

    latency_min_ms: float = Field(0.0, ge=0.0, description="Shift of the latency distribution [ms]")
    latency_median_ms: float = Field(0.0, ge=0.0, description="Median one-way latency [ms]")
    latency_sigma: float = Field(0.0, ge=0.0, description="Log-normal shape of (latency - min) [-]")

    @model_validator(mode="after")
    def _median_above_min(self):
        if self.latency_median_ms < self.latency_min_ms:
            raise ValueError(
                f"latency_median_ms={self.latency_median_ms} is below latency_min_ms="
                f"{self.latency_min_ms}; the median must be >= the minimum"
            )
        return self


class TechnologyParams(_LatencyLoss):
    """One access technology (a preset, or a preset with scenario overrides).

    Latency [ms] = ``latency_min_ms + (latency_median_ms - latency_min_ms) * exp(latency_sigma * Z)``,
    ``Z ~ N(0, 1)``, i.e. ``scipy.stats.lognorm(s=latency_sigma, loc=latency_min_ms,
    scale=latency_median_ms - latency_min_ms)``. It is the one-way latency from the
    household to the endpoint *excluding* serialisation and queueing, which come
    from ``bandwidth_kbps`` and ``shared_medium``.

    Loss is a Gilbert–Elliott two-state chain per household that evolves in
    *time* (continuous-time Markov chain): the bad state lasts on average
    ``burst_mean_s`` seconds and holds the share ``bad_share`` of the time, so
    the good state lasts ``burst_mean_s * (1 - bad_share) / bad_share`` on
    average. The chain is sampled at each message's send time; a message is
    lost with ``loss_good`` / ``loss_bad`` in the state it is sent in. Outage
    durations therefore do not depend on how often a household sends.
    Stationary loss is ``(1 - bad_share)*loss_good + bad_share*loss_bad``.
    """

    bad_share: float = Field(0.0, ge=0.0, lt=1.0, description="Stationary share of time in the bad state [-]")
    burst_mean_s: float = Field(1.0, gt=0.0, description="Mean duration of the bad state [s]")
    loss_good: float = Field(0.0, ge=0.0, le=1.0, description="Loss probability in the good state [-]")
    loss_bad: float = Field(1.0, ge=0.0, le=1.0, description="Loss probability in the bad state [-]")
    bandwidth_kbps: float | None = Field(
        None, gt=0.0, description="Link rate for serialisation [kbit/s]; None = infinite"
    )
    shared_medium: bool = Field(False, description="Households on one feeder share one FIFO link")
    mtbf_h: float | None = Field(None, gt=0.0, description="Mean time between random link outages [h]")
    mttr_h: float | None = Field(None, gt=0.0, description="Mean time to repair a link outage [h]")

    @model_validator(mode="after")
    def _chain_and_outages(self):
        if (self.mtbf_h is None) != (self.mttr_h is None):
            raise ValueError(
                f"mtbf_h={self.mtbf_h} and mttr_h={self.mttr_h}: give both or neither"
            )
        return self

    @property
    def mean_loss(self) -> float:
        """Stationary loss probability of the Gilbert–Elliott chain [-]."""
        return (1.0 - self.bad_share) * self.loss_good + self.bad_share * self.loss_bad


class TechnologyOverride(BaseModel):
    """Scenario overrides of single preset fields (unset fields keep the preset).

    ``null`` means "none" where the preset field allows it (``bandwidth_kbps``:
    no limit; ``mtbf_h`` / ``mttr_h``: no random outages) and keeps the preset
    elsewhere. Only the fields given are serialised, so a dump of the scenario
    (the simulator's configuration, the stored resolved scenario) keeps that
    distinction.
    """

    model_config = _FROZEN

    @model_serializer(mode="wrap")
    def _only_given(self, handler):
        return {k: v for k, v in handler(self).items() if k in self.model_fields_set}

    #: Shift of the latency distribution [ms] (unset: the preset's).
    latency_min_ms: float | None = Field(None, ge=0.0)
    #: Median one-way latency [ms] (unset: the preset's).
    latency_median_ms: float | None = Field(None, ge=0.0)
    #: Log-normal shape of (latency - min) [-] (unset: the preset's).
    latency_sigma: float | None = Field(None, ge=0.0)
    #: Stationary share of time in the bad (burst-loss) state [-] (unset: the preset's).
    bad_share: float | None = Field(None, ge=0.0, lt=1.0)
    #: Mean duration of the bad state [s] (unset: the preset's).
    burst_mean_s: float | None = Field(None, gt=0.0)
    #: Loss probability in the good state [-] (unset: the preset's).
    loss_good: float | None = Field(None, ge=0.0, le=1.0)
    #: Loss probability in the bad state [-] (unset: the preset's).
    loss_bad: float | None = Field(None, ge=0.0, le=1.0)
    #: Access link bandwidth [kbit/s] (null: no limit; unset: the preset's).
    bandwidth_kbps: float | None = Field(None, gt=0.0)
    #: Households on one feeder share one FIFO link (unset: the preset's).
    shared_medium: bool | None = None
    #: Mean time between random link outages [h] (null: none; unset: the preset's).
    mtbf_h: float | None = Field(None, gt=0.0)
    #: Mean time to repair a link outage [h] (null: none; unset: the preset's).
    mttr_h: float | None = Field(None, gt=0.0)

    @model_validator(mode="before")
    @classmethod
    def _per_message_chain_retired(cls, data):
        if isinstance(data, dict):
            old = [k for k in ("p_gb", "p_bg") if k in data]
            if old:
                raise ValueError(
                    f"{'/'.join(old)}: per-message chain parameters are no longer accepted (they counted "
                    "loss bursts in messages); the loss chain evolves in time: give bad_share (share of "
                    "time in the bad state, [0, 1)) and burst_mean_s (mean bad-state duration [s])")
        return data


class BackhaulParams(_LatencyLoss):
    """Aggregation → endpoint stage, added to every message (also endpoint-to-endpoint).

    Defaults to zero: the preset latencies are end-to-end measurements to a
    server (FCC MBA, Huang et al. 2012), which already contain the backhaul.
    Use it for extra distance to the market operator, or set it alone for
    endpoint-to-endpoint traffic (market → DSO).
    """

    loss: float = Field(0.0, ge=0.0, le=1.0, description="Independent loss probability [-]")


class OutageWindow(BaseModel):
    """A scheduled outage: messages sent in ``[start_s, end_s)`` are dropped.

    ``technologies`` None = the feeder's backhaul is down (every household on
    the feeder, any technology); a list = only the access networks of those
    technologies on the feeder (e.g. the PLC data concentrator).
    """

    model_config = _FROZEN

    feeders: list[int] | Literal["all"] = Field(description="Feeder ids, or 'all'")
    start_s: float = Field(ge=0.0, description="Start [s since run start]")
    end_s: float = Field(description="End, exclusive [s since run start]")
    #: Access technologies that fail on the feeders (null: the feeders' backhaul, every home).
    technologies: list[str] | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if self.end_s <= self.start_s:
            raise ValueError(f"end_s={self.end_s} must be > start_s={self.start_s}")
        return self

    @field_validator("technologies")
    @classmethod
    def _known(cls, v):
        for t in v or []:
            if t not in TECHNOLOGY_NAMES:
                raise ValueError(f"unknown technology {t!r}; allowed: {', '.join(TECHNOLOGY_NAMES)}")
        return v


class DosAttack(BaseModel):
    """Flood at an endpoint: messages reaching it in ``[start_s, end_s)`` get an extra
    exponentially distributed delay with mean ``extra_latency_ms`` and are lost with ``loss``."""

    model_config = _FROZEN

    #: The flooded endpoint.
    endpoint: Literal["market", "dso", "tso", "coordinator", "retailer"]
    #: Start of the flood [s since run start].
    start_s: float = Field(ge=0.0)
    #: End of the flood, exclusive [s since run start].
    end_s: float
    extra_latency_ms: float = Field(ge=0.0, description="Mean extra queueing delay [ms]")
    loss: float = Field(0.0, ge=0.0, le=1.0, description="Loss probability during the flood [-]")

    @model_validator(mode="after")
    def _ordered(self):
        if self.end_s <= self.start_s:
            raise ValueError(f"end_s={self.end_s} must be > start_s={self.start_s}")
        return self


class ForgedInjection(BaseModel):
    """Inject ``count`` forged orders at ``at_s`` (attack knobs, not published values).

    Each carries a random existing household as sender, the order kind, and a
    random non-zero ``tag`` that is not a valid authentication tag, so the
    market's authentication must reject it.
    """

    model_config = _FROZEN

    at_s: float = Field(ge=0.0, description="Injection time [s since run start]")
    #: Number of forged orders injected at ``at_s``.
    count: int = Field(gt=0)
    #: Order kind of the forged orders.
    kind: Literal["bid", "offer"] = "bid"
    #: Endpoint the forged orders are sent to.
    receiver: Literal["market", "dso"] = "market"
    quantity_mwh: float = Field(0.01, gt=0.0, description="Quantity per forged order [MWh]")
    price_eur_per_mwh: float = Field(300.0, description="Limit price per forged order [EUR/MWh]")


class IctConfig(BaseModel):
    """The scenario's ``ict:`` section."""

    model_config = _FROZEN

    #: Access technology -> share of homes using it (shares sum to 1; presets in `simulators.ict.presets`).
    technologies: dict[str, float] = Field(default_factory=lambda: {"ideal": 1.0})
    #: Per technology, preset fields to replace.
    overrides: dict[str, TechnologyOverride] = Field(default_factory=dict)
    #: Aggregation -> endpoint stage added to every message.
    backhaul: BackhaulParams = Field(default_factory=BackhaulParams)
    #: Scheduled outages of feeders' backhaul or access networks.
    outages: list[OutageWindow] = Field(default_factory=list)
    #: Denial-of-service floods at endpoints.
    dos: list[DosAttack] = Field(default_factory=list)
    #: Injections of forged orders (to exercise the market's authentication).
    forged: list[ForgedInjection] = Field(default_factory=list)
    order_deadline_s: float | None = Field(
        None,
        ge=0.0,
        description="If set: BID/OFFER/FLEX_OFFER arriving later than interval_s - this [s] are marked LATE",
    )

    @field_validator("technologies")
    @classmethod
    def _shares(cls, v: dict[str, float]):
        for name, share in v.items():
            if name not in TECHNOLOGY_NAMES:
                raise ValueError(
                    f"unknown technology {name!r}; allowed: {', '.join(TECHNOLOGY_NAMES)}"
                )
            if not (0.0 <= share <= 1.0) or not math.isfinite(share):
                raise ValueError(f"share of {name!r} is {share}; shares must lie in [0, 1]")
        total = math.fsum(v.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"shares {v} sum to {total!r}; they must sum to 1 (within 1e-9)")
        return v

    @field_validator("overrides")
    @classmethod
    def _override_names(cls, v: dict[str, TechnologyOverride]):
        for name in v:
            if name not in TECHNOLOGY_NAMES:
                raise ValueError(
                    f"unknown technology {name!r}; allowed: {', '.join(TECHNOLOGY_NAMES)}"
                )
        return v

    @model_validator(mode="after")
    def _no_overlapping_outages(self):
        """Two windows with overlapping time, feeders and technology scope are rejected:
        they describe the same failure twice with different bounds (merge them)."""
        w = self.outages
        for i in range(len(w)):
            for j in range(i + 1, len(w)):
                a, b = w[i], w[j]
                if a.start_s >= b.end_s or b.start_s >= a.end_s:
                    continue
                fa = None if a.feeders == "all" else set(a.feeders)
                fb = None if b.feeders == "all" else set(b.feeders)
                if fa is not None and fb is not None and not (fa & fb):
                    continue
                ta = None if a.technologies is None else set(a.technologies)
                tb = None if b.technologies is None else set(b.technologies)
                if ta is not None and tb is not None and not (ta & tb):
                    continue
                raise ValueError(
                    f"outages[{i}] [{a.start_s}, {a.end_s}) s and outages[{j}] "
                    f"[{b.start_s}, {b.end_s}) s overlap on the same feeders/technologies; "
                    "merge them into one window"
                )
        return self


def parse_config(section: dict | IctConfig | None) -> IctConfig:
    """Validate the ``ict:`` section; raise :class:`IctConfigError` listing all errors.

    Each line names the field path (e.g. ``ict.technologies``), the bad value and
    what is allowed.
    """
    if isinstance(section, IctConfig):
        return section
    try:
        return IctConfig.model_validate(section or {})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in ("ict", *err["loc"]))
            lines.append(f"{loc}: {err['msg']} (got {err.get('input')!r})")
        raise IctConfigError("invalid ict section:\n  " + "\n  ".join(lines)) from None
