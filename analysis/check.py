"""Regression check of KPIs against a stored baseline (``cosim check``).

Baseline JSON (written by :func:`write_baseline`)::

    {"format": "cosim-baseline", "version": 1,
     "source": {"file": "...", "scenario_sha256": "..."},
     "kpis": {"grid_vm_max_pu": {"value": 1.052, "unit": "pu",
                                 "tolerance": {"abs": 0.001, "rel": 0.0,
                                               "direction": "not_worse_lower_is_better"}},
              ...}}

A KPI passes when ``delta = now - baseline`` stays within
``allowed = max(abs, rel * |baseline|)`` in the direction that counts:

* ``not_worse_lower_is_better``: ``delta <= allowed``;
* ``not_worse_higher_is_better``: ``-delta <= allowed``;
* ``equal``: ``|delta| <= allowed``.

A value of ``null`` means the KPI was not applicable (or undefined) in the
baseline run; it passes while it stays so.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path

from analysis.errors import BaselineError
from analysis.kpis import DIRECTIONS, EQUAL, HIGHER, LOWER, REGISTRY, KpiValue

logger = logging.getLogger(__name__)

FORMAT = "cosim-baseline"
VERSION = 1


@dataclass(frozen=True)
class Tolerance:
    """Allowed change of one KPI: ``max(abs, rel * |baseline|)`` in ``direction``."""

    abs: float
    rel: float
    direction: str

    def allowed(self, baseline: float) -> float:
        """Allowed deviation from ``baseline`` [unit of the KPI]."""
        return max(self.abs, self.rel * abs(baseline))


@dataclass(frozen=True)
class Verdict:
    """One row of the check table."""

    name: str
    unit: str
    baseline: float
    now: float
    delta: float
    verdict: str  # ok | better | n/a | new | REGRESSION

    @property
    def failed(self) -> bool:
        """True for a regression."""
        return self.verdict == "REGRESSION"


def default_tolerance(name: str) -> Tolerance:
    """The registered default tolerance of KPI ``name``."""
    spec = REGISTRY[name]
    return Tolerance(spec.abs_tol, spec.rel_tol, spec.direction)


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def read_baseline(path: str | Path) -> dict[str, tuple[float | None, Tolerance]]:
    """Read and validate a baseline file.

    Raises
    ------
    BaselineError
        If the file is missing, not JSON, of another format, names unknown
        KPIs or carries a bad tolerance.
    """
    path = Path(path)
    if not path.is_file():
        raise BaselineError(f"{path}: baseline file not found; create it with 'cosim check RESULT.h5 --baseline {path} --write-baseline'")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise BaselineError(f"{path}: not a {FORMAT} version {VERSION} file (expected keys format, version, kpis)")
    entries = doc.get("kpis")
    if not isinstance(entries, dict):
        raise BaselineError(f"{path}: 'kpis' must be an object mapping KPI names to {{value, tolerance}}")
    unknown = sorted(set(entries) - set(REGISTRY))
    if unknown:
        raise BaselineError(f"{path}: unknown KPI(s) {', '.join(unknown)}; known KPIs are listed by 'cosim kpis RESULT.h5'")
    out: dict[str, tuple[float | None, Tolerance]] = {}
    for name, entry in entries.items():
        default = default_tolerance(name)
        tol = entry.get("tolerance", {}) if isinstance(entry, dict) else None
        if not isinstance(tol, dict):
            raise BaselineError(f"{path}: kpis.{name} must be an object with 'value' and 'tolerance'")
        direction = tol.get("direction", default.direction)
        if direction not in DIRECTIONS:
            raise BaselineError(f"{path}: kpis.{name}.tolerance.direction is {direction!r}; allowed: {', '.join(DIRECTIONS)}")
        try:
            tolerance = Tolerance(float(tol.get("abs", default.abs)), float(tol.get("rel", default.rel)), direction)
            value = entry.get("value")
            value = None if value is None else float(value)
        except (TypeError, ValueError) as exc:
            raise BaselineError(f"{path}: kpis.{name} has a non-numeric value or tolerance ({exc})") from exc
        if tolerance.abs < 0 or tolerance.rel < 0:
            raise BaselineError(f"{path}: kpis.{name}.tolerance abs/rel must be >= 0, got {tolerance.abs}/{tolerance.rel}")
        out[name] = (value, tolerance)
    return out


def write_baseline(path: str | Path, values: dict[str, KpiValue], source: dict[str, str]) -> Path:
    """Create or update a baseline file with the current KPI values.

    Tolerances already in an existing file are kept; new KPIs get their
    registered defaults.
    """
    path = Path(path)
    old: dict[str, tuple[float | None, Tolerance]] = {}
    if path.is_file():
        old = read_baseline(path)
    kpis = {}
    for name, kv in values.items():
        tol = old[name][1] if name in old else default_tolerance(name)
        kpis[name] = {
            "value": _num(kv.value) if kv.applicable else None,
            "unit": kv.unit,
            "tolerance": {"abs": tol.abs, "rel": tol.rel, "direction": tol.direction},
        }
    doc = {"format": FORMAT, "version": VERSION, "source": source, "kpis": kpis}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    logger.info("wrote baseline %s with %d KPIs", path, len(kpis))
    return path


def judge(base: float | None, now: float | None, tol: Tolerance) -> tuple[float, str]:
    """Delta and verdict of one KPI (``None`` = not applicable / undefined)."""
    if base is None and now is None:
        return math.nan, "n/a"
    if base is None:
        return math.nan, "new"
    if now is None:
        return math.nan, "REGRESSION"
    delta = now - base
    allowed = tol.allowed(base)
    if tol.direction == LOWER:
        worse, better = delta > allowed, delta < -allowed
    elif tol.direction == HIGHER:
        worse, better = -delta > allowed, -delta < -allowed
    else:
        assert tol.direction == EQUAL
        worse, better = abs(delta) > allowed, False
    return delta, "REGRESSION" if worse else ("better" if better else "ok")


def compare(values: dict[str, KpiValue], baseline: dict[str, tuple[float | None, Tolerance]]) -> list[Verdict]:
    """Judge every KPI named in the baseline."""
    rows = []
    for name, (base, tol) in baseline.items():
        kv = values[name]
        now = _num(kv.value) if kv.applicable else None
        delta, verdict = judge(base, now, tol)
        rows.append(Verdict(name, kv.unit, math.nan if base is None else base, math.nan if now is None else now, delta, verdict))
    return rows


def _fmt(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.6g}"


def format_table(rows: list[Verdict]) -> str:
    """Plain-text table: KPI, unit, baseline, now, delta, verdict."""
    header = ("KPI", "unit", "baseline", "now", "delta", "verdict")
    cells = [header] + [(r.name, r.unit, _fmt(r.baseline), _fmt(r.now), _fmt(r.delta), r.verdict) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
