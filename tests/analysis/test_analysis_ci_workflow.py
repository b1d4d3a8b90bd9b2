"""The shipped GitHub Actions workflow is valid YAML and runs a scenario, then cosim check."""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / "docs" / "ci" / "github-actions.yml"


def test_workflow_runs_scenario_then_check():
    doc = yaml.safe_load(WORKFLOW.read_text())
    steps = doc["jobs"]["check"]["steps"]
    runs = [s.get("run", "") for s in steps]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/setup-python") for u in uses)
    i_run = next(i for i, r in enumerate(runs) if "cosim run" in r)
    i_check = next(i for i, r in enumerate(runs) if "cosim check" in r and "--baseline" in r)
    assert i_run < i_check
    assert any("pip install -e ." in r or "make test" in r for r in runs[:i_run])
