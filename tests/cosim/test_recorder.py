"""HDF5 layout round trip, streaming, and the partial-file rule."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.recorder import LAYOUT_VERSION, HDF5Sink, partial_path
from cosim.world import run_scenario

ROOT_ATTRS = ("layout_version", "cosim_version", "scenario_yaml", "scenario_sha256", "seed",
              "start", "step_s", "packages", "status", "wall_time_s", "n_steps_done")


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "r.h5"
    sc, text = load_scenario(None, ["duration=6h", "output.chunk_steps=7"])
    summary = run_scenario(sc, text, path)
    return path, sc, summary


def test_documented_paths_and_attributes(result):
    path, sc, _ = result
    with h5py.File(path) as f:
        for a in ROOT_ATTRS:
            assert a in f.attrs, a
        assert f.attrs["status"] == "complete" and f.attrs["layout_version"] == LAYOUT_VERSION
        assert f.attrs["seed"] == sc.seed and f.attrs["step_s"] == 900
        assert "mosaik" in json.loads(f.attrs["packages"])
        n = sc.n_steps
        np.testing.assert_array_equal(f["time"][()], np.arange(n) * 900)
        expect = {"vm_pu": 15, "va_degree": 15, "line_loading_percent": 13, "line_p_from_mw": 13,
                  "line_i_ka": 13, "trafo_loading_percent": 1, "trafo_p_hv_mw": 1,
                  "ext_grid_p_mw": 1, "ext_grid_q_mvar": 1}
        for attr, width in expect.items():
            ds = f[f"series/grid/{attr}"]
            assert ds.shape == (n, width), attr
            assert ds.attrs["unit"] and len(ds.attrs["entities"]) == width
        assert f["series/grid/pl_mw"].shape == (n,) and f["series/grid/pf_converged"].dtype == bool
        assert set(f["static/grid"]) >= {"bus", "line", "trafo", "ext_grid"}
        assert len(f["static/grid/bus/vn_kv"]) == 15


def test_row_count_is_not_a_multiple_of_chunk(result):
    # 24 rows with chunk 7: the last partial block must be flushed on close
    path, sc, summary = result
    with h5py.File(path) as f:
        assert f["time"].shape[0] == sc.n_steps == 24 and f.attrs["n_steps_done"] == 24
    assert summary.steps == 24


def test_failed_run_never_replaces_earlier_result(tmp_path):
    final = tmp_path / "x.h5"
    final.write_bytes(b"earlier result")
    sink = HDF5Sink(final, {"seed": 1}, chunk_steps=4)
    for t in range(10):
        sink.record("grid", "pl_mw", float(t))
        sink.end_row(t * 900)
    path = sink.close("failed", error="boom")
    assert final.read_bytes() == b"earlier result"
    with h5py.File(path) as f:
        assert f.attrs["status"] == "failed" and f.attrs["error"] == "boom"
        np.testing.assert_array_equal(f["series/grid/pl_mw"][()], np.arange(10.0))


def test_late_series_is_nan_padded(tmp_path):
    sink = HDF5Sink(tmp_path / "p.h5", {}, chunk_steps=3)
    for t in range(5):
        sink.record("grid", "a", 1.0)
        if t >= 2:
            sink.record("market", "b", np.array([t, t]))
        sink.end_row(t)
    with h5py.File(sink.close("complete")) as f:
        b = f["series/market/b"][()]
        assert b.shape == (5, 2) and np.isnan(b[:2]).all() and (b[2:, 0] == [2, 3, 4]).all()


def test_events_append(tmp_path):
    sink = HDF5Sink(tmp_path / "e.h5", {}, chunk_steps=3)
    dt = np.dtype([("a", "i8"), ("b", "f8")])
    sink.append_events("trades", np.array([(1, 2.0)], dtype=dt))
    sink.append_events("trades", np.array([(3, 4.0), (5, 6.0)], dtype=dt))
    with h5py.File(sink.close("complete")) as f:
        np.testing.assert_array_equal(f["events/trades"]["a"], [1, 3, 5])


def test_blocks_written_behind_keep_every_row_while_the_writer_is_slow(tmp_path, monkeypatch):
    """The writer thread holds a block while later rows are buffered: no buffer is reused too early.

    Hand calculation: rows t = 0..19 of ``a = t`` and ``b = [t, -t]`` read back exactly.
    """
    import threading
    import time

    orig = HDF5Sink._write_block
    threads = set()

    def slow(self, block, failed=None):
        threads.add(threading.current_thread().name)
        time.sleep(0.02)
        return orig(self, block, failed)

    monkeypatch.setattr(HDF5Sink, "_write_block", slow)
    sink = HDF5Sink(tmp_path / "w.h5", {}, chunk_steps=3)
    for t in range(20):
        sink.record("grid", "a", float(t))
        sink.record("market", "b", np.array([t, -t], dtype=float))
        sink.end_row(t * 900)
    with h5py.File(sink.close("complete")) as f:
        np.testing.assert_array_equal(f["series/grid/a"][()], np.arange(20.0))
        np.testing.assert_array_equal(f["series/market/b"][()], np.c_[np.arange(20.0), -np.arange(20.0)])
        assert f.attrs["n_steps_done"] == 20 and f["time"].shape == (20,)
    assert any(name.startswith("cosim-recorder") for name in threads)  # some blocks were written behind


def test_a_write_error_behind_is_raised_at_the_next_block_and_the_file_closes_failed(tmp_path, monkeypatch):
    import errno

    from cosim.errors import RecorderWriteError

    orig = HDF5Sink._write_block
    calls = {"n": 0}

    def full(self, block, failed=None):
        calls["n"] += 1
        if calls["n"] == 2:  # the second block (rows 2-3) no longer fits
            exc = OSError(errno.ENOSPC, "No space left on device")
            return exc if failed is None else failed(exc)
        return orig(self, block, failed)

    monkeypatch.setattr(HDF5Sink, "_write_block", full)
    sink = HDF5Sink(tmp_path / "x.h5", {}, chunk_steps=2, reserve_bytes=0)
    with pytest.raises(RecorderWriteError, match="disk is full; 2 steps were written"):
        for t in range(10):
            sink.record("grid", "a", float(t))
            sink.end_row(t * 900)
    assert t == 5  # raised when the third block was handed over, after the second had failed
    with pytest.raises(RecorderWriteError, match="disk is full"):
        sink.close("complete")
    with h5py.File(partial_path(tmp_path / "x.h5")) as f:
        assert f.attrs["status"] == "failed" and f.attrs["n_steps_done"] == 2
        np.testing.assert_array_equal(f["series/grid/a"][()], [0.0, 1.0])


def test_events_use_the_configured_gzip_level(tmp_path):
    """output.compression_level applies to /events as to /series (both were level 4 and 1 before)."""
    sink = HDF5Sink(tmp_path / "g.h5", {}, chunk_steps=2, compression="gzip", compression_level=2)
    sink.record("grid", "a", np.arange(3.0))
    sink.append_events("trades", np.zeros(3, dtype=[("a", "i8")]))
    sink.end_row(0)
    with h5py.File(sink.close("complete")) as f:
        assert f["events/trades"].compression == "gzip" and f["events/trades"].compression_opts == 2
        assert f["series/grid/a"].compression_opts == 2


def test_an_interrupt_while_waiting_for_the_writer_leaves_the_block_for_close(tmp_path, monkeypatch):
    """Ctrl-C (or a signal handler's exception) while the next block waits for the one in flight:
    close() must wait for that block again, not write over it. Hand calculation: the four completed
    rows 0..3 read back (rows 0-1 from the writer, 2-3 written at close); the staged row 4 is dropped."""
    import concurrent.futures
    import time

    orig_write = HDF5Sink._write_block

    def slow(self, block, failed=None):
        time.sleep(0.2)
        return orig_write(self, block, failed)

    monkeypatch.setattr(HDF5Sink, "_write_block", slow)
    orig_result = concurrent.futures.Future.result
    state = {"armed": False}

    def interrupted(self, timeout=None):
        if state["armed"]:
            state["armed"] = False
            raise KeyboardInterrupt
        return orig_result(self, timeout)

    monkeypatch.setattr(concurrent.futures.Future, "result", interrupted)
    sink = HDF5Sink(tmp_path / "i.h5", {}, chunk_steps=2)
    with pytest.raises(KeyboardInterrupt):
        for t in range(7):
            sink.record("grid", "a", float(t))
            if t == 3:
                state["armed"] = True  # the block of rows 2-3 waits for rows 0-1's write
            sink.end_row(t * 900)
    assert t == 3
    sink.record("grid", "a", 4.0)  # the run is stopped; a half-staged row is dropped by close
    with h5py.File(sink.close("interrupted")) as f:
        np.testing.assert_array_equal(f["series/grid/a"][()], [0.0, 1.0, 2.0, 3.0])
        assert f.attrs["status"] == "interrupted" and f.attrs["n_steps_done"] == 4
