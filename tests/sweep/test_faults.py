"""Runs that fail or are killed never lose data.

* A simulator that raises mid-run: the file is closed with status failed, the
  error names the simulator, the completed steps stay readable.
* The CLI exits 1 with the message and the partial path.
* SIGKILL of a rerun leaves the earlier complete result intact.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.errors import RunFailed
from cosim.sweep import dataset_digest, result_status

from .helpers import DEFAULT, cosim


def test_simulator_exception_closes_file_as_failed(tmp_path, monkeypatch):
    from simulators.grid.model import GridModel

    from cosim.world import run_scenario

    original = GridModel.solve
    calls = {"n": 0}

    def flaky(self, *a, **kw):  # the 4th step's power flow fails
        calls["n"] += 1
        if calls["n"] == 4:
            raise FloatingPointError("injected fault in the grid model")
        return original(self, *a, **kw)

    monkeypatch.setattr(GridModel, "solve", flaky)
    scenario, text = load_scenario(DEFAULT, ["duration=2h", "output.chunk_steps=2"])
    out = tmp_path / "fail.h5"
    with pytest.raises(RunFailed) as info:
        run_scenario(scenario, text, out)
    assert "grid" in str(info.value) and "injected fault" in str(info.value)
    assert not out.exists()
    partial = out.with_name(out.name + ".partial")
    assert info.value.partial_path == str(partial)
    with h5py.File(partial, "r") as f:
        assert f.attrs["status"] == "failed"
        assert f.attrs["failed_simulator"] == "grid"
        assert "injected fault" in f.attrs["error"]
        # steps 0..2 completed (the grid solved 3 times); step 3 raised before the recorder saw it
        n = f["time"].shape[0]
        assert n == 3 and f.attrs["n_steps_done"] == n
        np.testing.assert_array_equal(f["time"][()], np.arange(n) * 900)
        vm = f["series/grid/vm_pu"][()]
        assert vm.shape[0] == n and np.isfinite(vm).all()


_FAULTY_CLI = """
import sys
from simulators.grid.model import GridModel
original, calls = GridModel.solve, [0]
def flaky(self, *a, **kw):
    calls[0] += 1
    if calls[0] == 4:
        raise FloatingPointError("injected fault in the grid model")
    return original(self, *a, **kw)
GridModel.solve = flaky
from cosim.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_cli_exits_1_with_message_and_path(tmp_path):
    # the real `cosim run` code path, with the grid's power flow patched to raise at the 4th step
    out = tmp_path / "x.h5"
    proc = subprocess.run([sys.executable, "-c", _FAULTY_CLI, "run", str(DEFAULT), "--set", "duration=2h",
                           "-o", str(out), "-q"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    partial = out.with_name(out.name + ".partial")
    assert "run failed: grid: FloatingPointError: injected fault in the grid model" in proc.stderr
    assert f"partial output: {partial}" in proc.stderr
    assert not out.exists() and result_status(partial) == "failed"
    with h5py.File(partial, "r") as f:
        assert f["time"].shape[0] == 3  # steps 0, 1, 2 completed


def test_sigkill_never_corrupts_an_earlier_complete_result(tmp_path):
    out = tmp_path / "keep.h5"
    first = cosim("run", str(DEFAULT), "--set", "duration=2h", "-o", str(out), "-q")
    assert first.returncode == 0, first.stderr
    digest, mtime = dataset_digest(out), out.stat().st_mtime_ns
    # a 60-day rerun (about a minute) to the same path (--force: overwriting is asked for),
    # killed 2 s after its partial file appears
    proc = subprocess.Popen([sys.executable, "-m", "cosim.cli", "run", str(DEFAULT), "--set", "duration=60d",
                             "--set", "output.chunk_steps=8", "-o", str(out), "--force", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        # while it writes, a run's file has a name of its own (keep.h5.<pid>-<random>.partial)
        while time.time() < deadline and proc.poll() is None and not list(tmp_path.glob("keep.h5.*.partial")):
            time.sleep(0.1)
        time.sleep(2.0)
        assert proc.poll() is None, "the rerun ended before it could be killed"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert result_status(out) == "complete"
    assert out.stat().st_mtime_ns == mtime and dataset_digest(out) == digest
    with h5py.File(out, "r") as f:
        assert f["time"].shape[0] == 8 and f.attrs["n_steps_done"] == 8
