"""Household simulator: base load, PV, battery, EV, heat pump and a home energy manager.

All homes of a grid live in numpy arrays (:class:`HouseholdModel`); the mosaik
adapter is :class:`simulators.household.mosaik.HouseholdSim`.
"""

from simulators.common.lazy import lazy_getattr

from .errors import HouseholdConfigError, HouseholdDataError
from .schema import HouseholdsConfig

__all__ = ["HouseholdConfigError", "HouseholdDataError", "HouseholdModel",
           "HouseholdsConfig", "Population", "build_population"]

_LAZY = {
    "HouseholdModel": ".model",
    "Population": ".population",
    "build_population": ".population",
}

__getattr__ = lazy_getattr(__name__, _LAZY)
