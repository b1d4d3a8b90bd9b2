"""cosim clear: output and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulators.market.clear_cli import main

DATA = Path(__file__).parent / "data" / "orders_example.csv"


def test_json_output(capsys):
    assert main([str(DATA), "--mechanism", "pay_as_clear", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    # hand calculation in test_mechanisms.test_pay_as_clear_hand_example (same book)
    assert d["clearing_price_eur_per_mwh"] == pytest.approx(250.0)
    assert d["welfare_eur"] == pytest.approx(0.75)
    assert sum(t["quantity_mwh"] for t in d["trades"]) == pytest.approx(0.005)


@pytest.mark.parametrize(
    "body, needle",
    [
        ("agent,bus,side,quantity_mwh,price_eur_per_mwh\n1,2,buy,-1,30\n", "row 1: field quantity_mwh"),
        ("agent,bus,side,quantity_mwh,price_eur_per_mwh\n1,2,buy,1,30\n1,2,sell,1,nan\n", "row 2: field price"),
        ("agent,bus,side,quantity_mwh,price_eur_per_mwh\n1,2,hold,1,30\n", "row 1: field side"),
        ("agent,bus,side,quantity_mwh,price_eur_per_mwh\nx,2,buy,1,30\n", "row 1: field agent"),
        ("agent,bus,side,quantity_mwh,price_eur_per_mwh\n1,2,buy\n", "row 1: wrong number"),
        ("agent,side\n1,buy\n", "missing column"),
    ],
)
def test_bad_csv(tmp_path, capsys, body, needle):
    f = tmp_path / "o.csv"
    f.write_text(body)
    assert main([str(f), "--mechanism", "pay_as_clear"]) == 2
    cap = capsys.readouterr()
    assert needle in cap.err and cap.out == "" and "Traceback" not in cap.err
    assert len(cap.err.strip().splitlines()) == 1


def test_unknown_mechanism(capsys):
    assert main([str(DATA), "--mechanism", "auction9"]) == 2
    assert "allowed" in capsys.readouterr().err


def test_user_mechanism_from_the_command_line(user_code, capsys):
    """--mechanism takes a module:function like the scenario field (tests/plugins/usermech.py)."""
    assert main([str(DATA), "--mechanism", "usermech:mid_price", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    # hand calculation: posted price = (default retail 287 + feed-in 123.1) / 2 = 205.05 EUR/MWh
    assert d["clearing_price_eur_per_mwh"] == pytest.approx(205.05, abs=1e-9)
    assert main([str(DATA), "--mechanism", "usermech:nothing"]) == 2
    assert "has no attribute 'nothing'" in capsys.readouterr().err
