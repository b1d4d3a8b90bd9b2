"""The study definitions of analysis.compare: every variant validates, every KPI
column exists, and the design study is the full mechanism x DSO check x ICT grid."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.compare import DESIGN_ICT, DESIGN_MECHANISMS, STUDIES
from analysis.kpis import REGISTRY
from cosim.config import load_scenario

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_study_kpis_are_registered(name):
    assert set(STUDIES[name]["kpis"]) <= set(REGISTRY)


def test_design_study_is_the_full_grid_of_variants():
    runs = STUDIES["design"]["runs"]
    assert len(runs) == len(DESIGN_MECHANISMS) * 3 * len(DESIGN_ICT) == 30
    for mech in DESIGN_MECHANISMS:
        for check in ("none", "caps", "ac_check"):
            for ict in DESIGN_ICT:
                scenario, overrides = runs[f"{mech} / {check} / {ict}"]
                sc, _ = load_scenario(REPO / scenario, overrides)
                assert (sc.market.mechanism, sc.market.dso_check) == (mech, check)
                assert sc.ict is not None and (sc.ict.outages != []) == (ict == "lte_outage")


@pytest.mark.parametrize("name", sorted(n for n in STUDIES if "baseline" in STUDIES[n]))
def test_baseline_pairs_differ_only_by_the_programme(name):
    # the paired columns are run-to-run differences: the baseline must be the same scenario
    # and overrides without the demand-response programme
    runs = STUDIES[name]["runs"]
    for label, base in STUDIES[name]["baseline"].items():
        (sc_run, ov_run), (sc_base, ov_base) = runs[label], runs[base]
        assert sc_run == sc_base
        extra = [o for o in ov_run if o not in ov_base]
        assert set(ov_base) <= set(ov_run) and extra
        assert all(o.startswith(("households.dlc=", "households.emergency_dr=")) for o in extra)
