"""Every file of the bad-input corpus is refused cleanly.

``cosim run FILE`` (scenario files ``s_*``) and ``cosim sweep FILE`` (sweep
files ``sw_*``) must exit 2 within the timeout, print only ``error:`` lines
(the first naming a field or the file), no traceback, and leave no output
file, partial file or output directory behind. The files run two at a time
in one thread pool (each subprocess spends ~2 s importing), and each file is
reported as its own parametrised case.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CORPUS = sorted(p for p in HERE.iterdir() if p.suffix == ".yaml" and p.name.startswith(("s_", "sw_")))
TIMEOUT_S = 60
#: the first line names a field path (``a.b.c:``, ``seed:``, ``(scenario):``) or the file
#: (``/abs/path/x.yaml:``, also a directory given as ``extends: .``)
FIRST_LINE = re.compile(r"^error: (/\S+: |\S+\.yaml\b|extends: |[A-Za-z_(][\w.\[\]()]*(: | \())")


def _run(path: Path, tmp: Path) -> tuple[int | None, str, list[Path]]:
    work = tmp / path.stem
    work.mkdir()
    if path.name.startswith("sw_"):
        cmd = [sys.executable, "-m", "cosim.cli", "sweep", str(path), "-o", str(work / "out"), "--workers", "1"]
    else:
        cmd = [sys.executable, "-m", "cosim.cli", "run", str(path), "-o", str(work / "x.h5")]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=work)
        rc, err = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, err = None, (exc.stderr or b"").decode(errors="replace")
    return rc, err, sorted(work.rglob("*"))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad")
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(CORPUS, pool.map(lambda p: _run(p, tmp), CORPUS)))


def test_corpus_is_large_enough():
    n_sweep = sum(p.name.startswith("sw_") for p in CORPUS)
    assert len(CORPUS) - n_sweep >= 40 and n_sweep >= 10


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_refused_cleanly(results, path):
    rc, err, left = results[path]
    assert rc is not None, f"no answer within {TIMEOUT_S} s"
    assert "Traceback" not in err, err
    assert rc == 2, err
    lines = err.splitlines()
    assert lines, "no message on stderr"
    assert all(line.startswith("error: ") for line in lines), err
    assert FIRST_LINE.match(lines[0]), lines[0]
    assert left == [], f"left behind: {left}"
