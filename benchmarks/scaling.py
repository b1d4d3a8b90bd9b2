"""Scaling curve: per-simulator step time vs households and vs grid size.

The full stack of benchmark (b) (``scenarios/full_district_day.yaml``: market
HEMS, PV/battery/EV/heat pump, pay-as-clear with AC check, LTE, local
coordination, recorder) runs for the same winter day on SimBench grids of
increasing size; only ``grid.simbench`` changes. Each grid runs in its own
process under :mod:`benchmarks.probe`. An MV-only grid has no LV loads, so
it gets one aggregated household per load (see the household population).

Households and buses grow together on SimBench grids, so the two x-axes
show the same runs; the exponent ``b`` of ``t = a * n**b`` is the
least-squares slope on log-log axes.

Usage::

    python benchmarks/scaling.py [--steps 96] [--json OUT] [--png OUT]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "scenarios" / "full_district_day.yaml"
#: Grids of increasing size (households: LV loads, or all loads on an MV-only grid).
GRIDS = (
    "1-LV-rural1--0-sw",
    "1-LV-semiurb4--0-sw",
    "1-MV-rural--0-sw",
    "1-LV-rural2--0-sw",
    "1-LV-rural3--0-sw",
    "1-MVLV-rural-all-0-sw",
    "1-MVLV-semiurb-all-0-sw",
)
SIMULATORS = ("grid", "household", "ict", "market", "coordinator", "recorder")
#: Fits use the points with at least this many households (below, fixed per-call
#: overheads dominate and flatten the curve) ...
FIT_MIN_HOUSEHOLDS = 40
#: ... and, for the asymptotic slope, the district-sized points only.
FIT_LARGE_HOUSEHOLDS = 1000


def overrides(code: str, steps: int) -> list[str]:
    """Scenario overrides of one scaling point (``steps`` intervals of 15 min)."""
    return [f"grid.simbench={code}", f"duration={steps * 15}min"]


def exponent(x, y) -> float:
    """Least-squares slope of log(y) on log(x); NaN with fewer than 2 usable points."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0) & np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 2 or np.ptp(np.log(x[ok])) == 0:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def complexity(b: float) -> str:
    """Words for a log-log slope ``b``."""
    if not np.isfinite(b):
        return "n/a"
    if b < 0.25:
        return "~constant (per-call overhead dominates)"
    if b < 0.8:
        return f"sub-linear (~n^{b:.2f})"
    if b <= 1.2:
        return "~linear"
    return f"super-linear (~n^{b:.2f})"


def fit(points: list[dict], x_key: str) -> dict[str, dict]:
    """Exponent per simulator (and total, mosaik) against ``x_key`` of the points."""
    big = [p for p in points if p["households"] >= FIT_MIN_HOUSEHOLDS]
    use = big if len(big) >= 3 else points
    large = [p for p in points if p["households"] >= FIT_LARGE_HOUSEHOLDS]
    out = {}
    for name in (*SIMULATORS, "mosaik", "total"):
        b = exponent([p[x_key] for p in use], [_ms(p, name) for p in use])
        b_large = exponent([p[x_key] for p in large], [_ms(p, name) for p in large])
        words = complexity(b_large if np.isfinite(b_large) else b)
        out[name] = {"exponent": b, "exponent_large": b_large, "complexity": words,
                     "n_points": len(use), "n_points_large": len(large)}
    return out


def _ms(point: dict, name: str) -> float:
    if name == "total":
        return point["ms_per_step"]
    if name == "mosaik":
        return point["mosaik_ms_per_step"]
    return point["simulators"].get(name, {}).get("ms_per_step", float("nan"))


def point_from_probe(rec: dict) -> dict:
    """One scaling point: the probe record reduced to what the curve needs."""
    return {
        **{k: rec[k] for k in ("grid", "n_bus", "n_line", "n_load", "households")},
        "steps": rec["steps"], "setup_s": rec["setup_s"], "ms_per_step": rec["ms_per_step"],
        "mosaik_ms_per_step": rec["mosaik_ms_per_step"], "peak_rss_mb": rec["peak_rss_mb"],
        "simulators": {k: {"ms_per_step": v["ms_per_step"]} for k, v in rec["simulators"].items()},
    }


def plot(points: list[dict], path: Path) -> None:
    """Two log-log panels: ms per step vs households and vs buses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = sorted(points, key=lambda p: p["households"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    for ax, key, label in ((axes[0], "households", "households (modelled homes)"),
                           (axes[1], "n_bus", "grid size (buses)")):
        x = [p[key] for p in pts]
        for name in (*SIMULATORS, "mosaik", "total"):
            y = [_ms(p, name) for p in pts]
            style = dict(lw=2.5, color="k") if name == "total" else \
                dict(ls="--", color="grey") if name == "mosaik" else {}
            ax.plot(x, y, marker="o", label=name, **style)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("wall time per 15-min step [ms]")
    axes[1].legend(loc="upper left", fontsize=8)
    fig.suptitle(f"Full-stack step time per simulator ({pts[0]['steps']} steps per grid)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table_md(points: list[dict]) -> str:
    """Markdown table: one row per grid, ms per step per simulator."""
    head = ["grid", "households", "buses", "steps", *SIMULATORS, "mosaik", "total", "set-up s", "peak RSS MB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in sorted(points, key=lambda p: p["households"]):
        cells = [f"`{p['grid']}`", f"{p['households']:,}", f"{p['n_bus']:,}", str(p["steps"])]
        cells += [f"{_ms(p, s):.2f}" for s in (*SIMULATORS, "mosaik", "total")]
        cells += [f"{p['setup_s']:.1f}", f"{p['peak_rss_mb']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fit_md(fits_hh: dict, fits_bus: dict) -> str:
    """Markdown table of the exponents vs households and vs buses."""
    lines = [f"| simulator | exponent vs households (>= {FIT_MIN_HOUSEHOLDS}) | exponent vs buses "
             f"| exponent vs households (>= {FIT_LARGE_HOUSEHOLDS:,}) | complexity at district size |",
             "|---|---|---|---|---|"]
    for name in fits_hh:
        a, b = fits_hh[name], fits_bus[name]
        lines.append(f"| {name} | {a['exponent']:.2f} | {b['exponent']:.2f} | {a.get('exponent_large', float('nan')):.2f} "
                     f"| {a['complexity']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the curve standalone (run_all.py calls the same pieces)."""
    from benchmarks.run_all import probe_child

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=96)
    ap.add_argument("--json", default=None)
    ap.add_argument("--png", default=str(HERE / "scaling.png"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    points = []
    for code in GRIDS:
        rec = probe_child(str(SCENARIO), overrides(code, args.steps))
        points.append(point_from_probe(rec))
    plot(points, Path(args.png))
    sys.stdout.write(table_md(points) + "\n\n" + fit_md(fit(points, "households"), fit(points, "n_bus")) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(points, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
