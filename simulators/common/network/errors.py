"""Typed errors of the network core."""

from __future__ import annotations


class NetworkModelError(ValueError):
    """The net contains something the network core cannot model.

    The message names the table or column and says how to make the net
    supported (e.g. set voltage-dependent load shares to 0).
    """
