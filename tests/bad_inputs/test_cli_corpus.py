"""Bad inputs and damaged files for every sub-command: expected exit code and message.

Each case builds its inputs in a temporary folder, runs ``cosim`` in-process
(``cosim.cli.main``) and checks the exit code, a fragment of the message, and
that nothing printed a traceback. Exit codes: 0 ok, 1 run failed, 2 bad input.
Scenario-file cases live beside this file (``s_*.yaml``, see
``test_bad_inputs.py``); run-time faults (disk full, concurrent runs, signals)
are in ``tests/cosim/test_outputs.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pytest

from analysis.synthetic import make_result
from cosim.cli import main

ORDERS = "agent,bus,side,quantity_mwh,price_eur_per_mwh\n0,1,buy,0.01,300\n1,2,sell,0.01,50\n"


def _result(tmp: Path, name: str = "r.h5", **attrs) -> Path:
    path = make_result(tmp / name, n_steps=8)
    with h5py.File(path, "r+") as f:
        for k, v in attrs.items():
            f.attrs[k] = v
    return path


def _string_time(tmp: Path) -> Path:
    path = _result(tmp)
    with h5py.File(path, "r+") as f:
        n = f["time"].shape[0]
        del f["time"]
        f["time"] = np.array([str(i * 900) for i in range(n)], dtype="S")
    return path


def _short_series(tmp: Path) -> Path:
    path = _result(tmp)
    with h5py.File(path, "r+") as f:
        ds = f["series/grid/vm_pu"]
        ds.resize(ds.shape[0] - 3, axis=0)
    return path


def _corrupt_btree(tmp: Path) -> Path:
    path = _result(tmp)
    raw = bytearray(path.read_bytes())
    at = raw.find(b"TREE")
    while at >= 0:  # v1 B-tree nodes (chunk and group indexes): garble every header
        raw[at + 4:at + 24] = b"\xff" * 20
        at = raw.find(b"TREE", at + 4)
    path.write_bytes(bytes(raw))
    return path


def _truncated(tmp: Path) -> Path:
    path = _result(tmp)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    return path


def _file(name: str, data: bytes) -> Callable[[Path], Path]:
    def make(tmp: Path) -> Path:
        p = tmp / name
        p.write_bytes(data)
        return p
    return make


def _scenario(text: str) -> Callable[[Path], Path]:
    return _file("s.yaml", text.encode())


LONG = "x" * 300 + ".h5"
#: id -> (inputs, argv with {0} = the path the inputs function returns, exit code, fragment)
CASES: dict[str, tuple[Callable[[Path], Path] | None, list[str], int, str]] = {
    # --- cosim run: the output path is checked before any set-up
    "run_output_is_folder": (lambda t: (t / "x.h5").mkdir() or t / "x.h5", ["run", "-q", "-o", "{0}"], 2, "is a folder"),
    "run_output_parent_is_file": (_file("f", b"x"), ["run", "-q", "-o", "{0}/x.h5"], 2, "cannot create the folder"),
    "run_output_name_too_long": (lambda t: t / LONG, ["run", "-q", "-o", "{0}"], 2, "too long"),
    "run_output_not_h5": (lambda t: t / "x.txt", ["run", "-q", "-o", "{0}"], 2, "ending in .h5"),
    "run_name_escapes_out": (_scenario("grid: {simbench: 1-LV-rural1--0-sw}\nname: ../../x\nduration: 1h\n"),
                             ["run", "-q", "{0}"], 2, "cannot name the default output file"),
    "run_name_absolute": (_scenario("grid: {simbench: 1-LV-rural1--0-sw}\nname: /tmp/x\nduration: 1h\n"),
                          ["run", "-q", "{0}"], 2, "name: '/tmp/x'"),
    "run_set_duplicate_key": (None, ["run", "-q", "--set", "households={{pv: {{share: 0.1, share: 0.2}}}}", "-o", "x.h5"],
                              2, "appears twice"),
    "run_set_nan": (None, ["run", "-q", "--set", "households.pv.share=.nan", "-o", "x.h5"], 2, "finite number"),
    # --- cosim clear: encodings, byte-order mark, integer range, finite prices
    "clear_huge_agent": (_file("o.csv", b"agent,bus,side,quantity_mwh,price_eur_per_mwh\n" + b"9" * 30 + b",1,buy,0.01,300\n"),
                         ["clear", "{0}", "--mechanism", "pay_as_clear"], 2, "out of range"),
    "clear_agent_4301_digits": (_file("o.csv", b"agent,bus,side,quantity_mwh,price_eur_per_mwh\n" + b"9" * 4301 + b",1,buy,0.01,300\n"),
                                ["clear", "{0}", "--mechanism", "pay_as_clear"], 2, "is not an integer"),
    "clear_latin1": (_file("o.csv", ORDERS.replace("buy", "bü").encode("latin-1")),
                     ["clear", "{0}", "--mechanism", "pay_as_clear"], 2, "not UTF-8"),
    "clear_utf16": (_file("o.csv", ORDERS.encode("utf-16")), ["clear", "{0}", "--mechanism", "pay_as_clear"], 2, "not UTF-8"),
    "clear_bom_is_fine": (_file("o.csv", b"\xef\xbb\xbf" + ORDERS.encode()), ["clear", "{0}", "--mechanism", "pay_as_clear"],
                          0, ""),
    "clear_retail_nan": (_file("o.csv", ORDERS.encode()), ["clear", "{0}", "--mechanism", "pay_as_clear", "--retail", "nan"],
                         2, "--retail: must be a finite price"),
    "clear_feed_in_inf": (_file("o.csv", ORDERS.encode()), ["clear", "{0}", "--mechanism", "pay_as_clear", "--feed-in", "inf"],
                          2, "--feed-in: must be a finite price"),
    # --- kpis / check / report: unfinished runs are refused unless --allow-partial
    "kpis_running": (lambda t: _result(t, status="running"), ["kpis", "{0}"], 2, "status is 'running'"),
    "kpis_interrupted": (lambda t: _result(t, status="interrupted"), ["kpis", "{0}"], 2, "--allow-partial"),
    "kpis_disk_full_partial": (lambda t: _result(t, status="failed", error="recorder: the disk is full"),
                               ["kpis", "{0}"], 2, "status is 'failed'"),
    "kpis_allow_partial": (lambda t: _result(t, status="interrupted"), ["kpis", "{0}", "--allow-partial"], 0,
                           "warning:"),
    "check_interrupted": (lambda t: _result(t, status="interrupted"),
                          ["check", "{0}", "--baseline", "b.json", "--write-baseline"], 2, "status is 'interrupted'"),
    "report_failed": (lambda t: _result(t, status="failed"), ["report", "{0}", "-o", "rep"], 2, "status is 'failed'"),
    "report_out_is_file": (lambda t: _file("rep", b"x")(t) and _result(t), ["report", "{0}", "-o", "rep"], 2,
                           "exists and is not a folder"),
    # --- inconsistent or damaged files are always refused
    "kpis_start_not_a_date": (lambda t: _result(t, start="yesterday"), ["kpis", "{0}"], 2, "start must be an ISO 8601 date"),
    "kpis_step_zero": (lambda t: _result(t, step_s=0), ["kpis", "{0}"], 2, "step_s must be a positive"),
    "kpis_step_negative": (lambda t: _result(t, step_s=-900), ["kpis", "{0}", "--allow-partial"], 2, "step_s must be a positive"),
    "kpis_string_time": (_string_time, ["kpis", "{0}"], 2, "/time must be a 1-D integer"),
    "kpis_short_series": (_short_series, ["kpis", "{0}"], 2, "rows but /time has"),
    "check_short_series": (_short_series, ["check", "{0}", "--baseline", "b.json"], 2, "rows but /time has"),
    "report_corrupt_btree": (_corrupt_btree, ["report", "{0}", "-o", "rep"], 2, "cannot read"),
    "kpis_corrupt_btree": (_corrupt_btree, ["kpis", "{0}"], 2, "cannot read"),
    "kpis_truncated": (_truncated, ["kpis", "{0}"], 2, ""),
}


@pytest.mark.parametrize("case", list(CASES))
def test_cli_case(case, tmp_path, monkeypatch, capfd):
    make, argv, code, fragment = CASES[case]
    monkeypatch.chdir(tmp_path)
    target = make(tmp_path) if make is not None else tmp_path
    rc = main([a.format(target) for a in argv])
    out, err = capfd.readouterr()
    assert rc == code, (rc, err)
    assert "Traceback" not in err + out
    assert fragment in err + out, err
    if code == 2:
        lines = err.strip().splitlines()
        assert lines and all(": error: " in ln or ln.startswith("error: ") for ln in lines), err
    if case.startswith("run_"):
        assert not (tmp_path / "out").exists()
        assert not any(p.suffix in (".partial", ".lock", ".reserve") for p in tmp_path.rglob("*"))
