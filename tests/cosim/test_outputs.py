"""Exclusive result files and clean failures of ``cosim run``.

* A second run into a locked result path fails at once (exit 1, one line)
  and never reports success for a file that holds another run's data.
* Each run writes a name of its own; the lock file and the disk reserve are
  gone afterwards.
* A stop request that arrives just before the final rename leaves the run
  interrupted and the earlier result intact; a SIGTERM after the rename
  exits 0 with a note (the result is complete).
* Errors at set-up close the file with ``status = failed`` (exit 1).
* Disk full (an injected ENOSPC, and a real 8 MiB tmpfs where mounting is
  allowed) keeps the earlier result and leaves a readable partial file with
  ``status = failed``; no traceback, no segmentation fault.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from cosim import world
from cosim.config import load_scenario
from cosim.errors import OutputBusy, RunFailed, RunInterrupted
from cosim.recorder import HDF5Sink, OutputLock, lock_path, partial_path

SHORT = ["duration=3h", "output.chunk_steps=4"]


def _cli(args, cwd, timeout=300, prelude=""):
    """``cosim`` in a subprocess; ``prelude`` is Python run before the CLI (fault injection)."""
    code = textwrap.dedent(prelude) + "\nimport sys\nfrom cosim.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_second_sink_on_the_same_path_is_refused(tmp_path):
    out = tmp_path / "x.h5"
    a = HDF5Sink(out, {}, chunk_steps=2, reserve_bytes=0)
    with pytest.raises(OutputBusy, match="being written by another run"):
        HDF5Sink(out, {}, chunk_steps=2, reserve_bytes=0)
    assert a.running != partial_path(out) and str(os.getpid()) in a.running.name
    a.close("complete")
    assert not lock_path(out).exists()
    b = HDF5Sink(out, {}, chunk_steps=2, reserve_bytes=0)  # free again
    b.close("failed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.h5", "x.h5.partial"]


def test_locked_output_fails_before_set_up_with_one_line(tmp_path):
    out = tmp_path / "x.h5"
    out.write_bytes(b"earlier result")
    lock = OutputLock(out)
    lock.acquire()  # another run holds the path
    try:
        t0 = time.monotonic()
        proc = _cli(["run", "-q", "--force", "--set", "duration=1h", "-o", str(out)], tmp_path)
        elapsed = time.monotonic() - t0
    finally:
        lock.release()
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "being written by another run" in lines[0], proc.stderr
    assert proc.stdout == "" and out.read_bytes() == b"earlier result"
    assert elapsed < 60  # refused before the net is built (import time only)


def test_stop_just_before_the_rename_keeps_the_earlier_result(tmp_path, monkeypatch):
    out = tmp_path / "x.h5"
    out.write_bytes(b"earlier result")
    sc, text = load_scenario(None, SHORT)
    control = world.RunControl()
    held = world._signals_held

    @contextlib.contextmanager
    def signal_arrives_first():
        control.stop_requested, control.stop_reason = True, "stopped by SIGTERM"
        with held():
            yield

    monkeypatch.setattr(world, "_signals_held", signal_arrives_first)
    with pytest.raises(RunInterrupted):
        world.run_scenario(sc, text, out, control)
    assert out.read_bytes() == b"earlier result"
    with h5py.File(partial_path(out), "r") as f:
        assert f.attrs["status"] == "interrupted" and f["time"].shape == (12,)
    assert _leftovers(tmp_path, {"x.h5", "x.h5.partial"}) == []


def test_sigterm_after_the_rename_exits_0_with_a_note(tmp_path):
    # the signal is sent while the summary is printed, after the file was published
    prelude = """
        import os, signal, builtins
        import cosim.cli as cli
        def print_then_signal(*a, **k):
            builtins.print(*a, **k)
            os.kill(os.getpid(), signal.SIGTERM)
        cli.print = print_then_signal
    """
    out = tmp_path / "x.h5"
    proc = _cli(["run", "-q", "--set", "duration=1h", "-o", str(out)], tmp_path, prelude=prelude)
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert "after the result was complete" in proc.stderr and "Traceback" not in proc.stderr
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "complete"


def test_error_at_set_up_closes_the_file_as_failed(tmp_path, monkeypatch):
    def overflow(self):
        raise OverflowError("cannot convert float infinity to integer")

    monkeypatch.setattr(world._Builder, "build", overflow)
    sc, text = load_scenario(None, SHORT)
    out = tmp_path / "x.h5"
    with pytest.raises(RunFailed, match="at set-up: OverflowError") as info:
        world.run_scenario(sc, text, out)
    with h5py.File(info.value.partial_path, "r") as f:
        assert f.attrs["status"] == "failed" and "OverflowError" in f.attrs["error"]
    assert _leftovers(tmp_path, {"x.h5.partial"}) == []


ENOSPC_PRELUDE = """
    import errno
    from cosim.recorder import HDF5Sink
    _orig = HDF5Sink._write_block
    _n = {"calls": 0}
    def _full(self, block, failed=None):  # in the writer thread (failed None) or the caller's
        _n["calls"] += 1
        if _n["calls"] >= 3:  # the third block no longer fits
            exc = OSError(errno.ENOSPC, "No space left on device")
            if failed is None:
                return exc
            failed(exc)
        return _orig(self, block, failed)
    HDF5Sink._write_block = _full
