"""Settlement on a distributed ledger is binding: trades not final in time change the grid.

Coupled runs (grid + households + market, pay-as-clear, no DSO check) of the
congested midday hours of a June day on 1-LV-rural1:

* ``authority`` with its defaults (2 s blocks, 500 tx per block, final with its
  block, no fee): every trade is submitted at gate closure, 300 s before its
  delivery interval, and is final within a few seconds (hand calculation:
  at most a few hundred trades per gate fit into one block), so the run must
  be *identical* to the run without a ledger, series by series.
* ``proof_of_work`` (exponential 600 s blocks, depth 6): P(6 blocks within
  300 s) = P(Poisson(0.5) >= 6) = 1.4e-5, so practically no trade is final
  before delivery; the dropped volume goes to the retail backstop or is not
  executed, so the recorded grid exchange must differ from the no-ledger run.
  Money still sums to zero with the fees (1e-9 relative).

The ledger is its own simulator (``simulators.ledger``): its series are recorded
under ``/series/ledger``, the market records none of them, and its answers reach
the market at the gate closure that submitted the trades (a same-instant loop).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.world import run_scenario

BASE = [
    "households.include=[household, agricultural]", "households.policy=market",
    "households.pv={share: 0.8, kwp: {dist: uniform, low: 5, high: 10}, sgen_mode: absorb}",
    "households.battery={share: 0.6}",
    "market.mechanism=pay_as_clear",
    "start=2016-06-06T09:00:00",
    "duration=4h",
]


def _run(tmp_path, name, extra):
    sc, text = load_scenario(None, [*BASE, *extra])
    path = tmp_path / f"{name}.h5"
    run_scenario(sc, text, path)
    with h5py.File(path) as f:
        series = {f"{s}/{a}": f[f"series/{s}/{a}"][()] for s in f["series"] for a in f[f"series/{s}"]}
        ledger = f["events/ledger"][()] if "events/ledger" in f else None
    return series, ledger


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dlt")
    return {
        "none": _run(tmp, "none", []),
        "authority": _run(tmp, "authority", ["market.ledger={preset: authority}"]),
        "pow": _run(tmp, "pow", ["market.ledger={preset: proof_of_work, fee_eur_per_tx: 0.2}"]),
    }


def test_fast_ledger_changes_nothing(runs):
    ref, _ = runs["none"]
    got, ledger = runs["authority"]
    assert ledger is not None and len(ledger) > 0 and ledger["final_in_time"].all()
    for key in ("grid/ext_grid_p_mw", "grid/bus_p_mw", "market/traded_mwh", "market/bill_eur"):
        np.testing.assert_array_equal(got[key], ref[key], err_msg=key)


def test_slow_ledger_drops_trades_and_changes_the_grid(runs):
    ref, _ = runs["none"]
    got, ledger = runs["pow"]
    assert ref["market/traded_mwh"].sum() > 0
    assert ledger["final_in_time"].mean() < 0.01
    assert got["market/traded_mwh"].sum() < 0.01 * ref["market/traded_mwh"].sum()
    # the recorded exchange with the upstream grid differs (by more than the solver tolerance)
    d = np.abs(got["grid/ext_grid_p_mw"].sum(axis=1) - ref["grid/ext_grid_p_mw"].sum(axis=1))
    assert d.max() > 1e-3  # MW: at least 1 kW somewhere in the 4 hours
    # money: bills = retailer + operator + ledger fees, every step (1e-9 relative)
    bills = got["market/bill_eur"]
    res = bills.sum(axis=1) - got["market/retailer_eur"] - got["market/operator_eur"] - got["ledger/fee_eur"]
    assert np.abs(res).max() <= 1e-9 * max(np.abs(bills).sum(axis=1).max(), 1e-12)
    # hand calculation: 0.2 EUR per transaction, one transaction per trade
    assert got["ledger/fee_eur"][-1] == pytest.approx(0.2 * len(ledger), rel=1e-12)


def test_ledger_is_its_own_simulator_in_the_result(runs):
    ref, ref_ledger = runs["none"]
    got, ledger = runs["authority"]
    # without market.ledger no ledger simulator runs and nothing is recorded for it
    assert ref_ledger is None and not any(k.startswith("ledger/") for k in ref)
    assert {k for k in got if k.startswith("ledger/")} == {
        "ledger/tx", "ledger/tx_not_final", "ledger/latency_max_s", "ledger/fee_eur", "ledger/energy_kwh"}
    assert not any(k.startswith("market/dlt_") for k in got)
    # the per-gate transaction counts add up to the event table (one record per transaction)
    assert got["ledger/tx"].sum() == len(ledger)
    # authority preset: 2 s slots, final with its block; a batch submitted at gate closure
    # g (a multiple of 2 s) is included in the next slot, g + 2 s (hand calculation)
    np.testing.assert_array_equal(ledger["confirmation_s"] - ledger["submit_s"], 2.0)
