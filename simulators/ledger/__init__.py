"""Distributed ledger for peer-to-peer settlement, as its own simulator.

The block and queue model is :mod:`simulators.common.dlt` (shared with the
market's scenario schema); :mod:`.model` applies it to the market's
transactions, :mod:`.mosaik` is the adapter. Started only when the scenario
sets ``market.ledger``.
"""

from simulators.ledger.model import EVENT_LEDGER_DTYPE, SCALARS, LedgerService

__all__ = ["EVENT_LEDGER_DTYPE", "SCALARS", "LedgerService"]