"""


def test_injected_disk_full_fails_cleanly(tmp_path):
    out = tmp_path / "x.h5"
    out.write_bytes(b"earlier result")
    proc = _cli(["run", "-q", "--force", "--set", "duration=6h", "--set", "output.chunk_steps=4", "-o", str(out)],
                tmp_path, prelude=ENOSPC_PRELUDE)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "disk is full" in proc.stderr
    assert out.read_bytes() == b"earlier result"
    with h5py.File(partial_path(out), "r") as f:
        assert f.attrs["status"] == "failed" and "disk is full" in f.attrs["error"]
        assert f["time"].shape == (8,)  # the two blocks written before the disk filled up
        np.testing.assert_array_equal(f["time"][()], np.arange(8) * 900)
    assert _leftovers(tmp_path, {"x.h5", "x.h5.partial"}) == []


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)],
                           capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        pytest.skip("cannot run mount")
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=20)


def test_real_disk_full_on_a_small_file_system(small_fs):
    out = small_fs / "x.h5"
    out.write_bytes(b"earlier result")
    free = os.statvfs(small_fs).f_bavail * os.statvfs(small_fs).f_frsize
    # leave the 4 MiB reserve plus 64 KiB: the uncompressed series of 2 days do not fit
    (small_fs / "filler").write_bytes(b"\0" * (free - 4 * 2**20 - 64 * 2**10))
    proc = _cli(["run", "-q", "--force", "--set", "duration=2d", "--set", "output.compression=null",
                 "--set", "output.chunk_steps=4", "-o", str(out)], small_fs.parent)
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "disk is full" in proc.stderr, proc.stderr
    assert out.read_bytes() == b"earlier result"
    with h5py.File(partial_path(out), "r") as f:
        assert f.attrs["status"] == "failed"
        n = f["time"].shape[0]
        assert 0 < n < 192 and f.attrs["n_steps_done"] == n
    assert _leftovers(small_fs, {"x.h5", "x.h5.partial", "filler"}) == []


def test_file_whose_status_cannot_be_written_is_not_published(tmp_path, monkeypatch):
    from cosim.errors import RecorderWriteError

    out = tmp_path / "x.h5"
    sink = HDF5Sink(out, {}, chunk_steps=2, reserve_bytes=0)
    for t in range(3):
        sink.record("grid", "pl_mw", float(t))
        sink.end_row(t * 900)
    original = h5py.AttributeManager.__setitem__

    def full(self, name, value):
        if name == "status":
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, name, value)

    monkeypatch.setattr(h5py.AttributeManager, "__setitem__", full)
    with pytest.raises(RecorderWriteError, match="disk is full"):
        sink.close("complete")
    monkeypatch.undo()
    assert not out.exists() and partial_path(out).exists() and not lock_path(out).exists()
