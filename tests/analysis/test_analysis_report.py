"""cosim report: every figure and the KPI table, offline page, multi-run overlay."""

from __future__ import annotations

import re

import pytest

from analysis.cli import report_main
from analysis.figures import FIGURES
from analysis.kpis import REGISTRY
from analysis.synthetic import make_result

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""", re.I)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("rep")
    return make_result(d / "design_a.h5", n_steps=32, seed=1), make_result(d / "design_b.h5", n_steps=32, seed=2, pv_kwp=10.0)


def test_single_report_has_every_figure_and_the_kpi_table(two_runs, tmp_path):
    out = tmp_path / "report"
    assert report_main([str(two_runs[0]), "-o", str(out)]) == 0
    page = (out / "index.html").read_text()
    for spec in FIGURES:
        assert (out / f"{spec.name}.png").stat().st_size > 5000, spec.name
        assert f"id='fig-{spec.name}'><img" in page, spec.name
    for name in REGISTRY:
        assert f"<code>{name}</code>" in page
    assert "Figure skipped" not in page
    assert not EXTERNAL.search(page)
    assert "http://" not in page and "https://" not in page


def test_multi_run_overlay(two_runs, tmp_path):
    out = tmp_path / "cmp"
    assert report_main([str(p) for p in two_runs] + ["-o", str(out)]) == 0
    page = (out / "index.html").read_text()
    header = re.search(r"<tr><th>KPI</th>.*?</tr>", page).group(0)
    assert "<th>design_a</th><th>design_b</th>" in header
    row = re.search(r"<code>grid_vm_max_pu</code>.*?</tr>", page).group(0)
    assert row.count("class=\"num\"") == 2


def test_missing_simulators_skip_figures_and_show_na(tmp_path):
    p = make_result(tmp_path / "grid_only.h5", n_steps=8, include=("grid",))
    out = tmp_path / "r"
    assert report_main([str(p), "-o", str(out)]) == 0
    page = (out / "index.html").read_text()
    for skipped in ("market", "soc_envelopes", "ict", "tso_activations"):
        assert f"<p class='skipped' id='fig-{skipped}'>" in page
        assert not (out / f"{skipped}.png").exists()
    assert (out / "voltage_heatmap.png").exists()
    row = re.search(r"<code>market_welfare_eur</code>.*?</tr>", page).group(0)
    assert '<td class="na">n/a</td>' in row
