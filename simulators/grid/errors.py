"""Typed errors of the grid simulator."""

from simulators.common.network.errors import NetworkModelError

#: The net contains something the grid simulator cannot model (raised by the
#: network core's AC model, which the grid simulator uses as is).
GridModelError = NetworkModelError
