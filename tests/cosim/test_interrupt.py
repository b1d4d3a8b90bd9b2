"""SIGINT / SIGTERM in the middle of a run: a readable file with exactly the completed steps."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_leaves_readable_partial_file(tmp_path, sig):
    out = tmp_path / "year.h5"
    proc = subprocess.Popen(
        [sys.executable, "-m", "cosim.cli", "run", "--set", "duration=365d", "--set", "start=2016-01-01T00:00:00",
         "--set", "output.chunk_steps=50", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    partial = out.with_name(out.name + ".partial")  # where an interrupted run leaves its file
    deadline = time.time() + 120
    # wait until at least two blocks are on disk, then interrupt
    while time.time() < deadline:
        time.sleep(0.5)
        running = sorted(tmp_path.glob("year.h5.*.partial"))  # the run's own name while it writes
        if not running:
            continue
        try:
            with h5py.File(running[0], "r", locking=False) as f:
                if f.attrs.get("n_steps_done", 0) >= 100:
                    break
        except (OSError, KeyError):
            continue
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert not out.exists()  # never renamed to the final name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["year.h5.partial"]  # no lock, reserve or run file left
    with h5py.File(partial) as f:
        assert f.attrs["status"] == "interrupted"
        n = f["time"].shape[0]
        assert 100 <= n < 35_136
        assert f.attrs["n_steps_done"] == n
        np.testing.assert_array_equal(f["time"][()], np.arange(n) * 900)
        vm = f["series/grid/vm_pu"][()]
        assert vm.shape[0] == n and np.isfinite(vm).all()
