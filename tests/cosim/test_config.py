"""Scenario validation: every problem reported, one line each, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cosim.cli import main
from cosim.config import load_scenario, validate
from cosim.errors import ScenarioError

TEN_ERRORS = """
name: broken
seed: -3
start: "2015-05-01T00:00:00"
duration: -1d
step: 7min
grid:
  simbench: 1-LV-nowhere--0-sw
colour: blue
output:
  chunk_steps: 0
  compression: zip
  series: {weather: all}
market:
  mechanism: sealed_envelope
"""


def _problems(text: str, tmp_path: Path) -> list[str]:
    p = tmp_path / "s.yaml"
    p.write_text(text)
    with pytest.raises(ScenarioError) as ei:
        load_scenario(p)
    return ei.value.problems


def test_ten_errors_reported_together(tmp_path):
    problems = _problems(TEN_ERRORS, tmp_path)
    joined = "\n".join(problems)
    for field in ("seed", "start", "duration", "step", "grid.simbench", "colour",
                  "output.chunk_steps", "output.compression", "output.series", "market.mechanism"):
        assert any(line.startswith(field + ":") for line in problems), f"{field} missing in:\n{joined}"
    assert len(problems) >= 10
    assert all("\n" not in line for line in problems)


@pytest.mark.parametrize("override, field, fragment", [
    ("colour=blue", "colour", "unknown key; allowed:"),
    ("seed=abc", "seed", "'abc'"),
    ("grid.simbench=1-LV-nowhere--0-sw", "grid.simbench", "unknown SimBench code"),
    ("start=2017-03-01T00:00:00", "start", "outside the SimBench profile year 2016"),
    ("duration=-2d", "duration", "must be positive"),
])
def test_cli_one_line_exit_2(override, field, fragment, capsys):
    rc = main(["run", "--set", override, "-q", "-o", "unused.h5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1, err
    assert err[0].startswith(f"error: {field}:") and fragment in err[0]


def test_cli_no_traceback_in_subprocess(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("grid: {simbench: 1-LV-rural1--0-sw}\nduration: [1, 2]\n")
    r = subprocess.run([sys.executable, "-m", "cosim.cli", "run", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.startswith("error: duration:")


def test_extends_deep_merges_and_overrides(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("name: base\nseed: 1\ngrid: {simbench: 1-LV-rural1--0-sw}\noutput: {chunk_steps: 10, compression: lzf}\n")
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nname: child\noutput: {chunk_steps: 20}\n")
    sc, text = load_scenario(child, ["seed=9", "duration=2d"])
    assert (sc.name, sc.seed, sc.duration_s) == ("child", 9, 2 * 86400)
    assert sc.output.chunk_steps == 20 and sc.output.compression == "lzf"  # merged, not replaced
    assert "extends" not in text


def test_extends_cycle_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(tmp_path / "a.yaml")


def test_durations_and_steps():
    sc = validate({"grid": {"simbench": "1-LV-rural1--0-sw"}, "duration": "365d", "step": "15min"})
    assert sc.n_steps == 35_040  # 365 * 96
    with pytest.raises(ScenarioError, match="past the end"):
        validate({"grid": {"simbench": "1-LV-rural1--0-sw"}, "start": "2016-12-31T00:00:00", "duration": "2d"})
    with pytest.raises(ScenarioError, match="whole number of steps"):
        validate({"grid": {"simbench": "1-LV-rural1--0-sw"}, "duration": "1000s", "step": "15min"})


def test_default_scenario_file_equals_packaged_default():
    repo = Path(__file__).resolve().parents[2]
    from cosim.config import default_scenario_path

    assert (repo / "scenarios" / "default.yaml").read_text() == default_scenario_path().read_text()
