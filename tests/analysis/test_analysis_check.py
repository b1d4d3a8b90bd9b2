"""cosim check: verdict rules, baseline round trip, exit codes 0 / 1 / 2."""

from __future__ import annotations

import json
import math

import pytest

from analysis.check import Tolerance, judge
from analysis.cli import check_main, kpis_main, report_main
from analysis.kpis import EQUAL, HIGHER, LOWER
from analysis.synthetic import make_result


@pytest.mark.parametrize(
    ("base", "now", "tol", "verdict"),
    [
        # allowed = max(abs 0.1, rel 0.1 x |10|) = 1.0
        (10.0, 11.0, Tolerance(0.1, 0.1, LOWER), "ok"),  # +1.0 <= 1.0
        (10.0, 11.01, Tolerance(0.1, 0.1, LOWER), "REGRESSION"),  # +1.01 > 1.0
        (10.0, 8.0, Tolerance(0.1, 0.1, LOWER), "better"),  # -2 < -1
        (10.0, 8.0, Tolerance(0.1, 0.1, HIGHER), "REGRESSION"),  # higher is better, dropped by 2 > 1
        (10.0, 12.0, Tolerance(0.1, 0.1, HIGHER), "better"),
        (10.0, 9.5, Tolerance(0.1, 0.1, EQUAL), "ok"),
        (10.0, 12.0, Tolerance(0.1, 0.1, EQUAL), "REGRESSION"),  # equal: improvements count too
        (0.0, 0.0, Tolerance(0.0, 0.0, EQUAL), "ok"),
        (0.0, 1.0, Tolerance(0.0, 0.5, LOWER), "REGRESSION"),  # rel of a zero baseline allows nothing
        (None, None, Tolerance(0.0, 0.0, EQUAL), "n/a"),
        (None, 1.0, Tolerance(0.0, 0.0, EQUAL), "new"),
        (1.0, None, Tolerance(0.0, 0.0, EQUAL), "REGRESSION"),  # a KPI that disappears is a regression
    ],
)
def test_judge(base, now, tol, verdict):
    assert judge(base, now, tol)[1] == verdict


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("runs")
    base = make_result(d / "base.h5", n_steps=48, seed=3)
    same = make_result(d / "same.h5", n_steps=48, seed=3)
    # Doubling PV peak power raises feeder voltages (synthetic linear feeder model).
    more_pv = make_result(d / "more_pv.h5", n_steps=48, seed=3, pv_kwp=12.0)
    baseline = d / "baseline.json"
    assert check_main([str(base), "--baseline", str(baseline), "--write-baseline"]) == 0
    return base, same, more_pv, baseline


def test_identical_run_passes(runs, capsys):
    _, same, _, baseline = runs
    assert check_main([str(same), "--baseline", str(baseline)]) == 0
    out = capsys.readouterr().out
    assert "pass" in out and "REGRESSION" not in out
    for col in ("KPI", "baseline", "now", "delta", "verdict"):
        assert col in out.splitlines()[0]


def test_more_pv_fails_naming_the_kpi(runs, capsys):
    _, _, more_pv, baseline = runs
    assert check_main([str(more_pv), "--baseline", str(baseline)]) == 1
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("grid_vm_max_pu "))
    assert line.rstrip().endswith("REGRESSION")
    assert "REGRESSION in" in out and "grid_vm_max_pu" in out.splitlines()[-1]


def test_write_baseline_keeps_tolerances(runs, tmp_path):
    base, _, more_pv, baseline = runs
    doc = json.loads(baseline.read_text())
    assert doc["kpis"]["grid_vm_max_pu"]["tolerance"]["direction"] == LOWER
    doc["kpis"]["grid_vm_max_pu"]["tolerance"]["abs"] = 0.5  # a generous hand-edited tolerance
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc))
    assert check_main([str(base), "--baseline", str(edited), "--write-baseline"]) == 0
    assert json.loads(edited.read_text())["kpis"]["grid_vm_max_pu"]["tolerance"]["abs"] == 0.5


def test_not_applicable_kpis_are_null_and_pass_while_absent(tmp_path, capsys):
    grid_only = make_result(tmp_path / "g.h5", n_steps=8, include=("grid",))
    baseline = tmp_path / "g.json"
    assert check_main([str(grid_only), "--baseline", str(baseline), "--write-baseline"]) == 0
    assert json.loads(baseline.read_text())["kpis"]["market_welfare_eur"]["value"] is None
    assert check_main([str(grid_only), "--baseline", str(baseline)]) == 0
    assert any(l.startswith("market_welfare_eur ") and l.rstrip().endswith("n/a") for l in capsys.readouterr().out.splitlines())


def _bad_baseline(tmp_path, content):
    p = tmp_path / f"b{len(list(tmp_path.glob('b*.json')))}.json"
    p.write_text(content)
    return str(p)


def test_bad_inputs_exit_2(runs, tmp_path, tiny_factory, capsys):
    base, _, _, baseline = runs
    not_h5 = tmp_path / "x.h5"
    not_h5.write_text("no")
    v2 = tiny_factory(tmp_path / "v2.h5", layout_version=2)
    unknown = {"format": "cosim-baseline", "version": 1, "kpis": {"grid_bogus_kpi": {"value": 1, "tolerance": {}}}}
    bad_dir = {"format": "cosim-baseline", "version": 1, "kpis": {"grid_vm_max_pu": {"value": 1, "tolerance": {"direction": "up"}}}}
    cases = [
        ([str(not_h5), "--baseline", str(baseline)], "not an HDF5 file"),
        ([str(v2), "--baseline", str(baseline)], "layout_version is 2"),
        ([str(base), "--baseline", str(tmp_path / "none.json")], "baseline file not found"),
        ([str(base), "--baseline", _bad_baseline(tmp_path, json.dumps(unknown))], "unknown KPI(s) grid_bogus_kpi"),
        ([str(base), "--baseline", _bad_baseline(tmp_path, json.dumps(bad_dir))], "allowed: not_worse_higher_is_better"),
        ([str(base), "--baseline", _bad_baseline(tmp_path, "{not json")], "not valid JSON"),
        ([str(base)], "--baseline"),  # argparse: missing required option
    ]
    for argv, message in cases:
        assert check_main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err, (argv, err)
        assert "Traceback" not in err
        if "--baseline" in argv:
            assert len(err.strip().splitlines()) == 1, err


def test_kpis_and_report_bad_input_exit_2(tmp_path, capsys):
    not_h5 = tmp_path / "x.h5"
    not_h5.write_text("no")
    assert kpis_main([str(not_h5)]) == 2
    assert report_main([str(not_h5), "-o", str(tmp_path / "r")]) == 2
    assert "not an HDF5 file" in capsys.readouterr().err


def test_kpis_json(tiny, capsys):
    assert kpis_main([str(tiny), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    # 0.85 pu: the lowest entry of the tiny vm_pu array (conftest)
    assert doc["grid_vm_min_pu"] == {
        "value": 0.85, "unit": "pu", "applicable": True, "description": doc["grid_vm_min_pu"]["description"]
    }
    assert doc["market_bill_saving_mean_eur"]["value"] is None and not doc["market_bill_saving_mean_eur"]["applicable"]
    assert all(v["value"] is None or math.isfinite(v["value"]) for v in doc.values())


def test_kpis_text(tiny, capsys):
    assert kpis_main([str(tiny)]) == 0
    out = capsys.readouterr().out
    assert any(l.startswith("grid_vm_min_pu") and "0.85" in l for l in out.splitlines())
