"""Every scenario file that ships in scenarios/ validates and is listed in
scenarios/README.md (the catalogue users read first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cosim.config import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))


def test_there_are_shipped_scenarios():
    assert {"default.yaml", "market_lv_congested.yaml", "market_mvlv_congested.yaml"} <= {p.name for p in FILES}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_shipped_scenario_validates_and_is_listed(path):
    load_scenario(path)
    assert f"`{path.name}`" in (SCENARIOS / "README.md").read_text()
