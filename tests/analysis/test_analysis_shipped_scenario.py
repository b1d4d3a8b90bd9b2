"""cosim check on the shipped default scenario (a short window of it).

Two runs with the same seed must pass against the baseline written from the
first; adding households with PV on every home (higher PV penetration) must
fail and name the grid KPIs it worsens.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.cli import check_main

world = pytest.importorskip("cosim.world")
config = pytest.importorskip("cosim.config")

DEFAULT = Path(__file__).resolve().parents[2] / "scenarios" / "default.yaml"
# Four midday hours keep the runs short while PV feeds in.
WINDOW = ["duration=4h", "start=2016-06-01T10:00:00"]


def _run(out: Path, extra: list[str] = ()) -> Path:
    scenario, text = config.load_scenario(DEFAULT, WINDOW + list(extra))
    world.run_scenario(scenario, text, out)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("shipped")
    base = _run(d / "base.h5")
    baseline = d / "baseline.json"
    assert check_main([str(base), "--baseline", str(baseline), "--write-baseline"]) == 0
    return d, baseline


def test_same_scenario_passes(runs, capsys):
    d, baseline = runs
    again = _run(d / "again.h5")
    assert check_main([str(again), "--baseline", str(baseline)]) == 0
    assert "REGRESSION" not in capsys.readouterr().out


def test_more_pv_fails_and_names_the_kpis(runs, capsys):
    d, baseline = runs
    more_pv = _run(d / "more_pv.h5", ["households.pv.share=1.0"])
    assert check_main([str(more_pv), "--baseline", str(baseline)]) == 1
    out = capsys.readouterr().out
    failed = {l.split()[0] for l in out.splitlines() if l.rstrip().endswith("REGRESSION")}
    # PV on every home raises export and the highest voltage (for orientation, one manual run of
    # this window printed exported 0.153 -> 0.294 MWh, vm max 1.0273 -> 1.0314 pu).
    assert {"grid_vm_max_pu", "grid_energy_exported_mwh"} <= failed
