"""DSO traffic light per area (ENERA), from the forecast operating point.

* **red** (2): a forecast loading above ``max_loading_percent`` or a forecast
  voltage outside ``[vm_min_pu, vm_max_pu]`` in the area: the DSO blocks every
  TSO activation of resources in the area.
* **amber** (1): a loading above ``amber_loading_percent`` or a voltage within
  ``amber_vm_margin_pu`` of a limit: TSO activations in the area are allowed
  only up to what the DSO's linear model finds feasible.
* **green** (0): no restriction from the light.

Which schemes apply the light by default is in
:data:`simulators.coordinator.schema.TRAFFIC_LIGHT_DEFAULT` (``local`` and
``integrated``; ``coordinator.traffic_light: true`` adds it to any scheme).
"""

from __future__ import annotations

import numpy as np

GREEN, AMBER, RED = 0, 1, 2


def traffic_light(grid, loading_percent: np.ndarray, vm_pu: np.ndarray, dso) -> np.ndarray:
    """Light per area.

    Parameters
    ----------
    grid : LinearGrid
        Areas and the branch-group / bus to area maps.
    loading_percent : numpy.ndarray
        [n_group] forecast loading [%].
    vm_pu : numpy.ndarray
        [n_bus] forecast voltage [pu] (NaN for unsupplied buses).
    dso : DsoConfig
        Thresholds.

    Returns
    -------
    numpy.ndarray
        int8 [n_area], 0 green, 1 amber, 2 red.
    """
    light = np.zeros(grid.n_area, dtype=np.int8)
    vm = np.nan_to_num(vm_pu, nan=1.0)
    bus_red = (vm > dso.vm_max_pu) | (vm < dso.vm_min_pu)
    bus_amber = (vm > dso.vm_max_pu - dso.amber_vm_margin_pu) | (vm < dso.vm_min_pu + dso.amber_vm_margin_pu)
    br_red = loading_percent > dso.max_loading_percent
    br_amber = loading_percent > dso.amber_loading_percent
    for level, bus_m, br_m in ((AMBER, bus_amber, br_amber), (RED, bus_red, br_red)):
        a_bus = grid.bus_area[bus_m & (grid.bus_area >= 0)]
        a_br = grid.group_area[br_m & (grid.group_area >= 0)]
        light[np.concatenate([a_bus, a_br]).astype(np.int64)] = level
    return light
