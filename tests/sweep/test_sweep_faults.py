"""A sweep survives failing, slow and interrupted variants.

The failing variant points the grid at a JSON file that is not a pandapower
net: it passes the scenario validation and fails when the grid simulator
loads it (the child exits 2 with one error line, and the sweep records it).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from cosim.sweep import dataset_digest, result_status

from .helpers import DEFAULT, cosim, read_index, write_sweep


def test_a_failing_variant_does_not_stop_the_others(tmp_path, broken_net):
    sweep = write_sweep(tmp_path / "s.yaml", f"base: {DEFAULT}\ngrid: {{duration: [1h, 2h]}}\nvariants:\n"
                        "  - {seed: 1}\n"
                        f"  - {{seed: 1, grid.simbench: null, grid.pandapower_json: '{broken_net}'}}\n")
    proc = cosim("sweep", str(sweep), "--workers", "2", "-o", str(tmp_path / "o"), "-q")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    idx = read_index(tmp_path / "o")
    assert len(idx) == 4
    ok = idx[idx["status"] == "complete"]
    bad = idx[idx["status"] == "failed"]
    assert len(ok) == 2 and len(bad) == 2
    assert bad["error"].str.contains("is not a pandapower JSON net").all()
    assert bad["overrides"].str.contains("broken_net.json").all()
    for _, row in ok.iterrows():
        assert result_status(row["output_path"]) == "complete"
        assert row["vm_min_pu"] > 0.9 and row["vm_max_pu"] < 1.1  # rural1, June morning: ~1.02 pu
    for _, row in bad.iterrows():  # a set-up (configuration) error leaves no file at all
        assert not Path(row["output_path"]).exists()
        assert not Path(row["output_path"] + ".partial").exists()
        assert pd.isna(row["vm_min_pu"])


def test_a_slow_variant_is_killed_and_recorded_as_timeout(tmp_path):
    sweep = write_sweep(tmp_path / "s.yaml", f"base: {DEFAULT}\nvariants: [{{duration: 30d}}]\ntimeout_s: 1.5\n")
    t0 = time.time()
    proc = cosim("sweep", str(sweep), "--workers", "1", "-o", str(tmp_path / "o"), "-q")
    assert proc.returncode == 1, proc.stderr
    idx = read_index(tmp_path / "o")
    assert list(idx["status"]) == ["timeout"] and "timed out after 1.5 s" in idx.loc[0, "error"]
    assert not (tmp_path / "o" / f"{idx.loc[0, 'variant_id']}.h5").exists()
    assert time.time() - t0 < 120  # the 30-day run (minutes) was not waited for


def test_sigterm_leaves_a_consistent_index_and_resume_runs_only_the_missing(tmp_path):
    out = tmp_path / "o"
    sweep = write_sweep(tmp_path / "s.yaml", f"base: {DEFAULT}\nvariants: [{{duration: 1h}}]\nseeds: [1, 2, 3, 4]\n")
    proc = subprocess.Popen([sys.executable, "-m", "cosim.cli", "sweep", str(sweep), "--workers", "1", "-o",
                             str(out), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None:
            try:
                if (pd.read_parquet(out / "sweep_index.parquet")["status"] == "complete").any():
                    break
            except (OSError, ValueError):  # not written yet (os.replace makes it all or nothing)
                pass
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    first = read_index(out)
    assert len(first) == 4 and set(first["status"]) <= {"complete", "pending"}
    done = first[first["status"] == "complete"]
    assert 1 <= len(done) < 4
    mtimes = {}
    for _, row in first.iterrows():
        exists = (out / f"{row['variant_id']}.h5").exists()
        assert exists == (row["status"] == "complete")
        if exists:
            assert row["data_sha256"] == dataset_digest(row["output_path"])
            mtimes[row["variant_id"]] = (out / f"{row['variant_id']}.h5").stat().st_mtime_ns
    assert not list(out.glob(".*.tmp"))

    again = cosim("sweep", str(sweep), "--workers", "2", "-o", str(out), "--resume", "-q")
    assert again.returncode == 0, again.stderr
    second = read_index(out).set_index("variant_id")
    assert (second.loc[done["variant_id"], "status"] == "skipped").all()
    missing = first.loc[first["status"] == "pending", "variant_id"]
    assert (second.loc[missing, "status"] == "complete").all()
    for vid, mtime in mtimes.items():  # the skipped results were not rewritten
        assert (out / f"{vid}.h5").stat().st_mtime_ns == mtime
        assert second.loc[vid, "data_sha256"] == first.set_index("variant_id").loc[vid, "data_sha256"]
