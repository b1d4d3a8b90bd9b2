"""Key performance indicators of a co-simulation run.

Every KPI is a small pure function ``f(result) -> float`` registered with
:func:`_kpi`, which records its unit, group, the series it needs and its
default regression tolerance for ``cosim check``. :func:`kpis` evaluates all
of them; a KPI whose simulator (or series) is not in the file is returned with
``applicable=False`` and ``value=nan``, never as zero.

Conventions
-----------
* Energies integrate each recorded step as constant over ``step_s``:
  ``E = sum_t P_t * step_s / 3600`` [MWh].
* "Hours" count steps that satisfy a condition times ``step_s / 3600`` [h].
* NaN values (e.g. a non-converged power flow) are ignored by min/max/sums.
* The KPI list follows the study KPIs of the local-market reviews (grid,
  market, ICT, coordination, computation); EN 50160 sets the voltage band at
  +/-10 % of nominal voltage (EN 50160:2010, clauses 4.2.2 (LV) and 5.2.2 (MV),
  supply voltage variations). The standard judges 95 % of the 10-min means of
  a week; the KPIs here count every recorded step outside the band, which is
  stricter and needs no week-long run.
"""

from __future__ import annotations

import inspect
import logging
import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from analysis.io import Result
from simulators.common.messages import Kind, Status

logger = logging.getLogger(__name__)

#: EN 50160 voltage band: |U - U_n| <= 10 % U_n [pu].
VOLTAGE_BAND_PU = 0.10

HIGHER = "not_worse_higher_is_better"
LOWER = "not_worse_lower_is_better"
EQUAL = "equal"
DIRECTIONS = (HIGHER, LOWER, EQUAL)


@dataclass(frozen=True)
class KpiValue:
    """One evaluated KPI.

    Attributes
    ----------
    value : float
        The value in ``unit`` (nan when not applicable or undefined).
    unit : str
        Unit of the value.
    applicable : bool
        False when a simulator or series the KPI needs was not in the run.
    description : str
        One-line definition.
    """

    value: float
    unit: str
    applicable: bool
    description: str


@dataclass(frozen=True)
class KpiSpec:
    """Registry entry of a KPI: metadata, requirements and default tolerance."""

    name: str
    unit: str
    group: str
    requires: tuple[str, ...]
    func: Callable[..., float]
    direction: str
    abs_tol: float
    rel_tol: float
    needs_tariff: bool = False

    @property
    def description(self) -> str:
        """First paragraph of the function's docstring, as one line (never cut mid-sentence)."""
        doc = inspect.getdoc(self.func) or self.name
        return " ".join(doc.split("\n\n")[0].split())


#: All KPIs, in report order.
REGISTRY: dict[str, KpiSpec] = {}


