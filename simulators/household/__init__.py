"""Household simulator: base load, PV, battery, EV, heat pump and a home energy manager.

All homes of a grid live in numpy arrays (:class:`HouseholdModel`); the mosaik
adapter is :class:`simulators.household.mosaik.HouseholdSim`.
"""

from .errors import HouseholdConfigError, HouseholdDataError
from .model import HOUSEHOLD_SERIES, HouseholdModel
from .population import Population, build_population
from .schema import HouseholdsConfig

__all__ = ["HOUSEHOLD_SERIES", "HouseholdConfigError", "HouseholdDataError", "HouseholdModel",
           "HouseholdsConfig", "Population", "build_population"]
