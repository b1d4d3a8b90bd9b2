"""Local market operator: order model, clearing mechanisms, DSO validation, settlement.

Import-light on purpose: the mosaik adapter lives in :mod:`simulators.market.mosaik`
and the flexibility-market / DLMP modules are imported where they are used.
"""

from simulators.market.orders import (
    TRADE_DTYPE,
    ClearingContext,
    ClearingResult,
    make_orders,
)
from simulators.market.mechanisms import MECHANISMS, clear

__all__ = [
    "MECHANISMS",
    "TRADE_DTYPE",
    "ClearingContext",
    "ClearingResult",
    "clear",
    "make_orders",
]
