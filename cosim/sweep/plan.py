"""Planning a sweep: expand the design, validate every variant, give each its id.

Nothing runs here. :func:`plan_sweep` validates every variant exactly as
``cosim run BASE --set ...`` validates its scenario before set-up, and then
runs the checks that need the net (:data:`NET_CHECKS`): each distinct grid is
loaded once (a SimBench net takes a few seconds) and every variant is checked
against it. All problems of all variants are reported together, each line
naming its variant.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import ValidationError

from ..errors import ScenarioError
from .schema import SweepConfig

log = logging.getLogger(__name__)

#: Most problem lines reported for one sweep (the rest are summarised).
MAX_PROBLEMS = 200

#: Checks that need the net, per scenario section: import string of
#: ``f(section_config, net) -> list[str]`` (one line per problem, field path first).
#: Simulators declare them; the planner only wires them, as the world does with adapters.
NET_CHECKS = {
    "households": "simulators.household.checks:net_problems",
}


@dataclass(frozen=True)
class Variant:
    """One validated variant of a sweep."""

    variant_id: str
    overrides: dict
    sets: tuple[str, ...]
    seed: int
    yaml_text: str


@dataclass(frozen=True)
class Plan:
    """A validated sweep: its variants, where they run from and where results go."""

    sweep_path: Path
    base_path: Path
    sweep: SweepConfig
    variants: list[Variant]
    output_dir: Path


def variant_id(yaml_text: str) -> str:
    """Stable id: SHA-256 of the canonical JSON of the effective scenario, 16 hex digits."""
    data = yaml.safe_load(yaml_text)
    canon = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def to_set_item(key: str, value: Any) -> str:
    """``key=value`` for :func:`cosim.config.apply_overrides`, with the value as flow YAML."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    text = yaml.safe_dump(value, default_flow_style=True, width=2**31 - 1, allow_unicode=True)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")].strip()
    if "\n" in text or yaml.safe_load(text) != value:
        raise ValueError(f"{key}: value {value!r} cannot be written as a one-line override")
    return f"{key}={text}"


def expand(sweep: SweepConfig) -> list[dict]:
    """The override dict of every variant (grid x sample x variants x seeds)."""
    factors: list[list[dict]] = []
    if sweep.grid:
        keys = list(sweep.grid)
        factors.append([dict(zip(keys, combo)) for combo in itertools.product(*sweep.grid.values())])
    if sweep.sample is not None:
        rng = np.random.default_rng(sweep.sample.seed)
        keys = sorted(sweep.sample.ranges)
        factors.append([{k: float(rng.uniform(sweep.sample.ranges[k].low, sweep.sample.ranges[k].high))
                         for k in keys} for _ in range(sweep.sample.n)])
    if sweep.variants:
        factors.append([dict(v) for v in sweep.variants])
    if sweep.seeds:
        factors.append([{"seed": s} for s in sweep.seeds])
    out = []
    for combo in itertools.product(*factors):
        merged: dict = {}
        for d in combo:
            merged.update(d)
        out.append(merged)
    return out


def load_sweep(path: str | Path) -> SweepConfig:
    """Read and validate a sweep file; :class:`ScenarioError` lists every problem."""
    from ..config import _read_yaml, format_validation_error

    data = _read_yaml(Path(path))
    try:
        return SweepConfig.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, SweepConfig)) from None
    except RecursionError:
        raise ScenarioError([f"{path}: nesting is too deep"]) from None


def _label(i: int, overrides: dict) -> str:
    return f"variant {i}: {json.dumps(overrides, default=str)}"


def _check(func: str):
    module, name = func.split(":")
    return getattr(importlib.import_module(module), name)


def net_problems(scenarios: list[tuple[str, Any]]) -> list[str]:
    """Run :data:`NET_CHECKS` for validated scenarios, loading each distinct grid once.

    Parameters
    ----------
    scenarios : list of (label, Scenario)
        The label starts every problem line of that scenario.

    Returns
    -------
    list of str
        ``"<problem> (<label>)"`` lines; a grid that cannot be loaded is one
        problem per variant using it.
    """
    from simulators.common.netdata import load_net

    nets: dict[str, Any] = {}
    problems: list[str] = []
    for label, scenario in scenarios:
        sections = [(s, f) for s, f in NET_CHECKS.items() if getattr(scenario, s, None) is not None]
        if not sections:
            continue
        spec = scenario.grid_spec()
        key = json.dumps(spec, sort_keys=True)
        if key not in nets:
            try:
                nets[key] = load_net(spec)
            except ValueError as exc:  # GridSpecError and pandapower's own parse errors
                nets[key] = " ".join(str(exc).split())
        net = nets[key]
        if isinstance(net, str):
            problems.append(f"{net} ({label})")
            continue
        for section, func in sections:
            problems += [f"{line} ({label})" for line in _check(func)(getattr(scenario, section), net)]
    return problems


def plan_sweep(path: str | Path, output_dir: str | Path | None = None) -> Plan:
    """Validate a sweep file and every variant it expands to (nothing runs).

    Raises
    ------
    ScenarioError
        One line per problem, each naming its variant (index and overrides).
    """
    from ..config import load_raw, load_scenario

    path = Path(path)
    sweep = load_sweep(path)
    base = Path(sweep.base)
    base = (path.parent / base if not base.is_absolute() else base).resolve()
    load_raw(base)  # a missing or broken base is reported once, not once per variant
    problems: list[str] = []
    variants: list[Variant] = []
    checked: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for i, overrides in enumerate(expand(sweep)):
        if len(problems) > MAX_PROBLEMS:
            break
        label = _label(i, overrides)
        try:
            sets = tuple(_to_set_items(overrides))
            scenario, yaml_text = load_scenario(base, list(sets))
        except ValueError as exc:  # ScenarioError is a ValueError
            lines = exc.problems if isinstance(exc, ScenarioError) else [str(exc)]
            problems += [f"{line} ({label})" for line in lines]
            continue
        vid = variant_id(yaml_text)
        if vid in seen:
            log.warning("%s duplicates an earlier variant; it runs once", label)
            continue
        seen.add(vid)
        variants.append(Variant(vid, overrides, sets, scenario.seed, yaml_text))
        checked.append((label, scenario))
    if len(problems) <= MAX_PROBLEMS:
        problems += net_problems(checked)
    if problems:
        if len(problems) > MAX_PROBLEMS:
            problems = problems[:MAX_PROBLEMS] + ["... (more problems not shown)"]
        raise ScenarioError(problems)
    out = Path(output_dir or sweep.output_dir or Path("out") / "sweeps" / path.stem)
    return Plan(path, base, sweep, variants, out)


def _to_set_items(overrides: dict) -> list[str]:
    return [to_set_item(k, v) for k, v in overrides.items()]
