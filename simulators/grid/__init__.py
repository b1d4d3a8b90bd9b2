"""Grid simulator: time-series AC power flow on SimBench / pandapower nets."""

from .errors import GridModelError
from .model import GridModel, StepResult

__all__ = ["GridModel", "GridModelError", "StepResult"]
