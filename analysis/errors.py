"""Typed errors of the analysis package.

Every error says what was wrong and how to fix it; the CLI prints the message
on one line and exits with code 2.
"""

from __future__ import annotations


class AnalysisError(ValueError):
    """Base class of all analysis input errors."""


class ResultFileError(AnalysisError):
    """A result file cannot be read: not HDF5, another layout, missing groups."""


class BaselineError(AnalysisError):
    """A baseline JSON file is missing, malformed or names unknown KPIs."""
