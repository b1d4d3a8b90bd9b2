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


@pytest.fixture
def user_code(tmp_path, monkeypatch):
    """``tests/plugins/usermech.py`` copied outside the repository and importable as ``usermech``,
    as a module of a user's own project would be."""
    import shutil
    import sys
    from pathlib import Path

    folder = tmp_path / "user_project"
    folder.mkdir()
    shutil.copy(Path(__file__).parent / "plugins" / "usermech.py", folder / "usermech.py")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "usermech", raising=False)
    yield folder
    sys.modules.pop("usermech", None)
