"""Sweeps run against hostile or impossible input, each with its expected outcome.

Every folder of ``sweep_cases/`` (format in its README) is copied to a fresh
working directory and run there as ``python -P -m cosim.cli sweep sweep.yaml``
(``-P``: like the installed ``cosim`` script, the parent never imports from the
working directory; what is under test is the sweep and its children). The
exit code, stdout/stderr fragments and left-over files are checked; with
``no_dashboard`` the sweep's processes are watched while it runs. That probe
sends an HTTP request to every listener, including Dask's own comm ports,
which log a read error for it: such a case cannot also forbid tracebacks.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parents[1]
CASES = sorted(p for p in (HERE / "sweep_cases").iterdir() if p.is_dir())
TIMEOUT_S = 300
#: Dask's default dashboard port.
DASHBOARD_PORT = 8787


def _listeners(pid: int) -> set[tuple[str, int]]:
    """Listening TCP addresses of ``pid`` and its descendants."""
    import psutil

    out = set()
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return out
    for proc in procs:
        try:
            conns = proc.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        out |= {(c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN}
    return out


def _http_status(address: tuple[str, int]) -> int | None:
    """Status code of ``GET /health`` on ``address``; None if it does not speak HTTP."""
    host = "127.0.0.1" if address[0] in ("0.0.0.0", "::", "") else address[0]
    try:
        with socket.create_connection((host, address[1]), timeout=1.0) as s:
            s.sendall(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
            s.settimeout(1.0)
            head = s.recv(64)
    except OSError:
        return None
    if not head.startswith(b"HTTP/"):
        return None
    return int(head.split()[1])


def _watch(proc: subprocess.Popen) -> list[str]:
    """Problems seen while the sweep runs: a dashboard-port listener or an HTTP answer."""
    problems: list[str] = []
    probed: set[tuple[str, int]] = set()
    while proc.poll() is None:
        for address in _listeners(proc.pid) - probed:
            probed.add(address)
            if address[1] == DASHBOARD_PORT:
                problems.append(f"listener on the dashboard port: {address}")
            code = _http_status(address)
            if code is not None and code != 404:
                problems.append(f"{address} answers GET /health with HTTP {code}")
        time.sleep(0.2)
    return problems


def _prepare(case: Path, work: Path) -> None:
    for item in case.iterdir():
        if item.name in ("expect.json",):
            continue
        text = item.read_text()
        (work / item.name).write_text(text.replace("@REPO@", str(REPO)))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_sweep_case(case, tmp_path):
    expect = json.loads((case / "expect.json").read_text())
    work = tmp_path / case.name
    work.mkdir()
    _prepare(case, work)
    cmd = [sys.executable, "-P", "-m", "cosim.cli", "sweep", "sweep.yaml", "-o", "out", "--workers", "1", "-q"]
    proc = subprocess.Popen(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = _watch(proc) if expect.get("no_dashboard") else []
        out, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == expect["exit"], err
    for fragment in expect.get("stderr_contains", []):
        assert fragment in err, err
    for fragment in expect.get("stderr_excludes", []):
        assert fragment not in err, err
    for fragment in expect.get("stdout_contains", []):
        assert fragment in out, out + err
    for name in expect.get("absent", []):
        assert not (work / name).exists(), f"{name} exists after the sweep"
    assert seen == [], seen
    if (work / "out").is_dir():  # the variants' errors would name a crafted module
        index = (work / "out" / "sweep_index.csv").read_text()
        assert "crafted module" not in index, index


def test_cases_exist():
    assert {c.name for c in CASES} >= {"battery_needs_pv", "cwd_trojans", "dashboard_off"}
