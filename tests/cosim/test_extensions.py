"""Extra simulators from the scenario (cosim.extensions) and user code in a run."""

from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario, validate
from cosim.errors import ScenarioError
from cosim.world import run_scenario

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "trafo_watch.py"
GRID = {"grid": {"simbench": "1-LV-rural1--0-sw"}, "duration": "2h", "start": "2016-06-01T10:00:00"}


def _watch(**over) -> dict:
    spec = {"name": "watch", "cmd": f"%(python)s {EXAMPLE} %(addr)s", "params": {"step_s": 900},
            "models": [{"model": "Watch", "params": {"limit_percent": 15.0}}],
            "connections": [{"from": "grid.trafo_loading_percent", "to": "loading_percent"}],
            "record": {"max_loading_percent": "percent", "alarm": "bool", "hours_above_limit_h": "h"}}
    spec.update(over)
    return spec


def _check_watch(path: Path) -> None:
    with h5py.File(path) as f:
        assert f.attrs["status"] == "complete"
        trafo = f["series/grid/trafo_loading_percent"][()]
        mx = f["series/watch/max_loading_percent"]
        alarm = f["series/watch/alarm"][()]
        hours = f["series/watch/hours_above_limit_h"][()]
        assert mx.attrs["unit"] == "percent" and f["series/watch/alarm"].dtype == np.bool_
        # reference: the grid's own record of the same step; the value crosses JSON unchanged
        np.testing.assert_array_equal(mx[()], trafo.max(axis=1))
        np.testing.assert_array_equal(alarm, trafo.max(axis=1) > 15.0)
        # hand calculation: 0.25 h per 15-min step with the alarm on, accumulated
        np.testing.assert_allclose(hours, 0.25 * np.cumsum(alarm), rtol=0, atol=1e-12)
        assert 0 < alarm.sum() < len(alarm) or len(alarm) == 8  # 8 rows of 15 min in 2 h


@pytest.mark.slow
def test_external_process_simulator_reads_the_grid_and_is_recorded(tmp_path):
    """The example simulator runs in its own Python process (mosaik's cmd starter)."""
    sc = validate({**GRID, "simulators": [_watch()]})
    run_scenario(sc, "", tmp_path / "r.h5")
    _check_watch(tmp_path / "r.h5")


def _listening(port: int) -> bool:
    """True once a socket listens on ``port`` (Linux: /proc/net/tcp, state 0A = LISTEN)."""
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return any(r.split()[1].endswith(f":{port:04X}") and r.split()[3] == "0A" for r in rows)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp to see the server listen")
@pytest.mark.slow
def test_already_running_simulator_is_reached_with_connect(tmp_path):
    """``connect: host:port``: the example runs as a server first (mosaik_api_v3's --remote), mosaik connects."""
    import socket
    import subprocess
    import time

    with socket.socket() as s:  # a free port on loopback
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "server.log"  # a file, not a pipe that could fill and block the server
    proc = subprocess.Popen([sys.executable, str(EXAMPLE), f"127.0.0.1:{port}", "--remote"],
                            stdout=log.open("w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):  # the server accepts exactly one connection: do not probe it
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        sc = validate({**GRID, "simulators": [_watch(cmd=None, connect=f"127.0.0.1:{port}")]})
        run_scenario(sc, "", tmp_path / "c.h5")
    finally:
        proc.kill()
        proc.wait(timeout=30)
    _check_watch(tmp_path / "c.h5")


@pytest.mark.slow
def test_in_process_simulator_gets_the_same_values(tmp_path, monkeypatch):
    """The same class started in-process (python: module:Class) receives numpy arrays by reference."""
    monkeypatch.syspath_prepend(str(EXAMPLE.parent))
    monkeypatch.delitem(sys.modules, "trafo_watch", raising=False)
    sc = validate({**GRID, "simulators": [_watch(cmd=None, python="trafo_watch:TrafoWatch")]})
    run_scenario(sc, "", tmp_path / "p.h5")
    _check_watch(tmp_path / "p.h5")


@pytest.mark.slow
def test_a_mechanism_outside_the_repository_clears_a_scenario(tmp_path, user_code):
    """market.mechanism: usermech:mid_price (tests/plugins, copied outside the repository)."""
    sc, text = load_scenario(None, ["duration=2h", "start=2016-06-01T10:00:00", "households.policy=market_fixed",
                                    "households.pv={share: 0.8, kwp: {dist: fixed, value: 8}}",
                                    "market.mechanism=usermech:mid_price"])
    run_scenario(sc, text, tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        trades = f["events/trades"][()]
        price = f["series/market/price_eur_per_mwh"][()]
    # hand calculation: default flat tariff retail 287, feed-in 123.1 EUR/MWh -> posted price 205.05
    assert len(trades) > 0
    np.testing.assert_allclose(trades["price_eur_per_mwh"], 205.05, rtol=0, atol=1e-9)
    np.testing.assert_allclose(price[np.isfinite(price)], 205.05, rtol=0, atol=1e-9)


@pytest.mark.slow
def test_run_refuses_an_attribute_the_grid_does_not_declare(tmp_path):
    sc = validate({**GRID, "simulators": [_watch(connections=[{"from": "grid.trafo_load", "to": "loading_percent"}])]})
    with pytest.raises(ScenarioError) as exc:
        run_scenario(sc, "", tmp_path / "x.h5")
    (line,) = exc.value.problems
    assert "simulators.0.connections.0.from: grid has no output 'trafo_load'" in line
    assert "trafo_loading_percent" in line  # lists the declared outputs
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("spec, fragment", [
    (_watch(name="grid"), "simulators.0.name: 'grid' is one of cosim's own simulators"),
    (_watch(cmd="python sim.py"), "simulators.0.cmd: the command must pass '%(addr)s'"),
    (_watch(cmd=None), "give exactly one of python, cmd, connect (got none)"),
    (_watch(connect="nohost"), "simulators.0.connect: expected 'host:port'"),
    (_watch(connections=[{"from": "grid.vm_pu", "to": "household.p_mw"}]), "exactly one side"),
    (_watch(models=[{"model": "Watch", "n": 2}]), "record needs exactly one entity"),
    (_watch(python="no_such_pkg_xyz:Sim", cmd=None), "simulators.0.python: module 'no_such_pkg_xyz' does not import"),
])
def test_schema_refuses_bad_simulator_entries(spec, fragment):
    with pytest.raises(ScenarioError) as exc:
        validate({**GRID, "simulators": [spec]})
    assert any(fragment in line for line in exc.value.problems), exc.value.problems


def test_the_documented_example_scenario_validates():
    sc, _ = load_scenario(EXAMPLE.with_suffix(".yaml"))
    (x,) = sc.simulators
    assert x.remote and x.record == {"max_loading_percent": "percent", "alarm": "bool", "hours_above_limit_h": "h"}


def test_names_must_be_unique():
    with pytest.raises(ScenarioError, match="simulators.1.name: 'watch' is given twice"):
        validate({**GRID, "simulators": [_watch(), _watch()]})
