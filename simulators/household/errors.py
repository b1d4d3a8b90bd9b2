"""Typed errors of the household simulator."""

from __future__ import annotations


class HouseholdConfigError(ValueError):
    """The ``households:`` scenario section does not fit the grid it runs on.

    Raised while the population is built (the schema alone cannot know how
    many households a net has). The message starts with the field path.
    """


class HouseholdDataError(RuntimeError):
    """Input data (SimBench profiles, TMY weather file) is missing or unusable."""
