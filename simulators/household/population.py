"""Households built from the loads of a pandapower/SimBench net.

One household per load at an LV bus (``vn_kv < 1``) whose class (from its
SimBench profile name, :func:`.checks.load_classes`) is in
``households.include`` (default: household profiles and loads without a
profile); the other loads, and loads at MV/HV buses, stay profile-driven grid
elements. A net without any LV load (an MV-only grid) gets one
*aggregated* household per load element instead: the same device logic then
acts on a whole LV area behind that load, which is a coarse stand-in and is
flagged in the ``aggregated`` column of the households table.

SimBench PV sgens
-----------------
``pv.sgen_mode = keep`` (default): SimBench sgens stay grid elements and the
PV drawn by ``pv.share`` comes on top (installed PV = SimBench + drawn).
``absorb``: each PV sgen at a bus that has households is split equally over
the households at that bus, keeps its own SimBench profile, and becomes
controllable (curtailment, reactive power); the grid drops it
(:meth:`Population.modelled_sgens`). Installed PV is conserved exactly in both
modes.

Device assignment
-----------------
For each device ``round(share * n_households)`` homes (or exactly ``count``)
are drawn without replacement from the eligible homes (all homes; for the
battery with ``requires_pv`` only PV homes) with the scenario generator, in
the fixed order pv, battery, ev, heat pump, then sizes in the same order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from simulators.common.netdata import PROFILE_ROWS, ElementProfiles, element_profiles

from .checks import battery_pool_reason, household_loads, load_classes, too_many_homes, wanted_homes
from .errors import HouseholdConfigError
from .schema import HouseholdsConfig, SizeDist

logger = logging.getLogger(__name__)


def draw_sizes(dist: SizeDist, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` sizes from ``dist`` (normal draws clipped at 0)."""
    if dist.dist == "fixed":
        return np.full(n, float(dist.value))
    if dist.dist == "uniform":
        return rng.uniform(dist.low, dist.high, n)
    return np.maximum(rng.normal(dist.mean, dist.std, n), 0.0)


def pick_homes(share: float, count: int | None, eligible: np.ndarray, rng: np.random.Generator,
               field: str, why: str = "") -> np.ndarray:
    """Boolean mask of the homes that get a device.

    Raises
    ------
    HouseholdConfigError
        The share/count asks for more homes than are eligible (the message of
        :func:`.checks.too_many_homes`).
    """
    n = len(eligible)
    k = wanted_homes(share, count, n)
    n_el = int(eligible.sum())
    if k > n_el:
        raise HouseholdConfigError(too_many_homes(field, share, count, k, n_el, why))
    mask = np.zeros(n, dtype=bool)
    if k:
        mask[rng.choice(np.flatnonzero(eligible), size=k, replace=False)] = True
    return mask


def _subset(ep: ElementProfiles, sel: np.ndarray) -> ElementProfiles:
    return ep.subset(sel)


@dataclass
class Population:
    """Static description of all households (arrays of length ``n``).

    Sizes are zero where a home has no such device. Powers [MW], energies
    [MWh], temperatures [C], heat loss coefficient [MW/K], capacity [MWh/K].
    """

    n: int
    load_idx: np.ndarray
    load_class: np.ndarray
    bus: np.ndarray
    bus_pos: np.ndarray
    bus_index: np.ndarray
    aggregated: bool
    load_p: ElementProfiles
    load_q: ElementProfiles
    has_pv: np.ndarray
    pv_drawn_mw: np.ndarray
    pv_sgen_mw: np.ndarray
    pv_norm_year: np.ndarray
    sgen_idx: np.ndarray
    sgen_p: ElementProfiles | None
    sgen_bus_pos: np.ndarray
    homes_per_bus: np.ndarray
    has_battery: np.ndarray
    bat_e_mwh: np.ndarray
    has_ev: np.ndarray
    ev_e_mwh: np.ndarray
    ev_p_mw: np.ndarray
    has_hp: np.ndarray
    hp_h_mw_per_k: np.ndarray
    hp_c_mwh_per_k: np.ndarray

    @property
    def pv_mw(self) -> np.ndarray:
        """Installed PV per household (drawn + absorbed sgens) [MWp]."""
        return self.pv_drawn_mw + self.pv_sgen_mw

    def base_p_mw(self, row: int) -> np.ndarray:
        """Base load per household [MW], exactly the SimBench absolute value."""
        return self.load_p.at(row)

    def base_q_mvar(self, row: int) -> np.ndarray:
        """Base reactive load per household [Mvar] (SimBench absolute value)."""
        return self.load_q.at(row)

    def pv_avail_mw(self, row: int) -> np.ndarray:
        """Available PV AC power per household before limits [MW]."""
        p = self.pv_norm_year[row % PROFILE_ROWS] * self.pv_drawn_mw
        if self.sgen_p is not None and len(self.sgen_idx):
            s = self.sgen_p.at(row)
            per_bus = np.bincount(self.sgen_bus_pos, weights=s, minlength=len(self.bus_index))
            p = p + per_bus[self.bus_pos] / self.homes_per_bus[self.bus_pos]
        return p

    def to_bus(self, x: np.ndarray) -> np.ndarray:
        """Sum a per-household array per bus (``net.bus.index`` order)."""
        return np.bincount(self.bus_pos, weights=x, minlength=len(self.bus_index))

    def modelled_sgens(self) -> list[int]:
        """SimBench sgen indices absorbed into households."""
        return [int(i) for i in self.sgen_idx]


