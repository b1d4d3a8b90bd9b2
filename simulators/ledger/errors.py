"""Typed errors of the ledger simulator."""

from __future__ import annotations


class LedgerConfigError(ValueError):
    """The ledger simulator's configuration is invalid (``market.ledger``); the message names the field."""


class LedgerInputError(ValueError):
    """A batch of transactions the ledger cannot take (wrong record type, not in time order).

    The market submits :data:`simulators.common.dlt.TX_DTYPE` records at gate
    closure, in time order; fix the sender.
    """
