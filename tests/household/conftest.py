"""Shared fixtures: the SimBench net is built once per test session (~4 s)."""

import pytest

from simulators.common.netdata import load_net

RURAL = {"simbench": "1-LV-rural1--0-sw"}


@pytest.fixture(scope="session")
def rural_net():
    return load_net(RURAL)