def _kpi(
    unit: str, group: str, requires: tuple[str, ...], direction: str, abs_tol: float = 0.0, rel_tol: float = 0.0
) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Register a KPI function; ``requires`` holds "sim/attr", "events/<name>" or "attrs/<name>"."""

    def register(func: Callable[..., float]) -> Callable[..., float]:
        name = func.__name__
        needs_tariff = "tariff" in inspect.signature(func).parameters
        REGISTRY[name] = KpiSpec(name, unit, group, requires, func, direction, abs_tol, rel_tol, needs_tariff)
        return func

    return register


def available(result: Result, requirement: str) -> bool:
    """Whether a requirement ("sim/attr", "events/name", "attrs/name"; "a|b" = either) is met."""
    if "|" in requirement:
        return any(available(result, alt) for alt in requirement.split("|"))
    head, _, tail = requirement.partition("/")
    if head == "events":
        return result.has_events(tail)
    if head == "attrs":
        return result.attrs.get(tail) not in (None, "")
    return result.has(head, tail)


def _energy_mwh(result: Result, p_mw: np.ndarray) -> float:
    return float(np.nansum(p_mw) * result.dt_h)


def _pcc_mw(result: Result) -> np.ndarray:
    """Exchange with the upstream grid, summed over ext_grids (+ = import) [MW]."""
    p = result.array("grid", "ext_grid_p_mw")
    return p.sum(axis=1) if p.ndim == 2 else p


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


def _total(result: Result, sim: str, attr: str) -> np.ndarray:
    """A series summed over its entities (1-D [time]); scalars unchanged."""
    values = result.array(sim, attr)
    return np.nansum(values, axis=1) if values.ndim == 2 else values


def _count(result: Result, per_step: str, running: str) -> float:
    """Run total of an ICT counter: last value of the running total ``running``
    (``<name>_total``, the ICT adapter's persistent counters), else the sum of the
    per-step counts ``per_step``."""
    if result.has("ict", running):
        values = result.array("ict", running)
        finite = values[np.isfinite(values)]
        return float(finite[-1]) if finite.size else 0.0
    return float(np.nansum(result.array("ict", per_step)))


# ---------------------------------------------------------------- grid ----
@_kpi("bus-steps", "grid", ("grid/vm_pu",), LOWER)
def grid_voltage_violation_bus_steps(result: Result) -> float:
    """Bus-steps with |vm_pu - 1| > 0.10 (EN 50160 band) [bus-steps]."""
    vm = result.array("grid", "vm_pu")
    return float(np.sum(np.abs(vm - 1.0) > VOLTAGE_BAND_PU))


@_kpi("bus-h", "grid", ("grid/vm_pu",), LOWER)
def grid_voltage_violation_bus_hours(result: Result) -> float:
    """Bus-hours outside the EN 50160 band: violating bus-steps x step_s/3600 [bus-h]."""
    return grid_voltage_violation_bus_steps(result) * result.dt_h


@_kpi("pu", "grid", ("grid/vm_pu",), HIGHER, abs_tol=1e-3)
def grid_vm_min_pu(result: Result) -> float:
    """Lowest bus voltage over all buses and steps [pu]."""
    return result.extreme("grid", "vm_pu", "min")


@_kpi("pu", "grid", ("grid/vm_pu",), LOWER, abs_tol=1e-3)
def grid_vm_max_pu(result: Result) -> float:
    """Highest bus voltage over all buses and steps [pu]."""
    return result.extreme("grid", "vm_pu", "max")


@_kpi("percent", "grid", ("grid/line_loading_percent",), LOWER, abs_tol=0.5, rel_tol=0.01)
def grid_line_loading_max_percent(result: Result) -> float:
    """Highest line loading over all lines and steps [percent]."""
    return result.extreme("grid", "line_loading_percent", "max")


@_kpi("percent", "grid", ("grid/trafo_loading_percent",), LOWER, abs_tol=0.5, rel_tol=0.01)
def grid_trafo_loading_max_percent(result: Result) -> float:
    """Highest transformer loading over all transformers and steps [percent]."""
    return result.extreme("grid", "trafo_loading_percent", "max")


@_kpi("h", "grid", ("grid/line_loading_percent",), LOWER)
def grid_line_overload_hours(result: Result) -> float:
    """Hours in which at least one line is loaded above 100 % [h]."""
    loading = result.array("grid", "line_loading_percent")
    return float(np.sum(np.any(loading > 100.0, axis=1)) * result.dt_h)


@_kpi("h", "grid", ("grid/trafo_loading_percent",), LOWER)
def grid_trafo_overload_hours(result: Result) -> float:
    """Hours in which at least one transformer is loaded above 100 % [h]."""
    loading = result.array("grid", "trafo_loading_percent")
    return float(np.sum(np.any(loading > 100.0, axis=1)) * result.dt_h)


#: The market DSO's loading limit when the scenario sets none
#: (``simulators/market/schema.py``: ``max_loading_percent`` = 100).
_MARKET_DSO_LIMIT_PERCENT = 100.0


def _market_dso_limit_percent(result: Result) -> float:
    import yaml

    sc = yaml.safe_load(result.attrs.get("scenario_yaml") or "{}") or {}
    return float((sc.get("market") or {}).get("max_loading_percent", _MARKET_DSO_LIMIT_PERCENT))


@_kpi("steps", "grid", ("grid/trafo_loading_percent|grid/line_loading_percent",), LOWER)
def grid_dso_limit_steps(result: Result) -> float:
    """Steps in which the recorded loading of any line or transformer is above the
    market DSO's limit (``market.max_loading_percent``; 100 % if unset) [steps].

    Judged on ``/series/grid``, not on the DSO's forecast: it shows whether a
    DSO check held the limit physically.
    """
    limit = _market_dso_limit_percent(result)
    bad = np.zeros(result.n_steps, dtype=bool)
    for attr in ("line_loading_percent", "trafo_loading_percent"):
        if result.has("grid", attr):
            a = result.array("grid", attr)
            bad |= np.nanmax(np.where(np.isfinite(a), a, -np.inf), axis=1, initial=-np.inf) > limit + 1e-9
    return float(bad.sum())


@_kpi("MWh", "grid", ("grid/pl_mw",), LOWER, abs_tol=1e-6, rel_tol=0.02)
def grid_losses_mwh(result: Result) -> float:
    """Active power losses of the grid integrated over the run: sum pl_mw x step [MWh]."""
    return _energy_mwh(result, result.array("grid", "pl_mw"))


@_kpi("h", "grid", ("grid/trafo_p_hv_mw",), LOWER, abs_tol=0.0, rel_tol=0.05)
def grid_reverse_flow_hours(result: Result) -> float:
    """Hours in which any substation transformer feeds back to its HV side (p_hv < 0) [h]."""
    p = result.array("grid", "trafo_p_hv_mw")
    return float(np.sum(np.any(p < 0.0, axis=1)) * result.dt_h)


@_kpi("MWh", "grid", ("grid/trafo_p_hv_mw",), LOWER, abs_tol=1e-6, rel_tol=0.02)
def grid_reverse_flow_energy_mwh(result: Result) -> float:
    """Energy fed back through the substation transformers: sum max(-p_hv, 0) x step [MWh]."""
    return _energy_mwh(result, np.clip(-result.array("grid", "trafo_p_hv_mw"), 0.0, None))


@_kpi("MW", "grid", ("grid/ext_grid_p_mw",), LOWER, abs_tol=1e-4, rel_tol=0.02)
def grid_pcc_peak_import_mw(result: Result) -> float:
    """Peak import from the upstream grid at the PCC: max(max_t P_pcc, 0) [MW]."""
    return max(float(np.nanmax(_pcc_mw(result))), 0.0)


@_kpi("MW", "grid", ("grid/ext_grid_p_mw",), LOWER, abs_tol=1e-4, rel_tol=0.02)
def grid_pcc_peak_export_mw(result: Result) -> float:
    """Peak export to the upstream grid at the PCC: max(max_t -P_pcc, 0) [MW]."""
    return max(float(np.nanmax(-_pcc_mw(result))), 0.0)


@_kpi("MWh", "grid", ("grid/ext_grid_p_mw",), EQUAL, abs_tol=1e-6, rel_tol=0.02)
def grid_energy_imported_mwh(result: Result) -> float:
    """Energy imported at the PCC: sum max(P_pcc, 0) x step [MWh]."""
    return _energy_mwh(result, np.clip(_pcc_mw(result), 0.0, None))


@_kpi("MWh", "grid", ("grid/ext_grid_p_mw",), EQUAL, abs_tol=1e-6, rel_tol=0.02)
def grid_energy_exported_mwh(result: Result) -> float:
    """Energy exported at the PCC: sum max(-P_pcc, 0) x step [MWh]."""
    return _energy_mwh(result, np.clip(-_pcc_mw(result), 0.0, None))


@_kpi("MW", "grid", ("grid/ext_grid_p_mw", "grid/bus_p_mw", "grid/pl_mw"), LOWER, abs_tol=1e-9)
def grid_energy_balance_residual_mw(result: Result) -> float:
    """Largest |PCC import - sum of bus powers - losses| over the run (the power flow's tolerance) [MW]."""
    res = _total(result, "grid", "ext_grid_p_mw") - _total(result, "grid", "bus_p_mw") - result.array("grid", "pl_mw")
    return float(np.nanmax(np.abs(res))) if len(res) else math.nan


@_kpi("steps", "grid", ("grid/pf_converged",), LOWER)
def grid_pf_not_converged_steps(result: Result) -> float:
    """Steps whose power flow did not converge [steps]."""
    return float(np.sum(result.array("grid", "pf_converged") == 0))


# -------------------------------------------------------------- market ----
@_kpi("EUR", "market", ("market/welfare_eur",), HIGHER, abs_tol=0.01, rel_tol=0.02)
def market_welfare_eur(result: Result) -> float:
    """Social welfare of the local market summed over intervals [EUR]."""
    return float(np.nansum(result.array("market", "welfare_eur")))


def _final(values: np.ndarray) -> np.ndarray:
    """Last finite value per column of a running total [time, entity] (0 if none)."""
    finite = np.isfinite(values)
    last = np.where(finite.any(axis=0), values.shape[0] - 1 - np.argmax(finite[::-1], axis=0), -1)
    cols = np.arange(values.shape[1])
    return np.where(last >= 0, values[np.maximum(last, 0), cols], 0.0)


@_kpi("EUR", "market", ("market/bill_eur",), LOWER, abs_tol=0.01, rel_tol=0.02)
def market_total_cost_eur(result: Result) -> float:
    """Total cost of all agents over the run: sum over agents of the final
    running-total bill (negative = net revenue) [EUR]."""
    return float(np.sum(_final(result.array("market", "bill_eur"))))


@_kpi("EUR", "market", ("market/bill_eur",), LOWER, abs_tol=0.01, rel_tol=0.02)
def market_bill_mean_eur(result: Result) -> float:
    """Mean over agents of each agent's bill over the run (its final running total) [EUR]."""
    return float(np.mean(_final(result.array("market", "bill_eur"))))


def _bill_totals(result: Result, attr: str = "bill_eur") -> dict[str, float]:
    """Per agent label: the final value of the running-total bill [EUR]."""
    totals = _final(result.array("market", attr))
    return dict(zip(result.entities("market", attr), totals.tolist()))


#: Bills closer than this are equal [EUR] (round-off of a day of float sums; see the settlement tests).
BILL_TOL_EUR = 1e-6


def _settled_totals(result: Result) -> dict[str, float]:
    """Per agent label: the final *settled* bill, ``bill_eur - bill_open_eur`` [EUR].

    ``bill_open_eur`` is the money of intervals whose meter reading had not been
    settled when the run ended (the last one or two); files without it give ``bill_eur``.
    """
    now = _bill_totals(result)
    if result.has("market", "bill_open_eur"):
        open_ = _bill_totals(result, "bill_open_eur")
        now = {a: v - open_.get(a, 0.0) for a, v in now.items()}
    return now


def _bill_savings(result: Result, tariff: Result | None) -> np.ndarray:
    """Per agent: tariff bill - market bill [EUR].

    The tariff bill is the run's own ``bill_tariff_eur`` (the market simulator
    settles every agent under the retail tariff alongside, for the metered
    intervals) if recorded, else the bill of a separate tariff-baseline run,
    matched by agent label. Both sides are settled bills (:func:`_settled_totals`),
    so intervals still awaiting their meter reading at the end count on neither.
    """
    now = _settled_totals(result)
    base = _bill_totals(result, "bill_tariff_eur") if result.has("market", "bill_tariff_eur") else _settled_totals(tariff)
    common = [a for a in now if a in base]
    return np.array([base[a] - now[a] for a in common], dtype=np.float64)


@_kpi("EUR", "market", ("market/bill_eur",), HIGHER, abs_tol=0.01, rel_tol=0.02)
def market_bill_saving_mean_eur(result: Result, tariff: Result | None) -> float:
    """Mean saving per agent vs the retail tariff: mean(bill_tariff - bill_market) [EUR]."""
    savings = _bill_savings(result, tariff)
    return float(np.mean(savings)) if savings.size else math.nan


@_kpi("1", "market", ("market/bill_eur",), HIGHER, abs_tol=0.01)
def market_share_agents_better_off(result: Result, tariff: Result | None) -> float:
    """Share of agents whose bill is lower than under the retail tariff by more than
    1e-6 EUR (the bill agreement of the settlement tests: both bills sum the same
    products in different orders, so an equal bill may differ by round-off) [1]."""
    savings = _bill_savings(result, tariff)
    return float(np.mean(savings > BILL_TOL_EUR)) if savings.size else math.nan


@_kpi("EUR/MWh", "market", ("market/price_eur_per_mwh",), EQUAL, abs_tol=0.01, rel_tol=0.05)
def market_price_mean_eur_per_mwh(result: Result) -> float:
    """Mean local price over intervals with a price (NaN = not cleared, skipped) [EUR/MWh]."""
    price = result.array("market", "price_eur_per_mwh")
    return float(np.nanmean(price)) if np.any(np.isfinite(price)) else math.nan


@_kpi("EUR/MWh", "market", ("market/price_eur_per_mwh",), LOWER, abs_tol=0.01, rel_tol=0.10)
def market_price_std_eur_per_mwh(result: Result) -> float:
    """Volatility: population standard deviation of the local price over cleared intervals [EUR/MWh]."""
    price = result.array("market", "price_eur_per_mwh")
    return float(np.nanstd(price)) if np.any(np.isfinite(price)) else math.nan


@_kpi("MWh", "market", ("market/traded_mwh",), HIGHER, abs_tol=1e-6, rel_tol=0.02)
def market_traded_mwh(result: Result) -> float:
    """Energy traded in the local market [MWh]."""
    return float(np.nansum(result.array("market", "traded_mwh")))


@_kpi("1", "market", ("market/traded_mwh", "market/retail_import_mwh"), HIGHER, abs_tol=0.01)
def market_share_demand_met_locally(result: Result) -> float:
    """Local purchases / all purchases: traded / (traded + retail import); success if >= 0.5 [1]."""
    traded = float(np.nansum(result.array("market", "traded_mwh")))
    retail = float(np.nansum(result.array("market", "retail_import_mwh")))
    return _ratio(traded, traded + retail)


@_kpi("EUR", "market", ("market/operator_eur",), LOWER, abs_tol=0.01, rel_tol=0.02)
def market_operator_surplus_eur(result: Result) -> float:
    """Money kept by the market operator: local payments minus receipts (pay-as-bid spread) [EUR]."""
    v = result.array("market", "operator_eur")
    return float(v[np.isfinite(v)][-1]) if np.isfinite(v).any() else math.nan


@_kpi("1", "market", ("market/operator_eur", "market/bill_eur"), LOWER, abs_tol=0.005)
def market_operator_surplus_share_of_bills(result: Result) -> float:
    """Operator surplus as a share of the households' total bill (nan if that is not positive) [1]."""
    total = float(np.sum(_final(result.array("market", "bill_eur"))))
    return _ratio(market_operator_surplus_eur(result), total) if total > 0 else math.nan


@_kpi("EUR", "market", ("market/bill_eur", "market/retailer_eur", "market/operator_eur"), LOWER, abs_tol=1e-6)
def market_money_residual_eur(result: Result) -> float:
    """Largest |sum of bills - retailer receipts - operator surplus| over the recorded steps [EUR].

    Zero up to round-off: every EUR paid goes to the retailer, the operator, the
    DSO (its share of the operator surplus under ``market.dso_model``) or, with
    ``market.ledger``, the ledger's validators as fees (``/series/ledger/fee_eur``;
    DSO payments of the lfm are settled with aggregators outside the bills).
    """
    bills = result.array("market", "bill_eur").sum(axis=1)
    res = bills - result.array("market", "retailer_eur") - result.array("market", "operator_eur")
    for sim, extra in (("ledger", "fee_eur"), ("market", "dso_eur")):
        if result.has(sim, extra):
            res = res - result.array(sim, extra)
    return float(np.nanmax(np.abs(res))) if len(res) else math.nan


@_kpi("EUR", "market", ("market/dso_eur",), EQUAL, abs_tol=0.01, rel_tol=0.02)
def market_surplus_to_dso_eur(result: Result) -> float:
    """Operator surplus (congestion rents) received by the DSO under ``market.dso_model`` [EUR]."""
    v = result.array("market", "dso_eur")
    return float(v[np.isfinite(v)][-1]) if np.isfinite(v).any() else math.nan


@_kpi("EUR", "market", ("market/returned_eur",), EQUAL, abs_tol=0.01, rel_tol=0.02)
def market_surplus_returned_eur(result: Result) -> float:
    """Operator surplus returned to the traders under ``market.dso_model: independent`` [EUR]."""
    v = result.array("market", "returned_eur")
    return float(v[np.isfinite(v)][-1]) if np.isfinite(v).any() else math.nan


def _ledger(result: Result):
    return result.events("ledger")


@_kpi("s", "market", ("events/ledger",), LOWER, rel_tol=0.05)
def ledger_latency_p50_s(result: Result) -> float:
    """Median submit-to-final time of trade transactions on the ledger [s]."""
    ev = _ledger(result)
    return float(np.median(ev["confirmation_s"] - ev["submit_s"])) if len(ev) else math.nan


@_kpi("s", "market", ("events/ledger",), LOWER, rel_tol=0.05)
def ledger_latency_p95_s(result: Result) -> float:
    """95th percentile of the submit-to-final time of trade transactions [s]."""
    ev = _ledger(result)
    return float(np.percentile(ev["confirmation_s"] - ev["submit_s"], 95)) if len(ev) else math.nan


@_kpi("1", "market", ("events/ledger",), LOWER, abs_tol=0.01)
def ledger_share_not_final(result: Result) -> float:
    """Share of trades not final by their deadline, dropped to the retail backstop [1]."""
    ev = _ledger(result)
    return float(1.0 - ev["final_in_time"].mean()) if len(ev) else math.nan


@_kpi("MWh", "market", ("events/ledger",), LOWER, abs_tol=1e-6, rel_tol=0.05)
def ledger_energy_not_settled_mwh(result: Result) -> float:
    """Agreed local energy of trades that were not final in time [MWh]."""
    ev = _ledger(result)
    return float(ev["quantity_mwh"][ev["final_in_time"] == 0].sum()) if len(ev) else 0.0


@_kpi("EUR", "market", ("ledger/fee_eur",), LOWER, abs_tol=0.01, rel_tol=0.02)
def ledger_fees_eur(result: Result) -> float:
    """Transaction fees paid to the ledger over the run [EUR]."""
    v = result.array("ledger", "fee_eur")
    return float(v[np.isfinite(v)][-1]) if np.isfinite(v).any() else math.nan


@_kpi("kWh", "market", ("ledger/energy_kwh",), LOWER, rel_tol=0.02)
def ledger_energy_use_kwh(result: Result) -> float:
    """Electricity used by the ledger for the run's transactions [kWh]."""
    v = result.array("ledger", "energy_kwh")
    return float(v[np.isfinite(v)][-1]) if np.isfinite(v).any() else math.nan


@_kpi("MWh", "market", ("market/not_executed_mwh",), EQUAL, abs_tol=1e-6, rel_tol=0.05)
def market_not_executed_mwh(result: Result) -> float:
    """Order volume executed neither locally nor with the retailer (retail backstop rule) [MWh]."""
    return float(np.nansum(result.array("market", "not_executed_mwh")))


@_kpi("MW", "market", ("market/dso_forecast_p_mw", "grid/bus_p_mw"), LOWER, abs_tol=1e-4, rel_tol=0.05)
def dso_forecast_error_mean_mw(result: Result) -> float:
    """Mean |DSO's checked per-bus state - recorded bus power| over buses and steps [MW].

    Row ``k`` of ``dso_forecast_p_mw`` is the state checked at the gate of
    interval ``k`` (the last gate before the step is recorded); ``grid/bus_p_mw``
    row ``k`` is what the power flow solved for it. Row 0 is left out: orders
    for interval ``k`` are sent at the start of interval ``k-1``, none reach interval 0.
    """
    err = _forecast_error(result)
    return float(np.nanmean(err)) if np.isfinite(err).any() else math.nan


def _forecast_error(result: Result) -> np.ndarray:
    return np.abs(result.array("market", "dso_forecast_p_mw") - result.array("grid", "bus_p_mw"))[1:]


@_kpi("MW", "market", ("market/dso_forecast_p_mw", "grid/bus_p_mw"), LOWER, abs_tol=1e-4, rel_tol=0.05)
def dso_forecast_error_max_mw(result: Result) -> float:
    """Largest |DSO's checked per-bus state - recorded bus power| over buses and steps from 1 [MW]."""
    err = _forecast_error(result)
    return float(np.nanmax(err)) if np.isfinite(err).any() else math.nan


@_kpi("trades", "market", ("market/trades_curtailed",), LOWER)
def market_trades_curtailed(result: Result) -> float:
    """Trades curtailed or rejected by the DSO validation [trades]."""
    return float(np.nansum(result.array("market", "trades_curtailed")))


@_kpi("MWh", "market", ("market/curtailed_mwh",), LOWER, abs_tol=1e-6, rel_tol=0.05)
def market_curtailed_mwh(result: Result) -> float:
    """Traded energy curtailed by the DSO validation [MWh]."""
    return float(np.nansum(result.array("market", "curtailed_mwh")))


@_kpi("orders", "market", ("market/orders_rejected_auth",), EQUAL)
def market_orders_rejected_auth(result: Result) -> float:
    """Orders rejected because their authentication tag was invalid [orders]."""
    return float(np.nansum(result.array("market", "orders_rejected_auth")))


@_kpi("orders", "market", ("market/orders_late",), LOWER)
def market_orders_late(result: Result) -> float:
    """Orders the market received after gate closure [orders]."""
    return float(np.nansum(result.array("market", "orders_late")))


def _household_energy(result: Result) -> tuple[np.ndarray, np.ndarray]:
    """Net energy (+ = import) and PV energy per step and household [MWh]."""
    return result.array("household", "p_mw") * result.dt_h, result.array("household", "pv_p_mw") * result.dt_h


def _self_consumption(e: np.ndarray, g: np.ndarray) -> float:
    exported = np.clip(-e, 0.0, None)
    return _ratio(float(np.nansum(g - exported)), float(np.nansum(g)))


def _self_sufficiency(e: np.ndarray, g: np.ndarray) -> float:
    imported, exported = np.clip(e, 0.0, None), np.clip(-e, 0.0, None)
    return _ratio(float(np.nansum(g - exported)), float(np.nansum(imported + g - exported)))


@_kpi("EUR", "market", ("household/bill_eur",), LOWER, abs_tol=0.01, rel_tol=0.02)
def household_bill_mean_eur(result: Result) -> float:
    """Mean over homes of the households' own running bill at the end of the run
    (``household/bill_eur``: retail residual plus local trades) [EUR]."""
    return float(np.mean(_final(result.array("household", "bill_eur"))))


@_kpi("1", "market", ("household/p_mw", "household/pv_p_mw"), HIGHER, abs_tol=0.01)
def household_self_consumption(result: Result) -> float:
    """Share of PV energy used behind each meter: sum(G - E) / sum(G), E = export per household-step [1]."""
    return _self_consumption(*_household_energy(result))


@_kpi("1", "market", ("household/p_mw", "household/pv_p_mw"), HIGHER, abs_tol=0.01)
def household_self_sufficiency(result: Result) -> float:
    """Share of consumption covered by own PV: sum(G - E) / sum(I + G - E) per household-step [1]."""
    return _self_sufficiency(*_household_energy(result))


@_kpi("1", "market", ("household/p_mw", "household/pv_p_mw"), HIGHER, abs_tol=0.01)
def community_self_consumption(result: Result) -> float:
    """As household_self_consumption with all households netted per step (one community meter) [1]."""
    e, g = _household_energy(result)
    exported = np.clip(-np.nansum(e, axis=1), 0.0, None)
    return _ratio(float(np.nansum(g) - exported.sum()), float(np.nansum(g)))


@_kpi("1", "market", ("household/p_mw", "household/pv_p_mw"), HIGHER, abs_tol=0.01)
def community_self_sufficiency(result: Result) -> float:
    """As household_self_sufficiency with all households netted per step (one community meter) [1]."""
    e, g = _household_energy(result)
    net = np.nansum(e, axis=1)
    imported, exported = np.clip(net, 0.0, None), np.clip(-net, 0.0, None)
    gen = float(np.nansum(g))
    return _ratio(gen - exported.sum(), imported.sum() + gen - exported.sum())


@_kpi("MWh", "market", ("household/pv_curtailed_mw",), LOWER, abs_tol=1e-6, rel_tol=0.02)
def household_pv_curtailed_mwh(result: Result) -> float:
    """PV energy curtailed at the households [MWh]."""
    return _energy_mwh(result, result.array("household", "pv_curtailed_mw"))


# ------------------------------------------------------ demand response ----
_DR_ANY = "household/dlc_active|household/edr_requested"


def _dr_indicator(result: Result) -> np.ndarray:
    """Per step: some home is in a direct load control event or an emergency request."""
    on = np.zeros(result.n_steps, dtype=bool)
    for attr in ("dlc_active", "edr_requested"):
        if result.has("household", attr):
            on |= np.nan_to_num(result.array("household", attr)).sum(axis=1) > 0
    return on


def _dr_ends(on: np.ndarray) -> np.ndarray:
    """Last step of each programme event (a run of active steps)."""
    return np.flatnonzero(on & ~np.append(on[1:], False))


@_kpi("events", "demand_response", (_DR_ANY,), EQUAL)
def dr_events(result: Result) -> float:
    """Programme events: runs of steps in which some home is in a direct load control event or an
    emergency request (``dlc_active`` / ``edr_requested``) [events]."""
    return float(len(_dr_ends(_dr_indicator(result))))


@_kpi("MWh", "demand_response", ("household/dr_reduction_mw",), EQUAL, abs_tol=1e-6, rel_tol=0.02)
def dr_energy_shifted_mwh(result: Result) -> float:
    """Energy the programmes took away during events: ``dr_reduction_mw`` (flexible consumption below
    the HEMS decision of the step) summed over homes and steps [MWh].

    The reference is the decision of the same step in the same run: a heat pump
    blocked for several steps wants more in each (its building cooled), so this
    exceeds the reduction against a run without the programme (an upper bound;
    the run-to-run figure is :func:`analysis.compare.dr_against_baseline`).
    """
    return _energy_mwh(result, result.array("household", "dr_reduction_mw"))


@_kpi("MW", "demand_response", (_DR_ANY, "household/p_mw"), LOWER, rel_tol=0.05)
def dr_rebound_peak_mw(result: Result) -> float:
    """Rebound peak: the largest aggregate household import (sum of ``p_mw`` over homes, > 0) in the
    hour after the end of each programme event [MW].

    The peak without the programme at the same hours would need a second run,
    so this is the peak after events within one run; compare it with a run
    without the programme for the rebound itself (its energy:
    :func:`analysis.compare.dr_against_baseline`). NaN when no event ends
    before the last step.
    """
    on = _dr_indicator(result)
    agg = np.clip(np.nansum(result.array("household", "p_mw"), axis=1), 0.0, None)
    n_after = int(math.ceil(3600.0 / (result.dt_h * 3600.0) - 1e-9))
    peaks = [agg[e + 1:e + 1 + n_after].max() for e in _dr_ends(on) if e + 1 < len(agg)]
    return float(max(peaks)) if peaks else math.nan


@_kpi("1", "demand_response", ("household/edr_requested", "household/edr_complied"), EQUAL, abs_tol=0.02)
def dr_edr_compliance_share(result: Result) -> float:
    """Share of requested home-steps of emergency demand response in which the home complied [1]."""
    req = np.nan_to_num(result.array("household", "edr_requested"))
    ok = np.nan_to_num(result.array("household", "edr_complied"))
    return _ratio(float((ok * req).sum()), float(req.sum()))


@_kpi("MWh", "demand_response", ("household/edr_metered_reduction_mw",), EQUAL, abs_tol=1e-6, rel_tol=0.02)
def dr_edr_metered_reduction_mwh(result: Result) -> float:
    """Emergency demand response as the programme measures it: complying homes' metered import below
    their meter-before baseline during requests (``edr_metered_reduction_mw``), summed [MWh]."""
    return _energy_mwh(result, result.array("household", "edr_metered_reduction_mw"))


@_kpi("EUR", "demand_response", ("household/dr_payment_eur",), EQUAL, abs_tol=0.01, rel_tol=0.02)
def dr_payments_eur(result: Result) -> float:
    """Demand-response payments to homes: final running totals of ``dr_payment_eur`` summed [EUR]."""
    return float(np.nansum(_final(result.array("household", "dr_payment_eur"))))


@_kpi("EUR", "demand_response", ("household/bill_eur",), LOWER, abs_tol=0.01, rel_tol=0.02)
def household_net_bill_mean_eur(result: Result) -> float:
    """Mean over homes of what a home pays net at the end of the run: its energy bill
    ``household/bill_eur`` minus its demand-response payments ``household/dr_payment_eur``
    (0 without a programme) [EUR].

    ``bill_eur`` stays the energy bill, the one the market settles with the
    same rule (their agreement is tested); the programme payments are a
    separate credit from the programme operator, netted only here.
    """
    bill = _final(result.array("household", "bill_eur"))
    if result.has("household", "dr_payment_eur"):
        bill = bill - np.nan_to_num(_final(result.array("household", "dr_payment_eur")))
    return float(np.mean(bill))


# --------------------------------------------------------- flexibility ----
def _flex_settled(result: Result):
    """Settlement rows (kind 1) of /events/flex: one per profile and interval."""
    ev = result.events("flex")
    return ev[ev["kind"] == 1] if not ev.empty else ev


@_kpi("MWh", "market", ("events/flex",), HIGHER, abs_tol=1e-6, rel_tol=0.05)
def market_flex_procured_mwh(result: Result) -> float:
    """Flexibility activated by the local flexibility market over the run:
    sum over settled profiles of |activated_mw| x step [MWh]."""
    ev = _flex_settled(result)
    return float(np.abs(ev["activated_mw"].to_numpy(float)).sum() * result.dt_h) if len(ev) else 0.0


@_kpi("MWh", "market", ("events/flex",), HIGHER, abs_tol=1e-6, rel_tol=0.05)
def market_flex_delivered_mwh(result: Result) -> float:
    """Activated flexibility that was delivered (metered): sum |delivered_mw| x step [MWh]."""
    ev = _flex_settled(result)
    return float(np.abs(ev["delivered_mw"].to_numpy(float)).sum() * result.dt_h) if len(ev) else 0.0


@_kpi("1", "market", ("events/flex",), HIGHER, abs_tol=0.01)
def market_flex_delivery_ratio(result: Result) -> float:
    """Flexibility delivered / flexibility procured (nan if nothing was activated) [1]."""
    return _ratio(market_flex_delivered_mwh(result), market_flex_procured_mwh(result))


# ----------------------------------------------------------------- ICT ----
@_kpi("1", "ict", ("ict/sent_total|ict/sent", "ict/delivered_total|ict/delivered"), HIGHER, abs_tol=0.005)
def ict_delivery_ratio(result: Result) -> float:
    """Messages delivered (in time or late) / messages whose fate is known
    (delivered + lost + dropped by an outage) [1]. Messages still in flight
    when the run ends are in neither count; with per-step counters (no
    ``lost`` series) the denominator is the number sent."""
    delivered = _count(result, "delivered", "delivered_total")
    if result.has("ict", "lost_total") or result.has("ict", "lost"):
        known = delivered + _count(result, "lost", "lost_total")
        if result.has("ict", "dropped_outage_total"):
            known += _count(result, "dropped_outage", "dropped_outage_total")
        return _ratio(delivered, known)
    return _ratio(delivered, _count(result, "sent", "sent_total"))


@_kpi("messages", "ict", ("ict/lost_total|ict/lost",), LOWER, rel_tol=0.10)
def ict_messages_lost(result: Result) -> float:
    """Messages lost or dropped by a link outage over the run [messages]."""
    lost = _count(result, "lost", "lost_total")
    if result.has("ict", "dropped_outage_total"):
        lost += _count(result, "dropped_outage", "dropped_outage_total")
    return lost


def _latencies(result: Result) -> np.ndarray:
    """Latency of every message that arrived (DELIVERED or LATE) [ms]."""
    ev = result.events("messages")
    if ev.empty:
        return np.empty(0)
    arrived = ev["status"].isin([Status.DELIVERED, Status.LATE]).to_numpy()
    lat = ev["latency_ms"].to_numpy(dtype=np.float64)[arrived]
    return lat[np.isfinite(lat)]


def _latency_percentile(result: Result, q: float) -> float:
    lat = _latencies(result)
    return float(np.percentile(lat, q)) if lat.size else math.nan


@_kpi("ms", "ict", ("events/messages",), LOWER, abs_tol=1.0, rel_tol=0.10)
def ict_latency_p50_ms(result: Result) -> float:
    """Median latency of arrived messages (numpy linear-interpolation percentile) [ms]."""
    return _latency_percentile(result, 50.0)


@_kpi("ms", "ict", ("events/messages",), LOWER, abs_tol=1.0, rel_tol=0.10)
def ict_latency_p95_ms(result: Result) -> float:
    """95th-percentile latency of arrived messages [ms]."""
    return _latency_percentile(result, 95.0)


@_kpi("ms", "ict", ("events/messages",), LOWER, abs_tol=1.0, rel_tol=0.10)
def ict_latency_p99_ms(result: Result) -> float:
    """99th-percentile latency of arrived messages [ms]."""
    return _latency_percentile(result, 99.0)


@_kpi("orders", "ict", ("events/messages",), LOWER, rel_tol=0.10)
def ict_orders_missed_gate_closure(result: Result) -> float:
    """Orders (bids, offers, flexibility offers) that arrived after gate closure (status LATE) [orders]."""
    ev = result.events("messages")
    if ev.empty:
        return 0.0
    orders = ev["kind"].isin([Kind.BID, Kind.OFFER, Kind.FLEX_OFFER])
    return float(np.sum(orders & (ev["status"] == Status.LATE)))


@_kpi("home-steps", "ict", ("household/hems_fallback",), LOWER, rel_tol=0.10)
def ict_hems_fallback_home_steps(result: Result) -> float:
    """Home-steps in which the HEMS used its safe fallback because RESULTs of its bid curve
    were missing at the interval start (``household/hems_fallback`` summed) [home-steps]."""
    return float(np.nansum(result.array("household", "hems_fallback")))


@_kpi("1", "ict", ("household/hems_fallback",), LOWER, abs_tol=0.005)
def ict_hems_fallback_share(result: Result) -> float:
    """Share of home-steps in the fallback: mean of ``household/hems_fallback`` over homes
    and recorded steps (the first step counts as 0: no RESULT was expected) [1]."""
    values = result.array("household", "hems_fallback")
    return float(np.nanmean(values)) if values.size else math.nan


# -------------------------------------------------------- coordination ----
@_kpi("1", "coordination", ("coordinator/tso_need_mw", "coordinator/tso_activated_mw"), HIGHER, abs_tol=0.01)
def coord_tso_need_met_share(result: Result) -> float:
    """TSO need met: sum min(|activated|, |need|) / sum |need| over the run (nan if no need) [1].

    Activations recorded per area are summed per step first.
    """
    need = np.abs(_total(result, "coordinator", "tso_need_mw"))
    act = np.abs(_total(result, "coordinator", "tso_activated_mw"))
    return _ratio(float(np.nansum(np.minimum(act, need))), float(np.nansum(need)))


#: DSO limits the coordinator applies when the scenario sets none
#: (``simulators/coordinator/schema.py``: 100 %, EN 50160 band 0.9-1.1 pu).
_COORD_DSO_DEFAULTS = {"max_loading_percent": 100.0, "vm_min_pu": 0.9, "vm_max_pu": 1.1}


def _coordinator_dso_limits(result: Result) -> dict[str, float]:
    import yaml

    sc = yaml.safe_load(result.attrs.get("scenario_yaml") or "{}") or {}
    dso = ((sc.get("coordinator") or {}).get("dso") or {})
    return {k: float(dso.get(k, v)) for k, v in _COORD_DSO_DEFAULTS.items()}


def _recorded_violation_steps(result: Result) -> np.ndarray:
    """Per recorded step: the power flow breaks the coordinator's DSO limits."""
    lim = _coordinator_dso_limits(result)
    bad = np.zeros(result.n_steps, dtype=bool)
    for attr in ("line_loading_percent", "trafo_loading_percent"):
        if result.has("grid", attr):
            a = result.array("grid", attr)
            bad |= np.nanmax(np.where(np.isfinite(a), a, -np.inf), axis=1, initial=-np.inf) \
                > lim["max_loading_percent"] + 1e-9
    if result.has("grid", "vm_pu"):
        vm = result.array("grid", "vm_pu")
        bad |= np.any((vm < lim["vm_min_pu"] - 1e-9) | (vm > lim["vm_max_pu"] + 1e-9), axis=1)
    return bad


@_kpi("steps", "coordination", ("coordinator/tso_activated_mw", "grid/trafo_loading_percent|grid/line_loading_percent"),
      LOWER)
def coord_dso_violations_by_tso(result: Result) -> float:
    """Steps with a TSO activation in which the recorded AC power flow breaks the DSO limits [steps].

    Judged on ``/series/grid`` (line/trafo loading against the coordinator's
    ``dso.max_loading_percent``, voltages against its band), not on the
    coordinator's own forecast; a step counts when TSO flexibility is active in it.
    """
    tso = np.nansum(np.abs(result.array("coordinator", "tso_activated_mw").reshape(result.n_steps, -1)), axis=1)
    return float(np.sum(_recorded_violation_steps(result) & (tso > 1e-12)))


@_kpi("steps", "coordination", ("coordinator/tso_activated_mw", "grid/trafo_loading_percent|grid/line_loading_percent"),
      LOWER)
def coord_dso_violation_steps(result: Result) -> float:
    """Steps in which the recorded AC power flow breaks the coordinator's DSO limits [steps]."""
    return float(np.sum(_recorded_violation_steps(result)))


@_kpi("violations", "coordination", ("coordinator/dso_violations",), LOWER)
def coord_dso_violations_forecast(result: Result) -> float:
    """DSO violations the coordinator's own forecast attributes to TSO activations (not the grid's) [violations]."""
    return float(np.nansum(_total(result, "coordinator", "dso_violations")))


@_kpi("activations", "coordination", ("coordinator/double_activations",), LOWER)
def coord_double_activations(result: Result) -> float:
    """Flexibility bids activated twice (must be zero) [activations]."""
    return float(np.nansum(_total(result, "coordinator", "double_activations")))


@_kpi("activations", "coordination", ("coordinator/blocked_by_traffic_light",), EQUAL, rel_tol=0.10)
def coord_blocked_by_traffic_light(result: Result) -> float:
    """TSO activations blocked by the DSO traffic light [activations]."""
    return float(np.nansum(_total(result, "coordinator", "blocked_by_traffic_light")))


@_kpi("EUR", "coordination", ("coordinator/cost_tso_eur",), LOWER, abs_tol=0.01, rel_tol=0.02)
def coord_cost_tso_eur(result: Result) -> float:
    """Cost of TSO flexibility procurement [EUR]."""
    return float(np.nansum(_total(result, "coordinator", "cost_tso_eur")))


@_kpi("EUR", "coordination", ("coordinator/cost_dso_eur",), LOWER, abs_tol=0.01, rel_tol=0.02)
def coord_cost_dso_eur(result: Result) -> float:
    """Cost of DSO flexibility procurement [EUR]."""
    return float(np.nansum(_total(result, "coordinator", "cost_dso_eur")))


# --------------------------------------------------------- computation ----
@_kpi("s", "computation", ("attrs/wall_time_s", "attrs/n_steps_done"), LOWER, abs_tol=0.05, rel_tol=3.0)
def comp_wall_time_per_step_s(result: Result) -> float:
    """Wall-clock time per simulated step: wall_time_s / n_steps_done (machine dependent) [s]."""
    return _ratio(float(result.attrs["wall_time_s"]), float(result.attrs["n_steps_done"]))


@_kpi("agents", "computation", ("household/p_mw",), EQUAL)
def comp_n_households(result: Result) -> float:
    """Number of simulated households (agents) [agents]."""
    return float(result.array("household", "p_mw").shape[1])


def household_classes(result: Result) -> np.ndarray:
    """Load class per household column (static ``household/households.load_class``).

    Files written before homes were classified have no such column: every
    home is then ``"unrecorded"``.
    """
    n = result.array("household", "p_mw").shape[1]
    try:
        table = result.static("household", "households")
    except KeyError:
        return np.full(n, "unrecorded", dtype=object)
    if "load_class" not in table:
        return np.full(n, "unrecorded", dtype=object)
    return table["load_class"].astype(str).to_numpy(dtype=object)


def household_kpis_by_class(result: Result) -> dict[str, dict[str, float]]:
    """Household KPIs per load class (household, commercial, agricultural, ...).

    The same definitions as :func:`household_self_consumption` and
    :func:`household_self_sufficiency`, over the homes of one class, plus
    their count, imported and exported energy [MWh] and, with a market in
    the run, the mean bill per home [EUR] (market agents are the homes in
    the same order). A scenario that lets farms or shops take part
    (``households.include``) so reports homes and farms apart.

    Returns
    -------
    dict
        ``{class: {"n_homes", "imported_mwh", "exported_mwh",
        "self_consumption", "self_sufficiency", "bill_mean_eur"}}``, classes
        in order of first appearance; ``{}`` without a household simulator.
    """
    if not (result.has("household", "p_mw") and result.has("household", "pv_p_mw")):
        return {}
    e, g = _household_energy(result)
    classes = household_classes(result)
    bills = None
    if result.has("market", "bill_eur"):
        b = _final(result.array("market", "bill_eur"))
        bills = b if len(b) == len(classes) else None
    out: dict[str, dict[str, float]] = {}
    for cls in dict.fromkeys(classes):
        m = classes == cls
        ec, gc = e[:, m], g[:, m]
        out[str(cls)] = {
            "n_homes": float(m.sum()),
            "imported_mwh": float(np.nansum(np.clip(ec, 0.0, None))),
            "exported_mwh": float(np.nansum(np.clip(-ec, 0.0, None))),
            "self_consumption": _self_consumption(ec, gc),
            "self_sufficiency": _self_sufficiency(ec, gc),
            "bill_mean_eur": float(np.mean(bills[m])) if bills is not None else math.nan,
        }
    return out


def kpis(result: Result, tariff: Result | None = None) -> dict[str, KpiValue]:
    """Evaluate every registered KPI.

    Parameters
    ----------
    result : Result
        The run.
    tariff : Result, optional
        A run of the same households under the retail-tariff baseline, used
        by the bill comparison KPIs when the run has no ``bill_tariff_eur`` of
        its own; without either they are not applicable.

    Returns
    -------
    dict of str to KpiValue
        In registry order; missing simulators give ``applicable=False``.
    """
    out: dict[str, KpiValue] = {}
    for spec in REGISTRY.values():
        ok = all(available(result, r) for r in spec.requires)
        if spec.needs_tariff:
            own = result.has("market", "bill_tariff_eur")
            ok = ok and (own or (tariff is not None and all(available(tariff, r) for r in spec.requires)))
        if not ok:
            out[spec.name] = KpiValue(math.nan, spec.unit, False, spec.description)
            continue
        value = spec.func(result, tariff) if spec.needs_tariff else spec.func(result)
        out[spec.name] = KpiValue(float(value), spec.unit, True, spec.description)
    return out


#: Headline KPIs (``cosim run`` summary, sweep index columns): short name -> registry name.
HEADLINE = {
    "vm_min_pu": "grid_vm_min_pu",
    "vm_max_pu": "grid_vm_max_pu",
    "line_loading_max_percent": "grid_line_loading_max_percent",
    "trafo_loading_max_percent": "grid_trafo_loading_max_percent",
    "energy_imported_mwh": "grid_energy_imported_mwh",
    "energy_exported_mwh": "grid_energy_exported_mwh",
    "pf_not_converged_steps": "grid_pf_not_converged_steps",
}


def headline(result: Result) -> dict[str, float]:
    """The headline KPIs of a run, by the short names of :data:`HEADLINE`.

    Each value is the registered KPI of the same definition and unit; it is NaN
    when the KPI is not applicable or the run recorded no step.

    Parameters
    ----------
    result : Result
        The run.

    Returns
    -------
    dict of str to float
        In :data:`HEADLINE` order.
    """
    out: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN series (no step converged) give NaN
        for short, name in HEADLINE.items():
            spec = REGISTRY[name]
            ok = result.n_steps > 0 and all(available(result, r) for r in spec.requires)
            out[short] = float(spec.func(result)) if ok else math.nan
    return out
