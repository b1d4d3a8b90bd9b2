"""Bad ``grid.profiles`` tables are refused with one ``grid.profiles:`` line.

Each case writes a small table next to a scenario on pandapower's CIGRE LV
net (loads 0..14) and checks the message names the field, the problem and
the bad value. One case goes through the CLI: exit code 2, one ``error:``
line, no traceback, no result file.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from cosim.config import load_scenario
from cosim.errors import ScenarioError

START = "2016-06-01T00:00:00"
GOOD_TIMES = ["2016-06-01T00:00:00", "2016-06-01T00:15:00", "2016-06-01T00:30:00", "2016-06-01T00:45:00"]


def _csv(header: str, rows: list[str]) -> str:
    return header + "\n" + "\n".join(rows) + "\n"


def _good(col: str = "load/0/p_mw", values=("0.1", "0.2", "0.3", "0.4"), times=GOOD_TIMES) -> str:
    return _csv(f"time,{col}", [f"{t},{v}" for t, v in zip(times, values)])


CASES = {
    "unknown_element": (_good("load/99/p_mw"), "net does not have", "load/99/p_mw"),
    "unknown_quantity": (_good("sgen/0/q_mvar"), "unknown column", "sgen/0/q_mvar"),
    "unknown_column": (_good("temperature"), "unknown column", "temperature"),
    "same_element_twice": (_csv("time,load/1/p_mw,load/01/p_mw", [f"{t},0.1,0.2" for t in GOOD_TIMES]),
                           "same element", "load/01/p_mw"),
    "no_time_column": ("load/0/p_mw\n0.1\n", "no 'time' column", "load/0/p_mw"),
    "gap": (_good(times=GOOD_TIMES[:2] + ["2016-06-01T01:00:00", "2016-06-01T01:15:00"]),
            "evenly spaced", "2016-06-01T01:00:00"),
    "too_short": (_good(values=("0.1", "0.2", "0.3"), times=GOOD_TIMES[:3]), "must cover the run", "p.csv"),
    "wrong_step": (_good(times=[f"2016-06-01T00:{m:02d}:00" for m in (0, 5, 10, 15)]), "900 s", "p.csv"),
    "nan": (_good(values=("0.1", "nan", "0.3", "0.4")), "finite", "nan"),
    "inf": (_good(values=("0.1", "0.2", "inf", "0.4")), "finite", "inf"),
    "blank": (_good(values=("0.1", "", "0.3", "0.4")), "finite", "''"),
    "bad_time": (_good(times=["yesterday"] + GOOD_TIMES[1:]), "ISO 8601", "yesterday"),
    "mixed_offsets": (_good(times=[t + ("+01:00" if i < 2 else "+02:00") for i, t in enumerate(GOOD_TIMES)]),
                      "UTC offsets", "1:00:00"),
}


@pytest.fixture(scope="module")
def cigre_json(tmp_path_factory):
    import pandapower as pp
    import pandapower.networks as pn

    path = tmp_path_factory.mktemp("net") / "cigre_lv.json"
    pp.to_json(pn.create_cigre_network_lv(), str(path))
    return path


def _scenario(tmp_path, cigre_json, profiles: str = "p.csv", grid: str | None = None) -> str:
    path = tmp_path / "s.yaml"
    grid = grid or f"{{pandapower_json: {cigre_json}, profiles: {profiles}}}"
    path.write_text(f"grid: {grid}\nstart: {START}\nduration: 1h\n")
    return path


def _error(path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (line,) = info.value.problems if hasattr(info.value, "problems") else [str(info.value)]
    return line


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_table_is_refused(tmp_path, cigre_json, case):
    text, problem, got = CASES[case]
    (tmp_path / "p.csv").write_text(text)
    line = _error(_scenario(tmp_path, cigre_json))
    assert line.startswith("grid.profiles: ") and problem in line and got in line.split("; got ")[-1], line
    assert "\n" not in line


def test_missing_file(tmp_path, cigre_json):
    line = _error(_scenario(tmp_path, cigre_json, profiles="nowhere.csv"))
    assert line.startswith("grid.profiles: file does not exist") and "nowhere.csv" in line


def test_wrong_suffix(tmp_path, cigre_json):
    (tmp_path / "p.xlsx").write_text("x")
    assert "expected a .csv or .parquet file" in _error(_scenario(tmp_path, cigre_json, profiles="p.xlsx"))


def test_constant_is_refused_on_simbench(tmp_path, cigre_json):
    path = _scenario(tmp_path, cigre_json, grid="{simbench: 1-LV-rural1--0-sw, profiles: constant}")
    assert "'constant' is for pandapower_json nets" in _error(path)


def test_parquet_table_is_read(tmp_path, cigre_json):
    pytest.importorskip("pyarrow")
    import pandas as pd

    pd.DataFrame({"time": pd.to_datetime(GOOD_TIMES), "load/0/p_mw": [0.1, 0.2, 0.3, 0.4]}).to_parquet(
        tmp_path / "p.parquet")
    sc, _ = load_scenario(_scenario(tmp_path, cigre_json, profiles="p.parquet"))
    assert sc.grid_spec()["profiles"]["path"].endswith("p.parquet")


def test_cli_exit_2_one_line(tmp_path, cigre_json):
    (tmp_path / "p.csv").write_text(CASES["nan"][0])
    path = _scenario(tmp_path, cigre_json)
    proc = subprocess.run([sys.executable, "-m", "cosim.cli", "run", str(path), "-o", str(tmp_path / "x.h5")],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: grid.profiles: ") and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.h5").exists()


def test_parquet_without_pyarrow(tmp_path, cigre_json, monkeypatch):
    (tmp_path / "q.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # `import pyarrow` raises ImportError
    line = _error(_scenario(tmp_path, cigre_json, profiles="q.parquet"))
    assert line.startswith("grid.profiles: reading Parquet needs the 'pyarrow' package")
    # the resolved path, shortened with "..." when long (a long temporary directory)
    got, full = line.split("; got ", 1)[1], repr(str(tmp_path / "q.parquet"))
    assert got == full or (got.endswith("...") and full.startswith(got[:-3])), (got, full)
