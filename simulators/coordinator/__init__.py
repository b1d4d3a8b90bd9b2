"""TSO–DSO coordinator: SmartNet coordination schemes, DSO traffic light, GOPACS rule.

Public names: :class:`CoordinatorConfig` (scenario section),
:class:`Coordinator` (model), :func:`build_linear_grid` (DSO linear model),
:func:`count_double_activations`, and the typed errors. The mosaik adapter is
``simulators.coordinator.mosaik.CoordinatorSim``.
"""

from .errors import AreaError, CoordinatorError, GridTopologyError, TsoCsvError
from .model import ACTIVATION_DTYPE, Coordinator, count_double_activations
from .network import LinearGrid, build_linear_grid
from .schema import SCHEMES, CoordinatorConfig

__all__ = [
    "ACTIVATION_DTYPE", "AreaError", "Coordinator", "CoordinatorConfig", "CoordinatorError",
    "GridTopologyError", "LinearGrid", "SCHEMES", "TsoCsvError", "build_linear_grid",
    "count_double_activations",
]
