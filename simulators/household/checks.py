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


def household_loads(net) -> tuple[np.ndarray, bool]:
    """Which loads of ``net`` become households.

    Returns
    -------
    mask : numpy.ndarray
        One bool per row of ``net.load``: loads at LV buses (``vn_kv < 1``);
        every load when the net has no LV load.
    aggregated : bool
        True when no load is at an LV bus (one aggregated household per load).
    """
    vn = net.bus.vn_kv.reindex(net.load.bus).to_numpy()
    sel = vn < 1.0
    aggregated = not sel.any()
    if aggregated:
        sel = np.ones(len(net.load), dtype=bool)
    return sel, aggregated


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
    mask, _ = household_loads(net)
    return device_problems(cfg, int(mask.sum()))
