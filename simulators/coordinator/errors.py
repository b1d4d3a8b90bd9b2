"""Typed errors of the TSO–DSO coordinator.

Every error says which scenario field is wrong, the bad value and how to fix
it. All subclass :class:`ValueError` so the command line maps them to exit
code 2 (bad input).
"""

from __future__ import annotations

from simulators.common.network import errors as _core


class CoordinatorError(ValueError):
    """Base class of all coordinator input errors."""


class TsoCsvError(CoordinatorError):
    """The TSO need CSV (``coordinator.tso.csv_path``) is missing or malformed."""


class AreaError(_core.AreaError, CoordinatorError):
    """``coordinator.areas`` references a transformer the grid does not have,
    or the grid cannot be split into radial areas."""


class GridTopologyError(_core.GridTopologyError, CoordinatorError):
    """The grid has no slack bus, so the linear DSO model cannot be built."""


class TsoProcessError(CoordinatorError):
    """``coordinator.tso.source`` names no process, a ``module:function`` that does not
    import or has the wrong signature, or a process returned unusable needs."""
