"""TSO–DSO coordinator: SmartNet coordination schemes, DSO traffic light, GOPACS rule.

Public names: :class:`CoordinatorConfig` (scenario section),
:class:`Coordinator` (model), :func:`build_linear_grid` (DSO linear model),
:func:`count_double_activations`, and the typed errors. The mosaik adapter is
``simulators.coordinator.mosaik.CoordinatorSim``.
"""

from simulators.common.lazy import lazy_getattr

from .errors import AreaError, CoordinatorError, GridTopologyError, TsoCsvError
from .schema import SCHEMES, CoordinatorConfig

__all__ = [
    "ACTIVATION_DTYPE", "AreaError", "Coordinator", "CoordinatorConfig", "CoordinatorError",
    "GridTopologyError", "LinearGrid", "SCHEMES", "TsoCsvError", "build_linear_grid",
    "count_double_activations",
]

_LAZY = {
    "ACTIVATION_DTYPE": ".model",
    "Coordinator": ".model",
    "count_double_activations": ".model",
    "LinearGrid": ".network",
    "build_linear_grid": ".network",
}

__getattr__ = lazy_getattr(__name__, _LAZY)