def _pv_norm_year(net, cfg: HouseholdsConfig) -> np.ndarray:
    from . import weather

    pv = cfg.pv
    if pv.source == "tmy":
        return weather.pv_norm(weather.for_net(net, cfg.weather), pv.tilt_deg, pv.azimuth_deg,
                               pv.gamma_pdc_per_k, pv.dc_losses_frac, pv.inverter_efficiency)
    ren = net.profiles.get("renewables") if hasattr(net, "profiles") else None
    if ren is None:
        raise HouseholdConfigError("households.pv.source: 'simbench' needs a net with SimBench profiles; use 'tmy'")
    name = pv.simbench_profile
    if name == "auto":
        used = net.sgen.loc[net.sgen.type.astype(str).str.contains("PV"), "profile"].dropna()
        cols = [c for c in ren.columns if str(c).startswith("PV")]
        name = used.mode().iloc[0] if len(used) else (cols[0] if cols else "")
    if name not in ren.columns:
        allowed = [c for c in ren.columns if str(c).startswith("PV")]
        raise HouseholdConfigError(
            f"households.pv.simbench_profile: {name!r} is not in this net's profiles; allowed: {allowed}"
        )
    return ren[name].to_numpy(dtype=float)


def build_population(net, cfg: HouseholdsConfig, rng: np.random.Generator) -> Population:
    """Turn the loads of ``net`` into households and draw their devices."""
    bus_index = net.bus.index.to_numpy()
    sel, aggregated = household_loads(net, cfg.include)
    if aggregated:
        logger.info("no LV loads: one aggregated household per load (%d)", sel.sum())
    n = int(sel.sum())
    load_idx = net.load.index.to_numpy()[sel]
    load_class = load_classes(net)[sel]
    bus = net.load.bus.to_numpy()[sel]
    bus_pos = np.searchsorted(bus_index, bus) if np.all(np.diff(bus_index) > 0) else \
        np.array([net.bus.index.get_loc(b) for b in bus])
    homes_per_bus = np.bincount(bus_pos, minlength=len(bus_index)).astype(float)
    load_p = _subset(element_profiles(net, "load", "p_mw"), sel)
    load_q = _subset(element_profiles(net, "load", "q_mvar"), sel)

    everyone = np.ones(n, dtype=bool)
    has_pv = pick_homes(cfg.pv.share, cfg.pv.count, everyone, rng, "pv")
    has_bat = pick_homes(cfg.battery.share, cfg.battery.count,
                         has_pv if cfg.battery.requires_pv else everyone, rng, "battery",
                         battery_pool_reason(cfg))
    has_ev = pick_homes(cfg.ev.share, cfg.ev.count, everyone, rng, "ev")
    has_hp = pick_homes(cfg.heat_pump.share, cfg.heat_pump.count, everyone, rng, "heat_pump")

    def sized(mask: np.ndarray, dist: SizeDist, scale: float) -> np.ndarray:
        out = np.zeros(n)
        out[mask] = draw_sizes(dist, int(mask.sum()), rng) * scale
        return out

    pv_drawn = sized(has_pv, cfg.pv.kwp, 1e-3)
    bat_e = sized(has_bat, cfg.battery.e_kwh, 1e-3)
    ev_e = sized(has_ev, cfg.ev.battery_kwh, 1e-3)
    ev_p = sized(has_ev, cfg.ev.charger_kw, 1e-3)
    hp_h = sized(has_hp, cfg.heat_pump.h_w_per_k, 1e-6)
    hp_c = sized(has_hp, cfg.heat_pump.c_kwh_per_k, 1e-3)

    pv_norm = _pv_norm_year(net, cfg) if (has_pv.any() or cfg.pv.source == "simbench") else np.zeros(PROFILE_ROWS)
    sgen_idx = np.zeros(0, dtype=np.int64)
    sgen_p = None
    sgen_bus_pos = np.zeros(0, dtype=np.int64)
    pv_sgen = np.zeros(n)
    if cfg.pv.sgen_mode == "absorb" and len(net.sgen):
        is_pv = net.sgen.type.astype(str).str.contains("PV").to_numpy()
        s_bus_pos = np.array([net.bus.index.get_loc(b) for b in net.sgen.bus], dtype=np.int64)
        take = is_pv & (homes_per_bus[s_bus_pos] > 0) & net.sgen.in_service.to_numpy(bool)
        sgen_idx = net.sgen.index.to_numpy()[take]
        sgen_bus_pos = s_bus_pos[take]
        sgen_p = _subset(element_profiles(net, "sgen", "p_mw"), take)
        cap_bus = np.bincount(sgen_bus_pos, weights=sgen_p.nominal, minlength=len(bus_index))
        pv_sgen = cap_bus[bus_pos] / homes_per_bus[bus_pos]
        has_pv = has_pv | (pv_sgen > 0)
    logger.info("households: %d (pv %d, battery %d, ev %d, heat pump %d)", n, has_pv.sum(),
                has_bat.sum(), has_ev.sum(), has_hp.sum())
    return Population(n, load_idx, load_class, bus, bus_pos, bus_index, aggregated, load_p, load_q, has_pv,
                      pv_drawn, pv_sgen, pv_norm, sgen_idx, sgen_p, sgen_bus_pos, homes_per_bus,
                      has_bat, bat_e, has_ev, ev_e, ev_p, has_hp, hp_h, hp_c)
