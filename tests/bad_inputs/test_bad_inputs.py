"""Every file of the bad-input corpus is refused cleanly.

``cosim run FILE`` (scenario files ``s_*``) and ``cosim sweep FILE`` (sweep
files ``sw_*``) must exit 2 within the timeout, print only ``error:`` lines
(the first naming a field or the file), no traceback, and leave no output
file, partial file or output directory behind. Each file is reported as its
own parametrised case.

The corpus runs in two driver processes (``_corpus_driver.py``: one file after
another through ``cosim.cli.main``, stderr captured at the file descriptor),
because a separate interpreter per file spent most of the ~2 min importing.
What only a fresh interpreter shows (import-time warnings, an uncaught
exception printed by the interpreter) is checked on a sample of files run as
``python -m cosim.cli`` subprocesses (:func:`test_fresh_process_refuses_cleanly`).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from . import _corpus_driver

HERE = Path(__file__).parent
CORPUS = sorted(p for p in HERE.iterdir() if p.suffix == ".yaml" and p.name.startswith(("s_", "sw_")))
TIMEOUT_S = _corpus_driver.TIMEOUT_S
#: run as separate interpreters too: refused while parsing YAML, a crafted object, a user module that
#: does not exist (imports at run time), a sweep file
FRESH = ("s_alias_bomb.yaml", "s_python_object_apply.yaml", "s_market_mechanism_no_module.yaml",
         "sw_unknown_key.yaml")
#: the first line names a field path (``a.b.c:``, ``seed:``, ``(scenario):``) or the file
#: (``/abs/path/x.yaml:``, also a directory given as ``extends: .``)
FIRST_LINE = re.compile(r"^error: (/\S+: |\S+\.yaml\b|extends: |[A-Za-z_(][\w.\[\]()]*(: | \())")


def _run(path: Path, tmp: Path) -> tuple[int | None, str, list[Path]]:
    """One file as its own ``python -m cosim.cli`` process."""
    work = tmp / path.stem
    work.mkdir()
    cmd = [sys.executable, "-m", "cosim.cli", *_corpus_driver.argv_for(path, work)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=work)
        rc, err = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, err = None, (exc.stderr or b"").decode(errors="replace")
    return rc, err, sorted(work.rglob("*"))


def _batch(files: list[Path], tmp: Path) -> dict[Path, tuple[int | None, str, list[Path]]]:
    """``files`` through one driver process; a driver that dies fails each of its files with its output."""
    out, work = tmp / "results.json", tmp / "work"
    work.mkdir()
    cmd = [sys.executable, str(Path(_corpus_driver.__file__)), str(out), str(work), *map(str, files)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S * len(files) + 60)
    if proc.returncode != 0 or not out.exists():
        return {p: (proc.returncode, f"driver failed: {proc.stderr[-2000:]}", []) for p in files}
    found = json.loads(out.read_text())
    return {p: (found[str(p)][0], found[str(p)][1], sorted((work / p.stem).rglob("*"))) for p in files}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    halves = [CORPUS[0::2], CORPUS[1::2]]
    dirs = [tmp_path_factory.mktemp("bad") for _ in halves]
    with ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(_batch, halves, dirs))
    return {k: v for part in parts for k, v in part.items()}


def _check(rc, err, left):
    assert rc is not None, f"no answer within {TIMEOUT_S} s"
    assert "Traceback" not in err, err
    assert rc == 2, err
    lines = err.splitlines()
    assert lines, "no message on stderr"
    assert all(line.startswith("error: ") for line in lines), err
    assert FIRST_LINE.match(lines[0]), lines[0]
    assert left == [], f"left behind: {left}"


def test_fresh_sample_is_in_the_corpus():
    assert set(FRESH) <= {p.name for p in CORPUS}


def test_corpus_is_large_enough():
    n_sweep = sum(p.name.startswith("sw_") for p in CORPUS)
    assert len(CORPUS) - n_sweep >= 40 and n_sweep >= 10


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_refused_cleanly(results, path):
    _check(*results[path])


@pytest.mark.parametrize("name", FRESH)
def test_fresh_process_refuses_cleanly(tmp_path, name):
    _check(*_run(HERE / name, tmp_path))
