"""Report figures: dates on the time axis, integer bus ticks, identical runs stay visible."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from matplotlib import dates as mdates

from analysis import figures, load
from analysis.synthetic import make_result


def _runs(tmp_path):
    a = load(make_result(tmp_path / "a.h5", n_steps=96, seed=3))
    same = load(make_result(tmp_path / "same.h5", n_steps=96, seed=3))  # the same inputs: identical series
    return a, same


def test_time_axis_shows_dates_of_the_run(tmp_path):
    a, _ = _runs(tmp_path)
    fig = figures.pcc_exchange([a])
    ax = fig.axes[0]
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)
    lo, hi = (mdates.num2date(x).replace(tzinfo=None) for x in ax.get_xlim())
    # synthetic runs start 2016-06-01 00:00 (analysis.synthetic) and last 96 x 15 min = 1 day
    assert datetime(2016, 5, 31, 12) <= lo <= datetime(2016, 6, 1, 0, 1)
    assert datetime(2016, 6, 1, 23) <= hi <= datetime(2016, 6, 2, 12)


def test_bus_ticks_are_integers(tmp_path):
    # two buses: matplotlib's default locator would tick -0.5, 0, 0.5, 1, 1.5
    small = load(make_result(tmp_path / "small.h5", n_steps=8, n_households=2, n_feeder_buses=1))
    fig = figures.voltage_heatmap([small])
    ticks = [t for t in fig.axes[0].get_yticks() if -0.5 <= t <= 1.5]
    assert len(ticks) and np.allclose(ticks, np.round(ticks))


def test_identical_runs_do_not_hide_each_other(tmp_path):
    a, same = _runs(tmp_path)
    assert figures.identical_runs([a, same], "grid", "ext_grid_p_mw") == [("a", "same")]
    ax = figures.pcc_exchange([a, same]).axes[0]
    lines = [line for line in ax.lines if line.get_label() in ("a", "same")]
    assert len(lines) == 2 and lines[0].get_marker() != lines[1].get_marker()
    assert any("identical runs" in t.get_text() and "a = same" in t.get_text() for t in ax.texts)
