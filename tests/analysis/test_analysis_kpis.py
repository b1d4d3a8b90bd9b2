"""Every KPI against a value computed by hand from the tiny file in conftest.py.

The tiny file has 4 steps of 1800 s (0.5 h); the comment next to each
expectation shows the hand calculation. Tolerance 1e-9 (float round-off)
unless stated.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import REGISTRY, kpis, load

TOL = 1e-9

EXPECTED = {
    # vm_pu: |0.89-1|, |1.11-1|, |0.85-1| > 0.10 (0.91 is inside) -> 3 bus-steps
    "grid_voltage_violation_bus_steps": 3.0,
    "grid_voltage_violation_bus_hours": 1.5,  # 3 x 0.5 h
    "grid_vm_min_pu": 0.85,
    "grid_vm_max_pu": 1.11,
    "grid_line_loading_max_percent": 130.0,
    "grid_trafo_loading_max_percent": 100.5,
    "grid_line_overload_hours": 1.0,  # steps 0 (101) and 2 (120, 130) -> 2 x 0.5 h
    "grid_trafo_overload_hours": 0.5,  # only step 2 (100.5); exactly 100 is not above
    # no scenario_yaml -> the market schema's default limit 100 %: line 101 in step 0,
    # line 130 / trafo 100.5 in step 2 -> 2 steps
    "grid_dso_limit_steps": 2.0,
    "grid_losses_mwh": 0.05,  # (0.01+0.02+0.03+0.04) MW x 0.5 h
    "grid_reverse_flow_hours": 1.0,  # p_hv < 0 in steps 1, 2
    "grid_reverse_flow_energy_mwh": 0.2,  # (0.1 + 0.3) x 0.5
    # PCC = sum of both ext_grids per step: [0.2, -0.1, -0.3, 0.5] MW
    "grid_pcc_peak_import_mw": 0.5,
    "grid_pcc_peak_export_mw": 0.3,
    "grid_energy_imported_mwh": 0.35,  # (0.2 + 0.5) x 0.5
    "grid_energy_exported_mwh": 0.2,  # (0.1 + 0.3) x 0.5
    "grid_pf_not_converged_steps": 1.0,
    "grid_energy_balance_residual_mw": 0.001,  # step 3: 0.5 - 0.459 - 0.04
    "market_welfare_eur": 10.0,  # 1+2+3+4
    "market_total_cost_eur": 6.0,  # final running totals: hh0 4 (1+1+2+0), hh1 2 (2-1+0+1)
    "market_bill_mean_eur": 3.0,  # (4 + 2) / 2
    "market_bill_saving_mean_eur": 0.25,  # hh0 5-4 = 1, hh1 1.5-2 = -0.5 -> mean 0.25
    "market_share_agents_better_off": 0.5,  # only hh0 saves
    "market_price_mean_eur_per_mwh": 80.0,  # (80+100+60)/3, NaN skipped
    "market_price_std_eur_per_mwh": math.sqrt(800.0 / 3.0),  # deviations 0, +20, -20, population
    "market_traded_mwh": 0.4,
    "market_share_demand_met_locally": 0.4 / 1.2,  # traded 0.4 / (0.4 + retail 0.8)
    "market_trades_curtailed": 3.0,
    "market_operator_surplus_eur": 0.9,  # last running total
    "market_operator_surplus_share_of_bills": 0.15,  # 0.9 / total bill 6
    "market_money_residual_eur": 0.03,  # step 3: 6 - 5 - 0.9 - ledger fees 0.05 - DSO 0.02
    "market_surplus_to_dso_eur": 0.02,  # last running total
    "market_surplus_returned_eur": 0.3,  # last running total
    # ledger: submit-to-final 2, 4, 10, 600 s; the 600 s one (0.3 MWh) not final in time
    "ledger_latency_p50_s": 7.0,  # (4 + 10) / 2
    "ledger_latency_p95_s": 511.5,  # numpy linear, rank 2.85 -> 10 + 0.85 x 590
    "ledger_share_not_final": 0.25,  # 1 of 4
    "ledger_energy_not_settled_mwh": 0.3,
    "ledger_fees_eur": 0.05,  # last running total
    "ledger_energy_use_kwh": 3.0,  # last running total
    "market_not_executed_mwh": 0.3,
    "dso_forecast_error_mean_mw": 0.03 / 9,  # 0.03 MW once over steps 1-3 x 3 buses (step 0 left out)
    "dso_forecast_error_max_mw": 0.03,
    "market_curtailed_mwh": 0.15,  # 0.05 + 0.1
    "market_orders_rejected_auth": 1.0,
    "market_orders_late": 3.0,
    # household energies (x 0.5 h): e = [[.5,-.5],[1,0],[-1,.5],[.5,.5]], g = [[0,1],[0,.5],[1.5,0],[0,0]]
    # G = 3, export E = 0.5 + 1 = 1.5, import I = 3
    "household_bill_mean_eur": 4.5,  # final running bills (4 + 5) / 2
    "household_self_consumption": 0.5,  # (3 - 1.5) / 3
    "household_self_sufficiency": 1.5 / 4.5,  # (3 - 1.5) / (3 + 3 - 1.5)
    # community net per step [0, 1, -0.5, 1]: export 0.5, import 2
    "community_self_consumption": 2.5 / 3.0,  # (3 - 0.5) / 3
    "community_self_sufficiency": 2.5 / 4.5,  # (3 - 0.5) / (2 + 3 - 0.5)
    "household_pv_curtailed_mwh": 0.3,  # (0.2 + 0.4) x 0.5
    # flexibility, settled rows only, step 0.5 h: activated |-0.2| + |0.1| = 0.3 MW
    # -> 0.15 MWh; delivered |-0.15| + |0.1| = 0.25 MW -> 0.125 MWh
    "market_flex_procured_mwh": 0.15,
    "market_flex_delivered_mwh": 0.125,
    "market_flex_delivery_ratio": 0.125 / 0.15,
    "ict_delivery_ratio": 37.0 / 40.0,
    "ict_messages_lost": 3.0,
    # arrived latencies 10, 20, 30, 40 ms; numpy linear percentile at rank q/100 x 3
    "ict_latency_p50_ms": 25.0,  # rank 1.5
    "ict_latency_p95_ms": 38.5,  # rank 2.85 -> 30 + 0.85 x 10
    "ict_latency_p99_ms": 39.7,  # rank 2.97 -> 30 + 0.97 x 10
    "ict_orders_missed_gate_closure": 1.0,  # the LATE BID; the LATE METER is no order
    "ict_hems_fallback_home_steps": 4.0,  # hems_fallback [[0,0],[1,0],[0,1],[1,1]] summed
    "ict_hems_fallback_share": 0.5,  # 4 of 2 homes x 4 steps
    # activations summed over the two areas per step: [0, 10, 15, 8]
    "coord_tso_need_met_share": 30.0 / 35.0,  # min(act, need) = 0+10+15+5 over 0+10+20+5
    # recorded violations (default limits 100 %, 0.9-1.1 pu): step 0 line 101 / vm 0.89, step 1
    # vm 1.11, step 2 line 130, step 3 vm 0.85 -> 4 steps; TSO active in steps 1-3 -> 3
    "coord_dso_violations_by_tso": 3.0,
    "coord_dso_violation_steps": 4.0,
    "coord_dso_violations_forecast": 2.0,
    "coord_double_activations": 0.0,
    "coord_blocked_by_traffic_light": 1.0,
    "coord_cost_tso_eur": 10.0,
    "coord_cost_dso_eur": 0.5,
    # demand response: programme active (any home) in steps [0, 1, 0, 1] -> 2 events
    "dr_events": 2.0,
    "dr_energy_shifted_mwh": 0.35,  # (0.2 + 0.1 + 0.4) MW x 0.5 h
    # aggregate p_mw per step [0, 2, -1, 2]; event 1 ends in step 1, its hour = steps 2, 3
    # -> max(0, 2) = 2; event 2 ends in the last step (no hour after it)
    "dr_rebound_peak_mw": 2.0,
    "dr_edr_compliance_share": 0.5,  # 1 complied of 2 requested home-steps
    "dr_payments_eur": 5.0,  # final running totals 3 + 2
    "dr_edr_metered_reduction_mwh": 0.15,  # 0.3 MW x 0.5 h
    "household_net_bill_mean_eur": 2.0,  # final bills 4, 5 minus final payments 3, 2: (1 + 3) / 2
    "comp_wall_time_per_step_s": 2.0,  # 8 s / 4 steps
    "comp_n_households": 2.0,
}


def test_every_registered_kpi_has_a_hand_value():
    assert set(EXPECTED) == set(REGISTRY)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_kpi_hand_value(name, tiny, tariff):
    values = kpis(load(tiny), load(tariff))
    kv = values[name]
    assert kv.applicable
    assert kv.value == pytest.approx(EXPECTED[name], abs=TOL), kv.description
    assert kv.unit == REGISTRY[name].unit and kv.description


def test_bill_comparison_not_applicable_without_tariff(tiny):
    values = kpis(load(tiny))
    assert not values["market_bill_saving_mean_eur"].applicable
    assert values["market_bill_mean_eur"].applicable


def test_missing_simulators_are_not_applicable_not_zero(tmp_path, tiny_factory):
    path = tiny_factory(tmp_path / "grid_only.h5", sims=("grid",), events=False)
    values = kpis(load(path))
    for name, spec in REGISTRY.items():
        expect = spec.group == "grid" or name == "comp_wall_time_per_step_s"
        assert values[name].applicable is expect, name
        if not expect:
            assert math.isnan(values[name].value), name


def test_undefined_share_is_nan_not_zero(tmp_path):
    """No TSO need at all: the met share is undefined (nan), the KPI stays applicable."""
    from analysis.synthetic import write_result

    series = {"coordinator": {"tso_need_mw": (np.zeros(3), "MW", []), "tso_activated_mw": (np.zeros(3), "MW", [])}}
    values = kpis(load(write_result(tmp_path / "n.h5", np.arange(3) * 900, series)))
    assert values["coord_tso_need_met_share"].applicable
    assert math.isnan(values["coord_tso_need_met_share"].value)


def test_ict_running_totals_give_the_same_kpis(tmp_path):
    """The ICT adapter records running totals; last value = run total.

    Per-step counts of the tiny file (sent 10 each, delivered 10/9/8/10, lost 0/1/2/0)
    as running totals: sent 10/20/30/40, delivered 10/19/27/37, lost 0/1/3/3;
    plus 2 more messages sent and dropped by an outage in the last step (sent 42)
    -> lost 3 + 2 = 5; delivery ratio over messages whose fate is known:
    37 / (37 + 3 + 2) = 37 / 42.
    """
    from analysis.synthetic import write_result

    series = {"ict": {
        "sent_total": (np.array([10.0, 20.0, 30.0, 42.0]), "1", []),
        "delivered_total": (np.array([10.0, 19.0, 27.0, 37.0]), "1", []),
        "lost_total": (np.array([0.0, 1.0, 3.0, 3.0]), "1", []),
        "dropped_outage_total": (np.array([0.0, 0.0, 0.0, 2.0]), "1", []),
    }}
    values = kpis(load(write_result(tmp_path / "t.h5", np.arange(4) * 1800, series)))
    assert values["ict_delivery_ratio"].value == pytest.approx(37.0 / 42.0, abs=TOL)
    assert values["ict_messages_lost"].value == pytest.approx(5.0, abs=TOL)
    assert not values["ict_latency_p50_ms"].applicable  # no message log in this file


def test_bill_saving_from_the_runs_own_tariff_settlement(tmp_path, tiny_factory):
    """bill_tariff_eur in the same file replaces the separate tariff run.

    Tariff bills per step chosen to total hh0 = 5, hh1 = 1.5 EUR, as the tariff
    fixture: savings 5 - 4 = 1 and 1.5 - 2 = -0.5 -> mean 0.25, share better off 0.5.
    """
    from analysis.synthetic import write_result
    from tests.analysis.conftest import tiny_series

    series = {"market": dict(tiny_series()["market"])}
    series["market"]["bill_tariff_eur"] = (np.array([[5.0, 0.5], [5.0, 1.5], [5.0, 1.5], [5.0, 1.5]]), "EUR", ["hh0", "hh1"])
    values = kpis(load(write_result(tmp_path / "b.h5", np.arange(4) * 1800, series)))
    assert values["market_bill_saving_mean_eur"].value == pytest.approx(0.25, abs=TOL)
    assert values["market_share_agents_better_off"].value == pytest.approx(0.5, abs=TOL)
    # with the money still awaiting a meter reading recorded (hh0 1 EUR, hh1 0.5 EUR open at the end):
    # settled bills 4 - 1 = 3 and 2 - 0.5 = 1.5 -> savings 5 - 3 = 2 and 1.5 - 1.5 = 0 -> mean 1,
    # share better off 0.5 (a saving of exactly 0 is not better off)
    series["market"]["bill_open_eur"] = (np.array([[0.0, 0.0], [0.0, 0.0], [0.5, 0.5], [1.0, 0.5]]), "EUR",
                                         ["hh0", "hh1"])
    values = kpis(load(write_result(tmp_path / "c.h5", np.arange(4) * 1800, series)))
    assert values["market_bill_saving_mean_eur"].value == pytest.approx(1.0, abs=TOL)
    assert values["market_share_agents_better_off"].value == pytest.approx(0.5, abs=TOL)


def test_flexibility_kpis_not_applicable_without_flex_events(tmp_path):
    """A run without the LFM has no /events/flex: the KPIs are n/a, not 0."""
    from analysis.synthetic import write_result

    path = write_result(tmp_path / "g.h5", np.arange(4) * 1800, {"grid": {"pl_mw": (np.zeros(4), "MW", [])}})
    values = kpis(load(path))
    for name in ("market_flex_procured_mwh", "market_flex_delivered_mwh", "market_flex_delivery_ratio"):
        assert not values[name].applicable and math.isnan(values[name].value)


def test_dso_limit_steps_use_the_scenario_limit(tmp_path, tiny_factory):
    """The limit comes from the run's market section: at 120 % only step 2 (line 130 %)
    is above it; at 80 % steps 0 (line 101), 1 (line 99, trafo 100) and 2; step 3 peaks
    at 30 % (hand count from the tiny file in conftest.py)."""
    hi = load(tiny_factory(tmp_path / "hi.h5", scenario_yaml="market: {max_loading_percent: 120}"))
    assert kpis(hi)["grid_dso_limit_steps"].value == 1.0
    lo = load(tiny_factory(tmp_path / "lo.h5", scenario_yaml="market: {max_loading_percent: 80}"))
    assert kpis(lo)["grid_dso_limit_steps"].value == 3.0


def test_net_bill_is_the_energy_bill_without_a_programme(tmp_path):
    """No ``dr_payment_eur`` series (no programme): net bill = energy bill, final (4 + 5) / 2 = 4.5."""
    from analysis.synthetic import write_result

    bills = np.array([[1.0, 2.0], [2.0, 3.0], [3.0, 3.0], [4.0, 5.0]])
    path = write_result(tmp_path / "nb.h5", np.arange(4) * 1800,
                        {"household": {"bill_eur": (bills, "EUR", ["hh0", "hh1"])}})
    values = kpis(load(path))
    assert values["household_net_bill_mean_eur"].value == pytest.approx(4.5, abs=TOL)
    assert values["household_net_bill_mean_eur"].value == values["household_bill_mean_eur"].value


def test_dr_against_baseline_by_hand(tmp_path, tiny):
    """The paired demand-response figures of analysis.compare, by hand.

    Programme run = the tiny file: aggregate household p_mw per step [0, 2, -1, 2], event
    steps 1 and 3. Baseline (same steps, no programme): p_mw [[1, -1], [2, 1], [-2, -1],
    [1, 1.5]] -> aggregate [0, 3, -3, 2.5]. Steps of 0.5 h.
    shifted = ((3 - 2) + (2.5 - 2)) x 0.5 = 0.75 MWh (event steps 1, 3);
    rebound = (-1 - (-3)) x 0.5 = 1.0 MWh (step 2: after event 1, before event 2).
    """
    from analysis.compare import dr_against_baseline
    from analysis.synthetic import write_result

    p_base = np.array([[1.0, -1.0], [2.0, 1.0], [-2.0, -1.0], [1.0, 1.5]])
    base = write_result(tmp_path / "base.h5", np.arange(4) * 1800,
                        {"household": {"p_mw": (p_base, "MW", ["hh0", "hh1"])}}, attrs={"step_s": 1800})
    got = dr_against_baseline(load(tiny), load(base))
    assert got["dr_shifted_vs_base_mwh"] == pytest.approx(0.75, abs=TOL)
    assert got["dr_rebound_vs_base_mwh"] == pytest.approx(1.0, abs=TOL)
    # a run without events has nothing to compare: NaN, not 0
    none = dr_against_baseline(load(base), load(base))
    assert all(math.isnan(v) for v in none.values())
    # a baseline of another length is not the same scenario
    short = write_result(tmp_path / "short.h5", np.arange(3) * 1800,
                         {"household": {"p_mw": (p_base[:3], "MW", ["hh0", "hh1"])}}, attrs={"step_s": 1800})
    with pytest.raises(ValueError, match="not the same scenario"):
        dr_against_baseline(load(tiny), load(short))
