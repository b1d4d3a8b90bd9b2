"""Shared fixtures: SimBench nets are slow to build, so share them per session."""

from __future__ import annotations

import warnings

import pytest

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)


@pytest.fixture(scope="session")
def lv_rural_net():
    from simulators.common.netdata import load_net

    return load_net({"simbench": "1-LV-rural1--0-sw"})

try:  # property tests: reproducible examples in CI, fresh exploration locally
    import os

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        settings.load_profile("ci")
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    pass
