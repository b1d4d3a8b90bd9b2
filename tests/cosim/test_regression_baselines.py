"""Grid-impact regression: the shipped scenarios must pass `cosim check` against
the committed baselines (baselines/*.json, written with --write-baseline).

This is the CI guard the README describes: a change that moves a KPI beyond
its tolerance in the worse direction (or changes an "equal" KPI) fails here.
After an intended change, rewrite the baseline and commit it:
    cosim run scenarios/<name>.yaml -o out/<name>.h5
    cosim check out/<name>.h5 --baseline baselines/<name>.json --write-baseline
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.cli import check_main
from cosim.config import load_scenario
from cosim.world import run_scenario

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["default", "market_lv_rural"])
def test_shipped_scenario_passes_its_baseline(name, tmp_path, capsys):
    sc, text = load_scenario(REPO / "scenarios" / f"{name}.yaml")
    out = tmp_path / f"{name}.h5"
    run_scenario(sc, text, out)
    rc = check_main([str(out), "--baseline", str(REPO / "baselines" / f"{name}.json")])
    report = capsys.readouterr().out
    assert rc == 0, report
    assert "pass:" in report
