"""Sweep planning (no simulation): expansion, validation, ids, index, hosting capacity."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from cosim.config import apply_overrides
from cosim.errors import ScenarioError
from analysis.hosting import hosting_capacity
from cosim.sweep import INDEX_COLUMNS, SweepConfig, expand, plan_sweep, to_set_item, variant_id, write_index

from .helpers import BASE, write_sweep


def test_grid_variants_and_seeds_are_crossed():
    sw = SweepConfig(base="b.yaml", grid={"a.x": [1, 2], "b": ["p", "q", "r"]},
                     variants=[{"c": True}, {"c": False}], seeds=[7, 8])
    design = expand(sw)
    assert len(design) == 2 * 3 * 2 * 2  # product of the factor sizes
    assert design[0] == {"a.x": 1, "b": "p", "c": True, "seed": 7}
    assert len({json.dumps(d, sort_keys=True) for d in design}) == len(design)


def test_sample_is_reproducible_and_in_range():
    sw = SweepConfig(base="b.yaml", sample={"n": 50, "seed": 3, "ranges": {"k": {"low": 2.0, "high": 5.0}}})
    a, b = expand(sw), expand(sw)
    assert a == b and len(a) == 50
    vals = np.array([d["k"] for d in a])
    assert ((vals >= 2.0) & (vals <= 5.0)).all()
    # same draws as numpy's generator with that seed: low + (high - low) * U
    expect = np.random.default_rng(3).uniform(2.0, 5.0, 50)
    np.testing.assert_array_equal(vals, expect)


@pytest.mark.parametrize("value", [0.1 + 0.2, 1e-300, "2h", "1.0", "yes", None, True, [1, 2.5], {"a": [1]}, 2**62])
def test_set_items_round_trip_through_apply_overrides(value):
    out = apply_overrides({}, [to_set_item("a.b", value)])
    assert out == {"a": {"b": value}}


def test_variant_id_is_sha256_of_canonical_json():
    text = "seed: 3\ngrid: {simbench: x}\n"
    canon = json.dumps({"grid": {"simbench": "x"}, "seed": 3}, sort_keys=True, separators=(",", ":"))
    assert variant_id(text) == hashlib.sha256(canon.encode()).hexdigest()[:16]
    assert variant_id("grid: {simbench: x}\nseed: 3\n") == variant_id(text)  # key order does not matter
    assert variant_id("seed: 4\ngrid: {simbench: x}\n") != variant_id(text)


def test_plan_validates_every_variant_and_lists_every_problem(tmp_path):
    sw = write_sweep(tmp_path / "s.yaml", f"base: {BASE}\n"
                     "grid: {households.pv.share: [0.5, 1.5, 2.0]}\nvariants: [{seed: 1}, {seed: -1}]\n")
    with pytest.raises(ScenarioError) as info:
        plan_sweep(sw)
    lines = info.value.problems
    # share 1.5 and 2.0 fail with both seeds; seed -1 fails with every share
    assert sum(ln.startswith("households.pv.share:") for ln in lines) == 4
    assert sum(ln.startswith("seed:") for ln in lines) == 3
    assert all("(variant " in ln for ln in lines)


def test_plan_ids_are_stable_and_output_dir_resolves(tmp_path):
    sw = write_sweep(tmp_path / "s.yaml", f"base: {BASE}\nseeds: [1, 2]\noutput_dir: {tmp_path / 'o'}\n")
    p1, p2 = plan_sweep(sw), plan_sweep(sw)
    assert [v.variant_id for v in p1.variants] == [v.variant_id for v in p2.variants]
    assert len({v.variant_id for v in p1.variants}) == 2
    assert p1.output_dir == tmp_path / "o"
    assert plan_sweep(sw, tmp_path / "x").output_dir == tmp_path / "x"


def test_duplicate_variants_run_once(tmp_path):
    sw = write_sweep(tmp_path / "s.yaml", f"base: {BASE}\nvariants: [{{seed: 1}}, {{seed: 1}}, {{seed: 2}}]\n")
    assert len(plan_sweep(sw).variants) == 2


def test_index_is_written_atomically(tmp_path):
    row = dict.fromkeys(INDEX_COLUMNS, "")
    row.update(variant_id="abc", status="pending", seed=1, wall_time_s=float("nan"))
    for c in ("vm_min_pu", "vm_max_pu", "line_loading_max_percent", "trafo_loading_max_percent",
              "energy_imported_mwh", "energy_exported_mwh", "pf_not_converged_steps"):
        row[c] = float("nan")
    write_index([row], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep_index.csv", "sweep_index.parquet"]
    df = pd.read_parquet(tmp_path / "sweep_index.parquet")
    assert list(df.columns) == list(INDEX_COLUMNS) and df.loc[0, "variant_id"] == "abc"


def _synthetic_index() -> pd.DataFrame:
    rows = []
    # design A: voltage above 1.1 pu from share 0.75 on; B: line overload from 0.5 on (one of two
    # seeds); C: never violates; D: violates at the smallest share tested
    table = {
        "A": [(0.0, 1.03, 40), (0.25, 1.06, 60), (0.5, 1.09, 80), (0.75, 1.11, 95), (1.0, 1.13, 99)],
        "B": [(0.0, 1.03, 40), (0.25, 1.05, 70), (0.5, 1.07, 101), (0.5, 1.07, 90), (1.0, 1.09, 130)],
        "C": [(0.0, 1.02, 10), (1.0, 1.05, 50)],
        "D": [(0.5, 1.2, 50), (1.0, 1.3, 50)],
    }
    for design, pts in table.items():
        for share, vmax, load in pts:
            rows.append({"overrides": json.dumps({"households.pv.share": share, "market.mechanism": design}),
                         "status": "complete", "vm_max_pu": vmax, "line_loading_max_percent": load,
                         "trafo_loading_max_percent": 20.0})
    rows.append({"overrides": json.dumps({"households.pv.share": 0.25, "market.mechanism": "C"}),
                 "status": "failed", "vm_max_pu": 9.9, "line_loading_max_percent": 999.0,
                 "trafo_loading_max_percent": np.nan})  # failed rows do not count
    return pd.DataFrame(rows)


def test_hosting_capacity_on_a_synthetic_index():
    hc = hosting_capacity(_synthetic_index()).set_index("design")
    # expected values read off the table in _synthetic_index by hand
    assert hc.loc["A", "first_violation_share"] == 0.75 and hc.loc["A", "violation"] == "voltage"
    assert hc.loc["A", "hosting_capacity_share"] == 0.5
    assert hc.loc["B", "first_violation_share"] == 0.5 and hc.loc["B", "violation"] == "loading"
    assert hc.loc["B", "hosting_capacity_share"] == 0.25
    assert np.isnan(hc.loc["C", "first_violation_share"]) and hc.loc["C", "hosting_capacity_share"] == 1.0
    assert hc.loc["C", "n_variants"] == 2
    assert hc.loc["D", "violation"] == "voltage" and np.isnan(hc.loc["D", "hosting_capacity_share"])


def test_hosting_capacity_counts_trafo_overload():
    df = _synthetic_index()
    df.loc[df["overrides"].str.contains('"C"') & df["overrides"].str.contains("1.0"), "trafo_loading_max_percent"] = 120
    hc = hosting_capacity(df).set_index("design")
    assert hc.loc["C", "first_violation_share"] == 1.0 and hc.loc["C", "hosting_capacity_share"] == 0.0


def test_sweep_file_errors_name_the_field(tmp_path):
    sw = write_sweep(tmp_path / "s.yaml", "base: b.yaml\ngird: {}\ntimeout_s: -1\n")
    with pytest.raises(ScenarioError) as info:
        plan_sweep(sw)
    assert sorted(ln.split(":")[0] for ln in info.value.problems) == ["gird", "timeout_s"]


@pytest.mark.parametrize("argv, needle", [
    (["sweep", "--workers", "0", "x.yaml"], "--workers"),
    (["sweep", "--workers", "two", "x.yaml"], "--workers"),
    (["sweep"], "required"),
    (["sweep", "x.yaml", "--bogus"], "unrecognized"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv, needle):
    from cosim.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0]


def test_leading_options_reach_the_sweep_command(tmp_path, capsys):
    from cosim.cli import main

    # `cosim sweep --workers 1 FILE`: the option before the file must not be eaten by the top-level parser
    assert main(["sweep", "--workers", "1", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "missing.yaml: cannot read" in err


def test_plan_checks_every_variant_against_its_grid(tmp_path):
    # tests/sweep/data/base.yaml runs 1-LV-rural1 (13 homes): with PV on round(0.2 x 13) = 3 homes,
    # 60 % batteries in PV homes (8) cannot be placed; 80 % PV (10 homes) can take them
    sw = write_sweep(tmp_path / "s.yaml", f"base: {BASE}\n"
                     "grid: {households.pv.share: [0.2, 0.8], households.battery.share: [0.6]}\n"
                     "variants: [{households.battery.requires_pv: true}, {households.battery.requires_pv: false}]\n")
    with pytest.raises(ScenarioError) as info:
        plan_sweep(sw)
    assert info.value.problems == [
        "households.battery.share: share=0.6 asks for 8 homes but only 3 homes have PV (battery.requires_pv is "
        'true) in this grid; use at most 3 (variant 0: {"households.pv.share": 0.2, "households.battery.share": '
        '0.6, "households.battery.requires_pv": true})']
