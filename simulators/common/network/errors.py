"""Typed errors of the network core."""

from __future__ import annotations


class NetworkModelError(ValueError):
    """The net contains something the network core cannot model.

    The message names the table or column and says how to make the net
    supported (e.g. set voltage-dependent load shares to 0).
    """


class GridTopologyError(NetworkModelError):
    """The grid cannot carry the radial model: no slack bus in service."""


class AreaError(NetworkModelError):
    """Areas reference a transformer the grid does not have (or not radial)."""
