"""Typed errors of the market package.

Every message says what was wrong and how to fix it.
"""

from __future__ import annotations


class MarketError(ValueError):
    """Base class of all input errors raised by the market package."""


class UnknownMechanismError(MarketError):
    """A ``market.mechanism`` that is not built in, not an installed entry point, or a
    ``module:function`` that does not import or has the wrong signature."""


class MechanismResultError(MarketError):
    """A user mechanism returned something that is not a valid :class:`ClearingResult`."""


class OrderBookError(MarketError):
    """An order book that violates the order model (negative quantity, NaN price, bad side)."""


class OrderCsvError(MarketError):
    """A malformed order CSV file; the message names the row and the field."""


class DsoCheckError(MarketError):
    """A DSO validation request that cannot be evaluated (unknown method, bad bus)."""


class MarketConfigError(MarketError):
    """A market configuration that is inconsistent with the run (e.g. gate closure >= step)."""


class LedgerAnswerError(RuntimeError):
    """With ``market.ledger``, the ledger's answer for a gate's transactions is missing
    (the ledger simulator is not wired back to the market at the same instant)."""
