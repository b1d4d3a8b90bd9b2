"""Checks of the ``households:`` section that need the net, without building anything.

The schema cannot know how many households a grid has. These functions answer
that from the net's tables alone (no profiles, no devices drawn), so a caller
can refuse a configuration before any run starts; :mod:`.population` uses the
same functions when it builds the homes, so both give the same verdict and the
same message.
"""

from __future__ import annotations

import numpy as np

from .schema import HouseholdsConfig

#: Device sections in the order the population draws them.
DEVICES = ("pv", "battery", "ev", "heat_pump")


def load_classes(net) -> np.ndarray:
    """Class of every load of ``net`` from its SimBench ``profile`` name (object array of str).

    SimBench names its load profiles after the German standard load profiles
    (BDEW/VDEW "Standardlastprofile": H0 household, G0-G6 commercial
    ("Gewerbe"), L0-L2 agricultural ("Landwirtschaft")) with a variant
    suffix, e.g. ``H0-A``, ``G1-B``, ``L2-A`` (SimBench documentation, load
    profiles; the list is ``simbench.converter.format_information.load_profiles_list``).
    Classes (:data:`LOAD_CLASSES`): ``household`` (``H*``), ``commercial``
    (``G*``), ``agricultural`` (``L*``), ``other`` (any other SimBench profile:
    aggregated LV/MV areas ``lv_*``/``mv_*``, heat pump, EV charging and
    storage profiles ``BL-H``, ``WB-H``, ...) and ``unclassified`` (no profile
    name, e.g. the loads of one's own pandapower net).
    """
    if "profile" not in net.load.columns:
        return np.full(len(net.load), "unclassified", dtype=object)
    out = []
    for name in net.load.profile.astype(object):
        text = "" if name is None or (isinstance(name, float) and np.isnan(name)) else str(name)
        head, digit = text[:1], text[1:2]
        if not text:
            out.append("unclassified")
        elif digit.isdigit() and head in _PREFIX:
            out.append(_PREFIX[head])
        else:
            out.append("other")
    return np.array(out, dtype=object)


#: Load classes in the order of :func:`load_classes`'s documentation.
LOAD_CLASSES = ("household", "commercial", "agricultural", "other", "unclassified")
#: Standard-load-profile letter -> class (H0, G0-G6, L0-L2).
_PREFIX = {"H": "household", "G": "commercial", "L": "agricultural"}


def household_loads(net, include=None) -> tuple[np.ndarray, bool]:
    """Which loads of ``net`` become households.

    Parameters
    ----------
    include : sequence of str, optional
        Load classes (:func:`load_classes`) that become homes; default
        :data:`.schema.DEFAULT_INCLUDE`. Applies to LV loads only.

    Returns
    -------
    mask : numpy.ndarray
        One bool per row of ``net.load``: loads at LV buses (``vn_kv < 1``)
        of an included class; every load when the net has no LV load (each
        stands for a whole LV area, whatever its profile).
    aggregated : bool
        True when no load is at an LV bus (one aggregated household per load).
    """
    from .schema import DEFAULT_INCLUDE

    include = DEFAULT_INCLUDE if include is None else tuple(include)
    vn = net.bus.vn_kv.reindex(net.load.bus).to_numpy()
    lv = vn < 1.0
    aggregated = not lv.any()
    if aggregated:
        return np.ones(len(net.load), dtype=bool), True
    return lv & np.isin(load_classes(net), list(include)), False


def wanted_homes(share: float, count: int | None, n: int) -> int:
    """Homes a device section asks for: ``count``, else ``round(share * n)`` (half up)."""
    return int(count) if count is not None else int(np.floor(share * n + 0.5))


def too_many_homes(field: str, share: float, count: int | None, wanted: int, eligible: int,
                   why: str = "") -> str:
    """The message for a device section that asks for more homes than are eligible."""
    what = f"count={count}" if count is not None else f"share={share}"
    return (f"households.{field}.{what.split('=')[0]}: {what} asks for {wanted} homes but only "
            f"{eligible} {why or 'households exist'} in this grid; use at most {eligible}")


def battery_pool_reason(cfg: HouseholdsConfig) -> str:
    """Why the battery's eligible homes are fewer than all homes ('' when they are not)."""
    return "homes have PV (battery.requires_pv is true)" if cfg.battery.requires_pv else ""


def device_problems(cfg: HouseholdsConfig, n_households: int) -> list[str]:
    """Every device section that asks for more homes than ``n_households`` allow.

    Parameters
    ----------
    cfg : HouseholdsConfig
        The validated ``households:`` section.
    n_households : int
        Households in the grid (see :func:`household_loads`).

    Returns
    -------
    list of str
        One line per problem, starting with the field path; empty if all fit.
    """
    problems = []
    n_pv = min(wanted_homes(cfg.pv.share, cfg.pv.count, n_households), n_households)
    for name in DEVICES:
        dev = getattr(cfg, name)
        eligible, why = n_households, ""
        if name == "battery" and cfg.battery.requires_pv:
            eligible, why = n_pv, battery_pool_reason(cfg)
        k = wanted_homes(dev.share, dev.count, n_households)
        if k > eligible:
            problems.append(too_many_homes(name, dev.share, dev.count, k, eligible, why))
    return problems


def net_problems(cfg: HouseholdsConfig, net) -> list[str]:
    """Problems of the ``households:`` section on ``net`` (see :func:`device_problems`)."""
    mask, _ = household_loads(net, cfg.include)
    return device_problems(cfg, int(mask.sum()))
