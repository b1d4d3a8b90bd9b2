"""Fixtures of the sweep tests (helpers live in helpers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def broken_net(tmp_path) -> Path:
    """A 'pandapower JSON net' that passes validation but cannot be loaded at run time."""
    p = tmp_path / "broken_net.json"
    p.write_text('{"this is": "not a pandapower net"}')
    return p
