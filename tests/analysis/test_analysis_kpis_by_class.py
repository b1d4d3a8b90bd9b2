"""Household KPIs per load class on the tiny hand-made file (see conftest.py).

Hand calculation, 4 steps of 0.5 h: hh0 imports 0.5, 1, 0, 0.5 MWh (2.0),
exports 1.0 MWh at step 2 while its PV makes 1.5 MWh; hh1 imports 1.0 MWh,
exports 0.5 MWh, PV 1.5 MWh. Final running bills: hh0 4 EUR, hh1 2 EUR.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.kpis import household_kpis_by_class, household_self_consumption, household_self_sufficiency
from analysis.io import load
from analysis.synthetic import write_result

from .conftest import STEP_S, tiny_series


def _write(tmp_path, classes):
    series = {k: v for k, v in tiny_series().items() if k in ("market", "household")}
    static = None if classes is None else {"household": {"households": {"id": ["hh_0", "hh_1"],
                                                                        "load_class": classes}}}
    return load(write_result(tmp_path / "c.h5", np.arange(4) * STEP_S, series, static=static,
                             attrs={"step_s": STEP_S}))


def test_two_classes_apart(tmp_path):
    out = household_kpis_by_class(_write(tmp_path, ["household", "agricultural"]))
    assert list(out) == ["household", "agricultural"]
    h, a = out["household"], out["agricultural"]
    assert h["n_homes"] == 1 and a["n_homes"] == 1
    assert h["imported_mwh"] == pytest.approx(2.0) and h["exported_mwh"] == pytest.approx(1.0)
    assert h["self_consumption"] == pytest.approx(0.5 / 1.5)  # (G - E) / G = (1.5 - 1.0) / 1.5
    assert h["self_sufficiency"] == pytest.approx(0.5 / 2.5)  # (G - E) / (I + G - E) = 0.5 / (2 + 1.5 - 1)
    assert a["self_consumption"] == pytest.approx(1.0 / 1.5) and a["self_sufficiency"] == pytest.approx(0.5)
    assert h["bill_mean_eur"] == 4.0 and a["bill_mean_eur"] == 2.0


def test_one_class_equals_the_whole(tmp_path):
    r = _write(tmp_path, ["household", "household"])
    (only,) = household_kpis_by_class(r).values()
    assert only["self_consumption"] == pytest.approx(household_self_consumption(r))
    assert only["self_sufficiency"] == pytest.approx(household_self_sufficiency(r))
    assert only["bill_mean_eur"] == pytest.approx(3.0)


def test_old_file_without_classes(tmp_path):
    out = household_kpis_by_class(_write(tmp_path, None))
    assert list(out) == ["unrecorded"] and out["unrecorded"]["n_homes"] == 2
    assert not math.isnan(out["unrecorded"]["bill_mean_eur"])


def test_report_shows_the_classes(tmp_path):
    from analysis.report import class_table

    html = class_table([_write(tmp_path, ["household", "agricultural"])])
    assert "<td>household</td>" in html and "<td>agricultural</td>" in html
    assert class_table([]) == ""
