"""Shared fixtures: SimBench nets are slow to build, so share them per session."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings

import pytest

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)


@pytest.fixture(scope="session", autouse=True)
def _private_grid_cache():
    """The parsed-grid cache of this test session: never the user's (``~/.cache/cosim``).

    Set in ``os.environ`` so that ``cosim run`` subprocesses share it.
    """
    old = os.environ.get("COSIM_CACHE_DIR")
    path = tempfile.mkdtemp(prefix="cosim-test-cache-")
    os.environ["COSIM_CACHE_DIR"] = path
    yield path
    if old is None:
        os.environ.pop("COSIM_CACHE_DIR", None)
    else:
        os.environ["COSIM_CACHE_DIR"] = old
    shutil.rmtree(path, ignore_errors=True)


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
