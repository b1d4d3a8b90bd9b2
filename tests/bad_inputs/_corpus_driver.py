"""Run ``cosim`` on corpus files one after another in this process (used by ``test_bad_inputs.py``).

Usage: ``python _corpus_driver.py OUT.json WORKDIR FILE...``. For each file a
fresh working folder ``WORKDIR/<stem>`` is made the current directory, file
descriptor 2 is redirected to a capture file outside it (so C-level writes
and child processes are captured too), and ``cosim.cli.main`` runs on
``run FILE -o x.h5`` (``s_*``) or ``sweep FILE -o out --workers 1`` (``sw_*``).
An exception that escapes ``main`` is what an interpreter would print as a
traceback, and is recorded as one. A file that takes longer than the timeout
is interrupted by ``SIGALRM`` and recorded with exit code None.

One process per batch saves the ~1-2 s of imports per file; the test still runs a
few files as separate processes to check what a fresh interpreter prints.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path

TIMEOUT_S = 60


class _Timeout(BaseException):
    pass


def _alarm(signum, frame):
    raise _Timeout


def argv_for(path: Path, work: Path) -> list[str]:
    """The ``cosim`` arguments for one corpus file."""
    if path.name.startswith("sw_"):
        return ["sweep", str(path), "-o", str(work / "out"), "--workers", "1"]
    return ["run", str(path), "-o", str(work / "x.h5")]


def run_one(path: Path, work: Path, capture: Path) -> tuple[int | None, str]:
    from cosim.cli import main

    work.mkdir()
    os.chdir(work)
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(capture, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    saved = os.dup(2)
    os.dup2(fd, 2)
    rc: int | None
    escaped = ""
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT_S)
    try:
        rc = main(argv_for(path, work))
    except SystemExit as exc:  # argparse and explicit exits
        rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except _Timeout:
        rc = None
    except BaseException:  # noqa: BLE001 - what the interpreter would print as a traceback
        rc = 1
        escaped = traceback.format_exc()
    finally:
        signal.alarm(0)
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)
    return rc, capture.read_text(errors="replace") + escaped


def main(argv: list[str]) -> int:
    out, workdir, files = Path(argv[0]), Path(argv[1]), [Path(p) for p in argv[2:]]
    captures = workdir.parent / f"{workdir.name}.stderr"
    captures.mkdir()
    results = {}
    for path in files:
        rc, err = run_one(path, workdir / path.stem, captures / f"{path.stem}.txt")
        results[str(path)] = [rc, err]
    out.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
