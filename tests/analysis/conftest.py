"""Shared fixtures: a tiny hand-made result file whose KPIs are computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.synthetic import write_result
from simulators.common.messages import Kind, MESSAGE_DTYPE, Status, empty

NAN = np.nan
#: 4 steps of 1800 s: every "hours" KPI is (number of steps) x 0.5 h.
STEP_S = 1800


def tiny_series() -> dict:
    """Hand-chosen arrays; the expected KPI values are derived in test_kpis.py."""
    hh = ["hh0", "hh1"]
    return {
        "grid": {
            "vm_pu": (np.array([[1.0, 0.95, 0.89], [1.0, 1.02, 1.11], [1.0, 1.05, 1.08], [1.0, 0.91, 0.85]]), "pu", ["b0", "b1", "b2"]),
            "line_loading_percent": (np.array([[50, 101], [99, 20], [120, 130], [10, 10]], float), "percent", ["l0", "l1"]),
            "trafo_loading_percent": (np.array([[80], [100], [100.5], [30]]), "percent", ["t0"]),
            "trafo_p_hv_mw": (np.array([[0.2], [-0.1], [-0.3], [0.4]]), "MW", ["t0"]),
            "ext_grid_p_mw": (np.array([[0.1, 0.1], [-0.05, -0.05], [-0.2, -0.1], [0.3, 0.2]]), "MW", ["e0", "e1"]),
            "pl_mw": (np.array([0.01, 0.02, 0.03, 0.04]), "MW", []),
            "pf_converged": (np.array([True, True, False, True]), "1", []),
            # ext - losses per step: 0.19, -0.12, -0.33, 0.46; step 3 misses 0.001 MW
            "bus_p_mw": (np.array([[0.09, 0.1, 0.0], [-0.12, 0.0, 0.0], [-0.33, 0.0, 0.0], [0.459, 0.0, 0.0]]),
                         "MW", ["b0", "b1", "b2"]),
        },
        "market": {
            "price_eur_per_mwh": (np.array([80.0, NAN, 100.0, 60.0]), "EUR/MWh", []),
            "traded_mwh": (np.array([0.1, 0.0, 0.2, 0.1]), "MWh", []),
            "retail_import_mwh": (np.array([0.3, 0.2, 0.1, 0.2]), "MWh", []),
            "retail_export_mwh": (np.array([0.0, 0.1, 0.0, 0.0]), "MWh", []),
            "welfare_eur": (np.array([1.0, 2.0, 3.0, 4.0]), "EUR", []),
            "market_status": (np.array([1, 0, 1, 1], dtype=np.int8), "1", []),
            "orders_late": (np.array([1, 0, 0, 2]), "1", []),
            "orders_rejected_auth": (np.array([0, 0, 1, 0]), "1", []),
            "trades_curtailed": (np.array([0, 1, 2, 0]), "1", []),
            "curtailed_mwh": (np.array([0.0, 0.05, 0.1, 0.0]), "MWh", []),
            "not_executed_mwh": (np.array([0.0, 0.1, 0.0, 0.2]), "MWh", []),
            # bills sum per step 3, 3, 5, 6; step 3 misses 0.1 EUR
            "retailer_eur": (np.array([2.0, 2.0, 4.0, 5.0]), "EUR", []),
            "operator_eur": (np.array([1.0, 1.0, 1.0, 0.9]), "EUR", []),
            # operator surplus passed to the DSO / returned to traders (running totals)
            "dso_eur": (np.array([0.0, 0.0, 0.0, 0.02]), "EUR", []),
            "returned_eur": (np.array([0.0, 0.1, 0.1, 0.3]), "EUR", []),
            # the recorded bus powers, bus 0 off by 0.03 MW in step 1
            "dso_forecast_p_mw": (np.array([[0.09, 0.1, 0.0], [-0.09, 0.0, 0.0], [-0.33, 0.0, 0.0],
                                            [0.459, 0.0, 0.0]]), "MW", ["b0", "b1", "b2"]),
            # running totals (as the market records them); increments per step
            # hh0 1, 1, 2, 0 and hh1 2, -1, 0, 1
            "bill_eur": (np.array([[1.0, 2.0], [2.0, 1.0], [4.0, 1.0], [4.0, 2.0]]), "EUR", hh),
        },
        "ledger": {
            # ledger fees (running total) and ledger electricity use (running total)
            "fee_eur": (np.array([0.0, 0.0, 0.0, 0.05]), "EUR", []),
            "energy_kwh": (np.array([0.0, 1.0, 2.0, 3.0]), "kWh", []),
        },
        "household": {
            "p_mw": (np.array([[1.0, -1.0], [2.0, 0.0], [-2.0, 1.0], [1.0, 1.0]]), "MW", hh),
            "pv_p_mw": (np.array([[0.0, 2.0], [0.0, 1.0], [3.0, 0.0], [0.0, 0.0]]), "MW", hh),
            "pv_curtailed_mw": (np.array([[0.0, 0.0], [0.0, 0.2], [0.0, 0.0], [0.4, 0.0]]), "MW", hh),
            "battery_soc_mwh": (np.array([[0.01, 0.02], [0.02, 0.02], [0.03, 0.01], [0.02, 0.0]]), "MWh", hh),
            # the homes' own running bills [EUR]; final 4 and 5
            "bill_eur": (np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 3.0], [4.0, 5.0]]), "EUR", hh),
            "hems_fallback": (np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), "1", hh),
            # demand response: a DLC event in step 1 (both homes), an emergency request in
            # step 3 (hh0 complies); reductions and running payment totals per home
            "dlc_active": (np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]), "1", hh),
            "edr_requested": (np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0]]), "1", hh),
            "edr_complied": (np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [1.0, 0.0]]), "1", hh),
            "dr_reduction_mw": (np.array([[0.0, 0.0], [0.2, 0.1], [0.0, 0.0], [0.4, 0.0]]), "MW", hh),
            "dr_payment_eur": (np.array([[0.0, 0.0], [2.0, 2.0], [2.0, 2.0], [3.0, 2.0]]), "EUR", hh),
            # hh0's metered import 0.3 MW below its meter-before baseline in the request step
            "edr_metered_reduction_mw": (np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.3, 0.0]]), "MW", hh),
        },
        "ict": {
            "sent": (np.array([10, 10, 10, 10]), "1", []),
            "delivered": (np.array([10, 9, 8, 10]), "1", []),
            "lost": (np.array([0, 1, 2, 0]), "1", []),
        },
        "coordinator": {
            "tso_need_mw": (np.array([0.0, 10.0, 20.0, 5.0]), "MW", []),
            # two areas; per-step sums 0, 10, 15, 8
            "tso_activated_mw": (np.array([[0.0, 0.0], [6.0, 4.0], [10.0, 5.0], [8.0, 0.0]]), "MW", ["a0", "a1"]),
            "dso_violations": (np.array([0, 1, 0, 1]), "1", []),
            "double_activations": (np.array([0, 0, 0, 0]), "1", []),
            "blocked_by_traffic_light": (np.array([0, 0, 1, 0]), "1", []),
            "cost_tso_eur": (np.array([1.0, 2.0, 3.0, 4.0]), "EUR", []),
            "cost_dso_eur": (np.array([0.0, 0.5, 0.0, 0.0]), "EUR", []),
            "traffic_light": (np.array([[0], [1], [2], [0]], dtype=np.int8), "1", ["area0"]),
        },
    }


def tiny_messages() -> np.ndarray:
    """Five messages: latencies 10/20/30/40 ms arrived, one lost; one late BID, one late METER."""
    m = empty(5)
    m["kind"] = [Kind.BID, Kind.OFFER, Kind.BID, Kind.METER, Kind.BID]
    m["status"] = [Status.DELIVERED, Status.DELIVERED, Status.LATE, Status.LATE, Status.LOST]
    dtype = np.dtype(MESSAGE_DTYPE.descr + [("latency_ms", np.float64)])
    out = np.zeros(5, dtype=dtype)
    for name in MESSAGE_DTYPE.names:
        out[name] = m[name]
    out["latency_ms"] = [10.0, 20.0, 30.0, 40.0, NAN]
    return out


def tiny_flex():
    """Two profiles activated (kind 0) and settled (kind 1): activated -0.2 and
    0.1 MW, delivered -0.15 and 0.1 MW."""
    from simulators.market.flexmarket import FLEX_EVENT_DTYPE

    ev = np.zeros(4, dtype=FLEX_EVENT_DTYPE)
    ev["kind"] = [0, 0, 1, 1]
    ev["activated_mw"] = [-0.2, 0.1, -0.2, 0.1]
    ev["delivered_mw"] = [0.0, 0.0, -0.15, 0.1]
    return ev


def tiny_ledger():
    """Four trade transactions: submit-to-final 2, 4, 10, 600 s; the last one not final in time."""
    from simulators.ledger.model import EVENT_LEDGER_DTYPE

    ev = np.zeros(4, dtype=EVENT_LEDGER_DTYPE)
    ev["submit_s"] = 100.0
    ev["confirmation_s"] = 100.0 + np.array([2.0, 4.0, 10.0, 600.0])
    ev["final_in_time"] = [1, 1, 1, 0]
    ev["quantity_mwh"] = [0.1, 0.2, 0.05, 0.3]
    return ev


def write_tiny(path, sims=("grid", "market", "ledger", "household", "ict", "coordinator"), events=True, **attrs):
    """Write the tiny file restricted to ``sims``."""
    series = {k: v for k, v in tiny_series().items() if k in sims}
    ev = {"messages": tiny_messages(), "flex": tiny_flex(), "ledger": tiny_ledger()} if events else {}
    root = {"step_s": STEP_S, "wall_time_s": 8.0, "n_steps_done": 4}
    root.update(attrs)
    return write_result(path, np.arange(4) * STEP_S, series, events=ev, attrs=root)


@pytest.fixture
def tiny_factory():
    """The :func:`write_tiny` function (tests that need a variant of the tiny file)."""
    return write_tiny


@pytest.fixture
def tiny(tmp_path):
    """Path of the full tiny result file."""
    return write_tiny(tmp_path / "tiny.h5")


@pytest.fixture
def tariff(tmp_path):
    """Tariff-baseline run: bills per agent hh1 = 1.5 EUR, hh0 = 5 EUR (entities in reverse order)."""
    bills = np.array([[0.5, 5.0], [1.5, 5.0], [1.5, 5.0], [1.5, 5.0]])  # running totals
    series = {"market": {"bill_eur": (bills, "EUR", ["hh1", "hh0"])}}
    return write_result(tmp_path / "tariff.h5", np.arange(4) * STEP_S, series, attrs={"step_s": STEP_S})
