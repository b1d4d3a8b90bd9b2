"""Typed errors of the grid simulator."""


class GridModelError(ValueError):
    """The net contains something the grid simulator cannot model."""
