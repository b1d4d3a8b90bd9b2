"""A sweep child: its entry point, its environment and its import path.

Variants run as ``python -P -m cosim.sweep PARENT_PID run ...`` in the sweep's
working directory; crafted modules there (``cosim.py``, ``simulators.py``,
``analysis.py``, ``yaml.py``) must never be imported.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cosim.sweep.run import child_command, child_env, run_variant

from .helpers import DEFAULT

CRAFTED = ("cosim", "simulators", "analysis", "yaml")
TROJAN = '''import pathlib
pathlib.Path(__file__).with_name("IMPORTED_" + __name__).write_text("")
raise SystemExit("crafted module " + __name__ + " imported")
'''


def test_child_entry_point_runs_the_cli():
    proc = subprocess.run(child_command(os.getpid(), ["run", "--help"]), capture_output=True, text=True,
                          timeout=120, env=child_env(dict(os.environ), None))
    assert proc.returncode == 0, proc.stderr
    assert "usage: cosim run" in proc.stdout


def test_child_of_a_dead_parent_exits_at_once():
    # pid 1 is never this test's pid: the child sees that its parent is not the one named and stops
    proc = subprocess.run(child_command(1, ["run", "--help"]), capture_output=True, text=True, timeout=120,
                          env=child_env(dict(os.environ), None))
    assert proc.returncode == 130 and "usage" not in proc.stdout


@pytest.mark.parametrize("pythonpath, expect", [
    (None, None),
    ("", None),
    (f"{os.pathsep}/opt/x", "/opt/x"),                      # an empty entry would mean the working directory
    (f"/opt/x{os.pathsep}{os.pathsep}/opt/y", f"/opt/x{os.pathsep}/opt/y"),
    ("rel/dir", "/work/dir/rel/dir"),                      # made absolute against where the child runs
])
def test_child_env_drops_empty_pythonpath_entries(pythonpath, expect):
    env = {"HOME": "/h"} if pythonpath is None else {"HOME": "/h", "PYTHONPATH": pythonpath}
    out = child_env(env, "/work/dir")
    assert out.get("PYTHONPATH") == expect and out["HOME"] == "/h"


def test_crafted_modules_in_the_working_directory_are_not_imported(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    for name in CRAFTED:
        (work / f"{name}.py").write_text(TROJAN)
    out = tmp_path / "v.h5"
    res = run_variant(str(DEFAULT), ["duration=1h"], str(out), timeout_s=300, cwd=str(work))
    assert res["status"] == "complete", res["error"]
    assert sorted(p.name for p in work.iterdir()) == sorted(f"{n}.py" for n in CRAFTED)
    assert out.exists()
