"""The notebooks in analysis/notebooks execute without errors (so they cannot rot).

Each runs in a fresh ``python3`` kernel on a small synthetic result given by
``COSIM_RESULT``; the quickstart also runs without it (its own fallback).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

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
    monkeypatch.setenv("COSIM_RESULT", str(result))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    nb = _run(path, tmp_path)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert str(result) in text  # the COSIM_RESULT file was used
    assert any("image/png" in o.get("data", {}) for o in outputs)  # it drew at least one figure


def test_quickstart_falls_back_to_a_synthetic_result(tmp_path, monkeypatch):
    monkeypatch.delenv("COSIM_RESULT", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    nb = _run(REPO / "analysis" / "notebooks" / "quickstart.ipynb", tmp_path)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "stream")
    assert "synthetic.h5" in text
    # never quietly: a visible banner says the numbers are generated
    assert "SYNTHETIC DATA" in text
    shown = "".join(o.get("data", {}).get("text/markdown", "") for c in nb.cells if c.cell_type == "code"
                    for o in c.get("outputs", []) if o.output_type == "display_data")
    assert "not a simulation" in shown


def test_a_real_result_shows_no_synthetic_banner_and_ict_sensitivity_is_labelled(tmp_path, monkeypatch):
    import json

    for path in NOTEBOOKS:
        first = "".join(json.loads(path.read_text())["cells"][1]["source"])
        assert "if SYNTHETIC:" in first and "SYNTHETIC DATA" in first, path.stem
    ict = json.loads((REPO / "analysis" / "notebooks" / "ict_impact.ipynb").read_text())
    headings = ["".join(c["source"]) for c in ict["cells"] if c["cell_type"] == "markdown"]
    sensitivity = next(h for h in headings if h.startswith("##") and "sensitivity" in h.lower())
    assert sensitivity.startswith("## Illustration (synthetic data)") and "Not a finding" in sensitivity
