"""The notebooks in analysis/notebooks execute without errors (so they cannot rot).

Each runs in a fresh ``python3`` kernel on small synthetic results handed in
through ``COSIM_RESULT`` / ``COSIM_RESULTS`` / ``COSIM_ICT_RESULTS`` (the way a
user hands in real runs). Without them and outside the repository the quickstart
falls back to a synthetic result and says so; :mod:`analysis.inputs` prefers
real result files wherever they exist.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import analysis
from analysis import inputs
from analysis.synthetic import make_result

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "analysis" / "notebooks").glob("*.ipynb"))


def _run(path: Path, cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def test_the_three_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} == {"quickstart", "market_comparison", "ict_impact"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path, monkeypatch):
    result = make_result(tmp_path / "short.h5", n_steps=24, seed=7)
    other = make_result(tmp_path / "other.h5", n_steps=24, seed=8, pv_kwp=9.0)
    monkeypatch.setenv("COSIM_RESULT", str(result))
    monkeypatch.setenv("COSIM_RESULTS", os.pathsep.join([str(result), str(other)]))
    monkeypatch.setenv("COSIM_ICT_RESULTS", os.pathsep.join([str(result), str(other)]))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    nb = _run(path, tmp_path)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert str(result) in text  # the COSIM_RESULT file was used
    assert "SYNTHETIC" not in text  # no stand-in when results were handed in
    assert any("image/png" in o.get("data", {}) for o in outputs)  # it drew at least one figure


def test_quickstart_falls_back_to_a_synthetic_result(tmp_path, monkeypatch):
    """Outside the repository and without COSIM_RESULT: a synthetic file, announced
    with the command that makes a real one."""
    monkeypatch.delenv("COSIM_RESULT", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    nb = _run(REPO / "analysis" / "notebooks" / "quickstart.ipynb", tmp_path)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "stream")
    assert "synthetic.h5" in text
    assert "NO RESULT OF A REAL RUN FOUND" in text and "cosim run scenarios/market_lv_congested.yaml" in text


def test_real_results_in_the_repository_come_before_synthetic(tmp_path, monkeypatch):
    """A result under <repo>/out/ is found from a sub-folder (where Jupyter starts
    the notebook kernels) and is used; nothing synthetic is made."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "out").mkdir()
    real = make_result(tmp_path / "out" / "market_lv_congested.h5", n_steps=4, seed=1)
    (tmp_path / "analysis" / "notebooks").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "analysis" / "notebooks")
    monkeypatch.delenv("COSIM_RESULT", raising=False)
    work = tmp_path / "work"
    got = inputs.results("COSIM_RESULT", "out/market_lv_congested.h5", "cosim run ...", work)
    assert [p.resolve() for p in got] == [real.resolve()] and not work.exists()


def test_a_named_result_that_does_not_exist_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("COSIM_RESULT", str(tmp_path / "typo.h5"))
    with pytest.raises(FileNotFoundError, match="typo.h5"):
        inputs.results("COSIM_RESULT", "out/x.h5", "cosim run ...", tmp_path)


def test_in_a_checkout_without_results_short_real_runs_stand_in(tmp_path, monkeypatch, capsys):
    """A checkout (pyproject.toml + scenarios/) without out/ files: the notebook studies a
    short real run of the same shipped scenario, never synthetic data."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "scenarios").symlink_to(REPO / "scenarios", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COSIM_RESULT", raising=False)
    got = inputs.results("COSIM_RESULT", "out/market_lv_congested.h5", "cosim run ...", tmp_path / "work")
    text = capsys.readouterr().out
    assert "SHORT REAL RUNS" in text and "SYNTHETIC" not in text
    assert [p.name for p in got] == ["market_lv_congested.h5"]
    res = analysis.load(got[0])
    assert res.attrs["status"] == "complete" and res.n_steps == 8  # 2 h of 15-min steps
    assert res.has("household", "p_mw") and res.has("market", "traded_mwh")
