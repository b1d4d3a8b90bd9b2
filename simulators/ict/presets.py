"""Access-technology presets and their sources.

Conventions
-----------
* Latencies are **one-way** [ms]. Where a source reports round-trip times (RTT),
  the one-way median is taken as RTT/2 (symmetric path assumed).
* Latency model: shifted log-normal (see :class:`~simulators.ict.schema.TechnologyParams`).
  ``latency_min_ms`` is the standard's user-plane target or the physical floor;
  ``latency_median_ms`` the measured median; ``latency_sigma`` sets the tail.
  A measured RTT p95/median ratio ``r`` gives ``sigma = ln((r*med - min)/(med - min)) / 1.645``;
  where the source gives no percentile the sigma is a stated modelling choice.
* Loss: Gilbert–Elliott with ``loss_good=0``, ``loss_bad=1`` (Gilbert's original
  model), evolving in continuous time: given a mean loss ``L`` and a mean burst
  duration ``b`` [s], ``bad_share = L`` and ``burst_mean_s = b``
  (:func:`ge_from_loss`). Burst durations are in seconds, not messages, so an
  outage lasts as long whether a household sends every second or every
  15 minutes (a household sends ~1.6 messages per 15 min; a burst of 10
  *messages* would have lasted about 90 min). Yajnik et al. (1999),
  "Measurement and modelling of the temporal dependence in packet loss", IEEE
  INFOCOM, found loss bursts of mostly one or two packets at probe spacings of
  20-160 ms on Internet paths (~0.1 s), where a 2-state Markov chain fits most
  traces.
* Bandwidth is the household's **uplink** rate (orders and meter readings are
  uplink); the same rate is used for downlink messages (conservative).
* Random outages (``mtbf_h``/``mttr_h``) are off in every preset; a scenario
  enables them with ``overrides``.

Every value below names its source; values marked "modelling choice" are not
measurements and should be varied in sensitivity studies.
"""

from __future__ import annotations

from .errors import IctConfigError
from .schema import IctConfig, TechnologyParams


def ge_from_loss(mean_loss: float, burst_mean_s: float) -> dict[str, float]:
    """Gilbert parameters for a stationary loss ``mean_loss`` [-] and mean burst duration [s]."""
    return {"bad_share": mean_loss, "burst_mean_s": burst_mean_s, "loss_good": 0.0, "loss_bad": 1.0}


