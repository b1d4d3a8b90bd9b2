"""Run named variants of a scenario and tabulate their KPIs (markdown).

The README's comparison tables are produced with this module::

    python -m analysis.compare markets   # market designs x DSO check, two LV grids
    python -m analysis.compare ict       # one market study over four ICT set-ups
    python -m analysis.compare flex      # tariff vs LFM vs DLMP on the congestion case
    python -m analysis.compare schemes   # the five TSO-DSO coordination schemes
    python -m analysis.compare design    # mechanism x DSO check x ICT on the congested LV grid
    python -m analysis.compare ledger    # P2P settlement on distributed ledgers
    python -m analysis.compare demand_response  # tariffs and DR programmes on a winter day
    python -m analysis.compare dso_models  # the reviews' three DSO models on the congested LV grid

Each study runs its variants with :func:`cosim.world.run_scenario` (same
seed, only the listed overrides differ) into ``--out`` and prints one
markdown table of the chosen KPIs (``n/a`` where a KPI does not apply).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from .io import Result, load
from .kpis import _dr_indicator, kpis

MECHANISMS = ("tariff", "pay_as_clear", "p2p_cda", "community")

#: The ``design`` study: the congested hours of ``market_lv_congested.yaml``
#: (10:00-14:00, 16 steps; the transformer passes its limit from about 11:00).
DESIGN_WINDOW = ["start=2016-07-23T10:00:00", "duration=4h"]
#: ICT set-ups of the ``design`` study. ``ideal``: every message arrives at once.
#: ``lte_outage``: fibre 30 % / LTE 70 % (as ``ict_feeder_outage.yaml``) and the
#: LTE access of every feeder down for one hour from 11:00 (run start + 3600 s):
#: the LTE homes get no market result and fall back to the safe default.
DESIGN_ICT = {
    "ideal": "ict={technologies: {ideal: 1.0}, order_deadline_s: 300}",
    "lte_outage": ("ict={technologies: {fiber: 0.3, lte: 0.7}, order_deadline_s: 300, "
                   "outages: [{feeders: all, technologies: [lte], start_s: 3600, end_s: 7200}]}"),
}
#: The ``demand_response`` study: ``lv_rural_der.yaml`` (PV, batteries, EVs, heat pumps) on a
#: January weekday with all 13 rural loads as homes and the price-responsive ``tariff`` HEMS.
DR_BASE = ["start=2016-01-12T00:00:00", "duration=1d", "households.include=[household, agricultural]",
           "households.policy=tariff"]
DESIGN_MECHANISMS = ("tariff", "pay_as_clear", "pay_as_bid", "p2p_cda", "community")
STUDIES: dict[str, dict] = {
    "markets": {
        "runs": {
            f"{grid} / {mech} / {check}": (f"scenarios/market_lv_{grid}.yaml",
                                            [f"market.mechanism={mech}", f"market.dso_check={check}"])
            for grid in ("rural", "semiurb") for mech in MECHANISMS for check in ("none", "ac_check")
        },
        "kpis": ["market_bill_mean_eur", "market_bill_saving_mean_eur", "market_price_mean_eur_per_mwh",
                 "market_traded_mwh", "market_share_demand_met_locally", "market_welfare_eur",
                 "market_trades_curtailed", "grid_vm_max_pu", "grid_trafo_loading_max_percent",
                 "grid_energy_exported_mwh"],
    },
    "ict": {
        "runs": {name: (f"scenarios/ict_{name}.yaml", []) for name in ("ideal", "lte", "nb_plc", "feeder_outage")},
        "kpis": ["ict_delivery_ratio", "ict_messages_lost", "ict_latency_p50_ms", "ict_latency_p95_ms",
                 "ict_latency_p99_ms", "market_orders_late", "market_traded_mwh",
                 "market_share_demand_met_locally", "market_bill_mean_eur", "grid_energy_imported_mwh"],
    },
    "flex": {
        "runs": {mech: ("scenarios/lv_congestion_lfm.yaml", [f"market.mechanism={mech}"])
                 for mech in ("tariff", "lfm", "dlmp")},
        "kpis": ["grid_trafo_overload_hours", "grid_line_overload_hours", "grid_trafo_loading_max_percent",
                 "grid_voltage_violation_bus_steps", "grid_vm_max_pu", "market_welfare_eur",
                 "grid_energy_exported_mwh"],
        "extra": {"dso_cost_eur": ("market", "dso_cost_eur")},
    },
    "design": {
        "runs": {
            f"{mech} / {check} / {ict}": ("scenarios/market_lv_congested.yaml",
                                          [*DESIGN_WINDOW, f"market.mechanism={mech}", f"market.dso_check={check}",
                                           ict_set])
            for mech in DESIGN_MECHANISMS for check in ("none", "caps", "ac_check")
            for ict, ict_set in DESIGN_ICT.items()
        },
        "kpis": ["grid_energy_imported_mwh", "grid_energy_exported_mwh", "grid_trafo_loading_max_percent",
                 "grid_line_loading_max_percent", "grid_vm_min_pu", "grid_vm_max_pu", "grid_dso_limit_steps",
                 "market_curtailed_mwh", "household_pv_curtailed_mwh", "market_not_executed_mwh",
                 "market_traded_mwh", "market_bill_mean_eur", "market_operator_surplus_eur"],
    },
    "schemes": {
        "runs": {s: ("scenarios/tso_dso_schemes.yaml", [f"coordinator.scheme={s}"])
                 for s in ("centralized", "local", "shared_balancing", "common", "integrated")},
        "kpis": ["coord_tso_need_met_share", "coord_dso_violations_by_tso", "coord_dso_violations_forecast",
                 "coord_blocked_by_traffic_light", "coord_double_activations", "coord_cost_tso_eur",
                 "coord_cost_dso_eur",
                 "grid_trafo_loading_max_percent", "grid_line_loading_max_percent", "grid_vm_max_pu"],
    },
    "dso_models": {
        "runs": {
            "total (dlmp)": ("scenarios/market_lv_congested.yaml",
                             [*DESIGN_WINDOW, "market.dso_model=total", "market.mechanism=dlmp",
                              "market.dso_check=none"]),
            "minimal (pay_as_bid, caps)": ("scenarios/market_lv_congested.yaml",
                                           [*DESIGN_WINDOW, "market.dso_model=minimal", "market.mechanism=pay_as_bid",
                                            "market.dso_check=caps"]),
            "independent (pay_as_bid, ac_check)": ("scenarios/market_lv_congested.yaml",
                                                   [*DESIGN_WINDOW, "market.dso_model=independent",
                                                    "market.mechanism=pay_as_bid", "market.dso_check=ac_check"]),
        },
        "kpis": ["grid_energy_imported_mwh", "grid_energy_exported_mwh", "grid_trafo_loading_max_percent",
                 "grid_dso_limit_steps", "market_curtailed_mwh", "market_traded_mwh", "market_bill_mean_eur",
                 "market_operator_surplus_eur", "market_surplus_to_dso_eur", "market_surplus_returned_eur"],
    },
    "demand_response": {
        "runs": {
            name: ("scenarios/lv_rural_der.yaml", [*DR_BASE, *extra]) for name, extra in {
                "flat": ["tariff={kind: flat}"],
                "time of use": ["tariff={kind: tou}"],
                "critical peak (event that day)": ["tariff={kind: cpp, cpp_event_days: ['2016-01-12']}"],
                "increasing block prices": ["tariff={kind: ibp}"],
                # the homes' import of 1-11 January is not simulated: 240 kWh (the first monthly tier
                # used up) is an assumption; these homes import about 61 kWh a day in the flat run
                "increasing block prices, first tier used up (240 kWh before the day)": [
                    "tariff={kind: ibp, ibp_start_kwh: 240}"],
                # programme payments are assumptions (no German programme of either kind to cite):
                # 1 EUR per direct-load-control event, 287 EUR/MWh shed (the flat retail price)
                "flat + direct load control 17-19 h (blocked)": [
                    "tariff={kind: flat}",
                    "households.dlc={share: 1.0, devices: [heat_pump, ev], limit_frac: 0.0, "
                    "trigger: {hours: [17, 18]}, payment_eur_per_event: 1.0}"],
                "flat + emergency DR 17-19 h": [
                    "tariff={kind: flat}",
                    "households.emergency_dr={events: [{start: '2016-01-12T17:00:00', duration_s: 7200, "
                    "reduction_frac: 0.5}], compliance_rate: 0.8, payment_eur_per_mwh: 287.0}"],
            }.items()
        },
        "kpis": ["grid_pcc_peak_import_mw", "grid_energy_imported_mwh", "grid_trafo_loading_max_percent",
                 "dr_events", "dr_energy_shifted_mwh", "dr_edr_metered_reduction_mwh", "dr_rebound_peak_mw",
                 "dr_edr_compliance_share", "dr_payments_eur", "household_bill_mean_eur",
                 "household_net_bill_mean_eur"],
        # each programme run against the same scenario without the programme (:func:`dr_against_baseline`)
        "baseline": {"flat + direct load control 17-19 h (blocked)": "flat",
                     "flat + emergency DR 17-19 h": "flat"},
    },
    "ledger": {
        "runs": {
            "no ledger": ("scenarios/market_lv_rural.yaml", ["market.mechanism=p2p_cda"]),
            "authority": ("scenarios/market_lv_rural.yaml",
                          ["market.mechanism=p2p_cda", "market.ledger={preset: authority}"]),
            "proof_of_stake": ("scenarios/market_lv_rural.yaml",
                               ["market.mechanism=p2p_cda", "market.ledger={preset: proof_of_stake}"]),
            "proof_of_stake, final by delivery end": (
                "scenarios/market_lv_rural.yaml",
                ["market.mechanism=p2p_cda", "market.ledger={preset: proof_of_stake, deadline: delivery_end}"]),
            "proof_of_work": ("scenarios/market_lv_rural.yaml",
                              ["market.mechanism=p2p_cda", "market.ledger={preset: proof_of_work}"]),
        },
        "kpis": ["ledger_latency_p50_s", "ledger_latency_p95_s", "ledger_share_not_final",
                 "ledger_energy_not_settled_mwh", "ledger_fees_eur", "ledger_energy_use_kwh",
                 "market_traded_mwh", "market_bill_mean_eur", "grid_energy_imported_mwh",
                 "grid_pcc_peak_export_mw"],
    },
}


#: Columns of :func:`dr_against_baseline` (a study's ``baseline`` pairs) with their unit.
PAIRED_COLUMNS = {"dr_shifted_vs_base_mwh": "MWh", "dr_rebound_vs_base_mwh": "MWh"}


def dr_against_baseline(run: Result, base: Result) -> dict[str, float]:
    """Energy a demand-response programme shifted, against the same scenario without it [MWh].

    ``run`` has the programme, ``base`` is the same scenario and seed without it
    (same steps). With ``D`` the aggregate household net demand (``p_mw`` summed
    over homes; PV and base load are the same in both runs, so a difference in
    ``D`` is a difference in the devices' consumption):

    * ``dr_shifted_vs_base_mwh``: ``sum((D_base - D_run) * dt)`` over the event
      steps (some home in a DLC event or an emergency request, as the KPI
      ``dr_events``): what the programme really removed from those hours.
    * ``dr_rebound_vs_base_mwh``: ``sum((D_run - D_base) * dt)`` over the steps
      after each event up to the next event or the end of the run: the energy
      taken later (a cooled building reheated, an EV charged later).
      Less than the shifted energy when part of the deficit is still open at the
      end of the run (a building left cooler) or was never made up.

    The single-run KPI ``dr_energy_shifted_mwh`` compares with the HEMS decision
    of the same step and run, so it counts a blocked heat pump's growing demand
    in every event step: an upper bound of ``dr_shifted_vs_base_mwh``.
    NaN when ``run`` has no event.
    """
    if (run.n_steps, run.dt_h) != (base.n_steps, base.dt_h):
        raise ValueError(f"baseline {base.path.name} has {base.n_steps} steps of {base.dt_h:g} h, "
                         f"the run {run.n_steps} of {run.dt_h:g} h: not the same scenario")
    on = _dr_indicator(run)
    if not on.any():
        return dict.fromkeys(PAIRED_COLUMNS, math.nan)
    d = (np.nansum(run.array("household", "p_mw"), axis=1)
         - np.nansum(base.array("household", "p_mw"), axis=1)) * run.dt_h
    after = ~on & (np.cumsum(on) > 0)  # not in an event, and some event before
    return {"dr_shifted_vs_base_mwh": float(-d[on].sum()), "dr_rebound_vs_base_mwh": float(d[after].sum())}


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if abs(v) >= 100 or v == int(v):
        return f"{v:.0f}" if abs(v) >= 100 else f"{v:g}"
    return f"{v:.3g}"


def table(paths: dict[str, Path], names: list[str], extra: dict | None = None,
          baseline: dict[str, str] | None = None) -> str:
    """Markdown table: one row per run, one column per KPI (with unit).

    ``baseline`` maps a run label to the label of the same scenario without its
    demand-response programme; it adds the :data:`PAIRED_COLUMNS` of
    :func:`dr_against_baseline` (``n/a`` for runs without a baseline).
    """
    rows, units = [], {}
    if baseline:
        units.update(PAIRED_COLUMNS)
    for label, path in paths.items():
        res = load(path)
        values = kpis(res)
        row = [label]
        for n in names:
            k = values[n]
            units[n] = k.unit
            row.append(_fmt(k.value) if k.applicable else "n/a")
        for col, (sim, attr) in (extra or {}).items():
            units[col] = res.unit(sim, attr) if res.has(sim, attr) else ""
            row.append(_fmt(float(res.array(sim, attr)[~_nan(res.array(sim, attr))].sum()))
                       if res.has(sim, attr) else "n/a")
        if baseline:
            base = baseline.get(label)
            paired = dr_against_baseline(res, load(paths[base])) if base else dict.fromkeys(PAIRED_COLUMNS)
            row.extend(_fmt(paired[c]) for c in PAIRED_COLUMNS)
        rows.append(row)
    cols = [*names, *(extra or {}), *(PAIRED_COLUMNS if baseline else ())]
    head = "| run | " + " | ".join(f"{c} [{units.get(c, '')}]" for c in cols) + " |"
    sep = "|---|" + "---|" * len(cols)
    return "\n".join([head, sep, *("| " + " | ".join(r) + " |" for r in rows)])


def _nan(a):
    return np.isnan(a)


def run_study(name: str, out: Path, repo: Path) -> str:
    """Run every variant of study ``name`` and return its table."""
    from cosim.config import load_scenario
    from cosim.world import run_scenario

    study = STUDIES[name]
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for label, (scenario, overrides) in study["runs"].items():
        sc, text = load_scenario(repo / scenario, overrides)
        path = out / (label.replace(" / ", "_").replace(" ", "_") + ".h5")
        run_scenario(sc, text, path)
        paths[label] = path
    return table(paths, study["kpis"], study.get("extra"), study.get("baseline"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m analysis.compare", description=__doc__.splitlines()[0])
    p.add_argument("study", choices=sorted(STUDIES))
    p.add_argument("--out", default="out/compare", help="folder for the result files")
    p.add_argument("--repo", default=".", help="repository root (scenario paths are relative to it)")
    args = p.parse_args(argv)
    print(run_study(args.study, Path(args.out) / args.study, Path(args.repo)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
