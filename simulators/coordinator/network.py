"""The DSO's linear grid model as the coordinator sees it.

The model itself (radial LinDistFlow flows and voltages, nested transformer
areas) is the network core's :mod:`simulators.common.network.radial`; this
module only turns its errors into the coordinator's scenario errors.
"""

from __future__ import annotations

from simulators.common.network import errors as _core
from simulators.common.network.radial import LinearGrid
from simulators.common.network.radial import build_linear_grid as _build

from .errors import AreaError, GridTopologyError

__all__ = ["LinearGrid", "build_linear_grid"]


def build_linear_grid(net, areas="auto") -> LinearGrid:
    """:func:`simulators.common.network.radial.build_linear_grid` for ``coordinator.areas``.

    Raises
    ------
    AreaError
        An area index is not an in-service transformer of the grid.
    GridTopologyError
        No in-service slack.
    """
    try:
        return _build(net, areas)
    except _core.AreaError as exc:  # the core says "areas: ...": name the scenario field
        raise AreaError(f"coordinator.{exc}") from None
    except _core.GridTopologyError as exc:
        raise GridTopologyError(str(exc)) from None
