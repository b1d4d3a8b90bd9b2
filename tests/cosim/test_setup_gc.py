"""Garbage collection around a run (``cosim.world._SetupGc``).

Set-up runs without cyclic collection and its objects are frozen for the run;
afterwards the process's collector is as it was: enabled or not, and with
nothing of the run left frozen. A process's own freeze is left alone. The
values recorded do not depend on it (the shipped scenarios' digests are
compared in benchmarks/digests.py; here one short run with and without).
"""

from __future__ import annotations

import gc

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.world import run_scenario

GRID_ONLY = ["households=null", "market=null", "ict=null", "coordinator=null", "duration=1h"]


def _run(tmp_path, monkeypatch, name: str, overrides=GRID_ONLY):
    """Run; return what the collector looked like at the grid's first step."""
    from simulators.grid.mosaik import GridSim

    seen = {}
    original = GridSim.step

    def step(self, time, inputs, max_advance=None):
        seen.setdefault("frozen", gc.get_freeze_count())
        seen.setdefault("enabled", gc.isenabled())
        return original(self, time, inputs, max_advance)

    monkeypatch.setattr(GridSim, "step", step)
    sc, text = load_scenario(None, overrides)
    run_scenario(sc, text, tmp_path / f"{name}.h5")
    return seen


@pytest.mark.slow
def test_setup_is_frozen_for_the_run_and_released_after(tmp_path, monkeypatch):
    assert gc.isenabled() and gc.get_freeze_count() == 0
    seen = _run(tmp_path, monkeypatch, "a")
    # during the run: the set-up's objects (the net, mosaik, the models) are frozen,
    # the collector runs for what the steps make
    assert seen["enabled"] and seen["frozen"] > 10_000
    assert gc.isenabled() and gc.get_freeze_count() == 0


@pytest.mark.slow
def test_a_disabled_collector_stays_disabled_and_a_callers_freeze_is_kept(tmp_path, monkeypatch):
    gc.disable()
    try:
        seen = _run(tmp_path, monkeypatch, "b")
        assert not seen["enabled"] and not gc.isenabled()
    finally:
        gc.enable()
    gc.freeze()
    try:
        mine = gc.get_freeze_count()
        _run(tmp_path, monkeypatch, "c")
        # not unfrozen (that gives 0), and nothing of the run frozen (no growth); reference
        # counting may free a few frozen objects meanwhile (8 when this was written)
        assert mine - 1_000 < gc.get_freeze_count() <= mine
    finally:
        gc.unfreeze()


@pytest.mark.slow
def test_failed_setup_leaves_the_collector_as_it_was(tmp_path, monkeypatch):
    from simulators.grid.model import GridModel

    def broken(*a, **kw):
        raise MemoryError("injected at set-up")

    monkeypatch.setattr(GridModel, "__init__", broken)
    sc, text = load_scenario(None, GRID_ONLY)
    with pytest.raises(Exception, match="injected at set-up"):
        run_scenario(sc, text, tmp_path / "f.h5")
    assert gc.isenabled() and gc.get_freeze_count() == 0


@pytest.mark.slow
def test_recorded_values_do_not_depend_on_collection(tmp_path, monkeypatch):
    """The default scenario for two hours, with the collector as cosim leaves it and with it
    switched off for the whole run: every series and event table identical."""
    sc, text = load_scenario(None, ["duration=2h"])
    run_scenario(sc, text, tmp_path / "with.h5")
    gc.disable()
    try:
        run_scenario(sc, text, tmp_path / "without.h5")
    finally:
        gc.enable()
    with h5py.File(tmp_path / "with.h5") as a, h5py.File(tmp_path / "without.h5") as b:
        names = []
        a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        data = [n for n in names if n.startswith(("series/", "events/"))]
        assert data
        for n in data:
            np.testing.assert_array_equal(a[n][()], b[n][()], err_msg=n)
