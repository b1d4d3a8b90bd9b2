"""Headline KPIs: one definition (analysis.kpis.headline) for the run summary and the sweep index."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.io import load
from analysis.kpis import HEADLINE, REGISTRY, headline
from analysis.synthetic import write_result

#: Hand-computed values are exact sums of a few binary fractions: compare to 1e-12.
TOL = 1e-12


def _grid_file(path, ext_grid_p_mw: np.ndarray):
    """4 steps of 1800 s (0.5 h); a net without transformers (trafo series has no entities)."""
    series = {"grid": {
        "vm_pu": (np.array([[1.0, 0.97], [1.0, 1.04], [1.0, 0.95], [1.0, 1.02]]), "pu", ["b0", "b1"]),
        "line_loading_percent": (np.array([[10.0], [55.0], [20.0], [5.0]]), "percent", ["l0"]),
        "trafo_loading_percent": (np.zeros((4, 0)), "percent", []),
        "ext_grid_p_mw": (ext_grid_p_mw, "MW", ["e0"] if ext_grid_p_mw.ndim == 2 else []),
        "pf_converged": (np.array([True, False, True, True]), "1", []),
    }}
    return write_result(path, np.arange(4) * 1800, series, attrs={"step_s": 1800})


@pytest.mark.parametrize("shape", ["1-D", "2-D"])
def test_headline_by_hand(tmp_path, shape):
    p = np.array([0.2, -0.1, -0.3, 0.4])  # MW at the PCC, + = import
    path = _grid_file(tmp_path / "g.h5", p if shape == "1-D" else p[:, None])
    h = headline(load(path))
    assert list(h) == list(HEADLINE)
    assert h["vm_min_pu"] == 0.95 and h["vm_max_pu"] == 1.04
    assert h["line_loading_max_percent"] == 55.0
    assert math.isnan(h["trafo_loading_max_percent"])  # no transformer: not a number, not an error
    # import (0.2 + 0.4) MW x 0.5 h = 0.3 MWh; export (0.1 + 0.3) MW x 0.5 h = 0.2 MWh
    assert h["energy_imported_mwh"] == pytest.approx(0.3, abs=TOL)
    assert h["energy_exported_mwh"] == pytest.approx(0.2, abs=TOL)
    assert h["pf_not_converged_steps"] == 1.0


def test_run_summary_and_sweep_index_use_the_same_numbers(tmp_path):
    from cosim.sweep import headline_kpis
    from cosim.world import _headline

    path = _grid_file(tmp_path / "g.h5", np.array([0.2, -0.1, -0.3, 0.4]))  # 1-D: one PCC value per step
    expected = headline(load(path))
    assert headline_kpis(path) == pytest.approx(expected, nan_ok=True)
    summary = _headline(path)
    assert summary.pop("pf_not_converged_steps") == 1
    assert summary == {k: v for k, v in expected.items() if k != "pf_not_converged_steps" and not math.isnan(v)}


def test_headline_names_are_registered_kpis():
    assert all(name in REGISTRY for name in HEADLINE.values())


def test_headline_of_a_run_without_grid_or_steps_is_nan(tmp_path):
    path = write_result(tmp_path / "m.h5", np.arange(0), {"market": {"traded_mwh": (np.zeros(0), "MWh", [])}})
    assert all(math.isnan(v) for v in headline(load(path)).values())
