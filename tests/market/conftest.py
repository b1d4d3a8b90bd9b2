"""Shared fixtures for the market tests (SimBench nets are slow to build: module scope)."""

from __future__ import annotations

import functools

import pytest


@functools.lru_cache(maxsize=2)
def _net(code: str):
    import simbench

    return simbench.get_simbench_net(code)


@pytest.fixture(scope="session")
def lv_rural1():
    """SimBench 1-LV-rural1--0-sw (read-only; copy before modifying)."""
    return _net("1-LV-rural1--0-sw")
