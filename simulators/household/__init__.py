"""Household simulator: base load, PV, battery, EV, heat pump and a home energy manager.

All homes of a grid live in numpy arrays (:class:`HouseholdModel`); the mosaik
adapter is :class:`simulators.household.mosaik.HouseholdSim`.
"""

from .errors import HouseholdConfigError, HouseholdDataError
from .schema import HouseholdsConfig

__all__ = ["HOUSEHOLD_SERIES", "HouseholdConfigError", "HouseholdDataError", "HouseholdModel",
           "HouseholdsConfig", "Population", "build_population"]

_LAZY = {
    "HOUSEHOLD_SERIES": ".model",
    "HouseholdModel": ".model",
    "Population": ".population",
    "build_population": ".population",
}


def __getattr__(name: str):
    """Import model modules on first use, so reading a scenario schema stays fast."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module, __name__), name)