PRESETS: dict[str, TechnologyParams] = {
    # Fibre to the home (GPON).
    # Latency: FCC "Measuring Broadband America" (MBA) Eighth Fixed Broadband
    #   Report (2018, data Sept 2017), chart "Latency by ISP": fibre ISPs show
    #   mean RTTs of about 10-13 ms -> one-way median 6 ms; min 2 ms (modelling
    #   choice: propagation + ONT/OLT processing). sigma 0.5: modelling choice.
    # Loss: MBA Eighth report, packet-loss chart: the large majority of panelists
    #   have peak-period loss < 0.4 %; fibre at the low end -> 0.1 %, bursts of
    #   0.1 s mean (Yajnik et al. 1999: one or two packets at 20-160 ms spacing).
    # Bandwidth: ITU-T G.984.2 GPON upstream 1.24416 Gbit/s shared over a 1:32
    #   split -> 38.9 Mbit/s per ONT at full load.
    "fiber": TechnologyParams(
        latency_min_ms=2.0, latency_median_ms=6.0, latency_sigma=0.5,
        **ge_from_loss(0.001, 0.1), bandwidth_kbps=38_880.0, shared_medium=False,
    ),
    # DSL (ADSL2+/VDSL2).
    # Latency: FCC MBA Eighth report, "Latency by ISP": DSL ISPs show mean RTTs
    #   of about 25-45 ms -> one-way median 15 ms; min 5 ms (interleaving +
    #   DSLAM, modelling choice); sigma 0.6 (modelling choice).
    # Loss: MBA Eighth report: DSL panelists are the group with the most
    #   > 0.4 % loss -> 0.3 %, bursts of 0.1 s mean (Yajnik et al. 1999).
    # Bandwidth: ITU-T G.992.5 (ADSL2+) Annex A upstream about 1 Mbit/s.
    "dsl": TechnologyParams(
        latency_min_ms=5.0, latency_median_ms=15.0, latency_sigma=0.6,
        **ge_from_loss(0.003, 0.1), bandwidth_kbps=1_000.0, shared_medium=False,
    ),
    # LTE (4G) cellular.
    # Latency: Huang et al. (2012), "A close examination of performance and
    #   power characteristics of 4G LTE networks", ACM MobiSys: median RTT of
    #   about 70 ms in their 4GTest data set -> one-way median 35 ms.
    #   Min 5 ms: 3GPP TR 25.913 (E-UTRA requirements) user-plane target
    #   < 5 ms one-way in an unloaded cell. sigma 0.5 (modelling choice).
    # Loss: residual loss after HARQ/RLC-ARQ, 0.5 %. Bursts of 1 s mean:
    #   modelling choice, the default radio-link-problem timer T310 = 1000 ms
    #   of 3GPP TS 36.331 (a fade shorter than that is recovered without a
    #   radio link failure; radio fades last longer than wired loss bursts).
    # Bandwidth: Huang et al. (2012): median uplink throughput about 5.6 Mbit/s.
    "lte": TechnologyParams(
        latency_min_ms=5.0, latency_median_ms=35.0, latency_sigma=0.5,
        **ge_from_loss(0.005, 1.0), bandwidth_kbps=5_600.0, shared_medium=False,
    ),
    # 5G NR (eMBB).
    # Latency: ITU-R M.2410-0 (2017) / 3GPP TR 38.913 §7.5: user-plane latency
    #   4 ms one-way for eMBB -> min 4 ms. Median 10 ms: public-network
    #   measurements (Kottkamp, Rohde & Schwarz, "Measurements show 5G
    #   improves latency in public networks", 5G Technology World, 2022)
    #   report 5G latencies well below LTE's; 10 ms is a modelling choice
    #   within that range. sigma 0.5 (modelling choice).
    # Loss: 0.1 %, bursts of 0.1 s mean (modelling choice, as fibre; eMBB has
    #   HARQ + RLC ARQ).
    # Bandwidth: ITU-R M.2410-0 user-experienced uplink data rate 50 Mbit/s.
    "5g": TechnologyParams(
        latency_min_ms=4.0, latency_median_ms=10.0, latency_sigma=0.5,
        **ge_from_loss(0.001, 0.1), bandwidth_kbps=50_000.0, shared_medium=False,
    ),
    # Narrow-band power-line communication (G3-PLC / PRIME), CENELEC-A band.
    # Bandwidth: ITU-T G.9903 (G3-PLC) maximum PHY rate in CENELEC-A
    #   33.4 kbit/s; shared by the meters of one LV feeder (one data
    #   concentrator per secondary substation, Sendin et al. 2014, "Strategies
    #   for PLC smart metering network deployment", Energies 7:2377).
    # Latency: multi-hop PRIME/G3 IP round trips on LV grids are hundreds of
    #   milliseconds (Sendin et al. 2015, "Adaptation of PLC-based smart
    #   metering deployments to the requirements of smart grids", Energies
    #   8:13481) -> one-way median 250 ms, min 20 ms, sigma 0.8 (modelling
    #   choice within that order of magnitude).
    # Loss: 2 % - modelling choice within the 95-99 % delivery ratios typical
    #   of PLC AMI. Bursts of 30 s mean: assumption (no measured distribution
    #   of PLC link-down durations was found); the order of a G3-PLC route
    #   repair or of a noisy appliance switching on and off, far shorter than
    #   the 90 min a 10-message burst meant at 1.6 messages per 15 min.
    "nb_plc": TechnologyParams(
        latency_min_ms=20.0, latency_median_ms=250.0, latency_sigma=0.8,
        **ge_from_loss(0.02, 30.0), bandwidth_kbps=33.4, shared_medium=True,
    ),
    # RF mesh AMI (IEEE 802.15.4g SUN / Wi-SUN FAN 1.0).
    # Bandwidth: IEEE 802.15.4-2015 SUN FSK as used by Wi-SUN FAN 1.0: 50, 100
    #   or 150 kbit/s (Hirakawa, Mizutani & Harada, "Specification and
    #   performance analysis of Wi-SUN FAN", IEEE) -> mandatory 50 kbit/s,
    #   shared per feeder-area mesh.
    # Latency: multi-hop Wi-SUN FAN round trips of a few hundred ms
    #   (Mulder & Tedeschi 2024, "An examination of the latencies found in a
    #   Wi-SUN FAN network", Int. J. Media Netw. 2(9)) -> one-way median
    #   150 ms, min 10 ms, sigma 0.8 (modelling choice).
    # Loss: 1 %, bursts of 10 s mean: assumption (the order of an RPL parent
    #   switch in a Wi-SUN mesh); no measured distribution was found.
    "rf_mesh": TechnologyParams(
        latency_min_ms=10.0, latency_median_ms=150.0, latency_sigma=0.8,
        **ge_from_loss(0.01, 10.0), bandwidth_kbps=50.0, shared_medium=True,
    ),
    # Ideal network: zero latency, zero loss, infinite bandwidth. A run with it
    # reproduces the run without the ICT simulator (by definition, no source).
    "ideal": TechnologyParams(
        latency_min_ms=0.0, latency_median_ms=0.0, latency_sigma=0.0,
        bad_share=0.0, burst_mean_s=1.0, loss_good=0.0, loss_bad=1.0,
        bandwidth_kbps=None, shared_medium=False,
    ),
}


#: Preset fields for which null is a value: no bandwidth limit, no random outages.
NULLABLE = ("bandwidth_kbps", "mtbf_h", "mttr_h")


def resolve(config: IctConfig) -> dict[str, TechnologyParams]:
    """Preset + scenario overrides for every technology named in ``config``.

    Returns the technologies with a non-zero share or an override, in the
    order of ``config.technologies``. Raises :class:`IctConfigError` when an
    override produces an inconsistent parameter set (e.g. median < min).
    """
    names = list(config.technologies) + [n for n in config.overrides if n not in config.technologies]
    out: dict[str, TechnologyParams] = {}
    for name in names:
        base = PRESETS[name].model_dump()
        override = config.overrides.get(name)
        if override is not None:
            # the fields given, also through a JSON dump (the override serialises only those);
            # null replaces the preset only where it is a value (no bandwidth limit, no outages)
            given = override.model_dump(exclude_unset=True)
            base.update({k: v for k, v in given.items() if v is not None or k in NULLABLE})
        try:
            out[name] = TechnologyParams(**base)
        except ValueError as exc:
            raise IctConfigError(f"ict.overrides.{name}: {exc}") from None
    return out
