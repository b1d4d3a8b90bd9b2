"""Report figures: matplotlib object API (no pyplot state, PNGs rendered by Agg), one fixed style.

Figures are built as :class:`matplotlib.figure.Figure` objects without pyplot,
so the module never changes the user's backend (notebooks keep inline
plotting) and needs no display.

Each figure function takes a list of runs and returns a
:class:`matplotlib.figure.Figure`, overlaying the runs where that reads well.
:data:`FIGURES` lists them with the series they need; :func:`render` skips a
figure whose simulator was in none of the runs and says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import matplotlib
import numpy as np  
from matplotlib import dates as mdates
from matplotlib import rc_context  
from matplotlib.colors import Normalize  
from matplotlib.figure import Figure  
from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter, ScalarFormatter  

from analysis.io import Result  
from analysis.kpis import VOLTAGE_BAND_PU, available  
from simulators.common.messages import Status  

logger = logging.getLogger(__name__)

#: The one style of all figures (independent of the user's matplotlibrc).
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(
        color=["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]
    ),
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "image.cmap": "RdBu_r",
}

BAND_LO, BAND_HI = 1.0 - VOLTAGE_BAND_PU, 1.0 + VOLTAGE_BAND_PU


def _legend(ax, **kwargs) -> None:
    """Add a legend only when the axes has labelled artists (no empty-legend warning)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def _note_if_empty(ax, text: str) -> None:
    """Say on the axes that there was nothing to draw (instead of a blank frame)."""
    if not ax.lines and not ax.collections:
        ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#777")


def _hours(r: Result) -> np.ndarray:
    """Times of the recorded steps as matplotlib date numbers [days] (wall-clock dates on the axis).

    Time-zone-aware results are drawn in their own zone (UTC for ``cosim run``).
    """
    index = r.index.tz_localize(None) if r.index.tz is not None else r.index
    return mdates.date2num(index.to_pydatetime())


def _days(seconds: float) -> float:
    """A duration on the date axis [days]."""
    return seconds / 86400.0


def _time_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlabel("time")


#: Per-run markers: runs drawn on top of each other (identical results) stay distinguishable.
RUN_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def run_style(i: int, n_points: int) -> dict:
    """Colour, marker and marker spacing of the ``i``-th run of an overlay.

    Each run has its own marker, placed at staggered positions, so identical
    series (e.g. two designs that cleared the same way) remain visible as two
    marker sets on one line instead of one hiding the other.
    """
    every = max(1, n_points // 12)
    return {"color": f"C{i}", "marker": RUN_MARKERS[i % len(RUN_MARKERS)], "markersize": 3.5,
            "markevery": (min(i * max(1, every // 3), max(n_points - 1, 0)), every)}


def identical_runs(runs: list[Result], sim: str, attr: str) -> list[tuple[str, str]]:
    """Pairs of run labels whose ``sim/attr`` series are identical (equal shape and values, NaN = NaN)."""
    pairs = []
    have = [r for r in runs if r.has(sim, attr)]
    for a in range(len(have)):
        for b in range(a + 1, len(have)):
            x, y = have[a].array(sim, attr), have[b].array(sim, attr)
            if x.shape == y.shape and np.array_equal(x, y, equal_nan=True):
                pairs.append((have[a].label, have[b].label))
    return pairs


def _note_identical(ax, runs: list[Result], sim: str, attr: str) -> None:
    """Say on the axes which runs coincide (their lines lie on top of each other)."""
    pairs = identical_runs(runs, sim, attr)
    if pairs:
        text = "; ".join(f"{a} = {b}" for a, b in pairs)
        ax.text(0.01, 0.98, f"identical runs (lines coincide): {text}", transform=ax.transAxes,
                ha="left", va="top", fontsize=7, color="#555")


def voltage_heatmap(runs: list[Result]) -> Figure:
    """Bus voltage heatmap per run (colour limits = EN 50160 band) and min/max envelope."""
    runs = [r for r in runs if r.has("grid", "vm_pu")]
    fig = Figure(figsize=(9, 2.6 * len(runs) + 2.4), layout="constrained")
    axes = fig.subplots(len(runs) + 1, 1, squeeze=False)[:, 0]
    norm = Normalize(BAND_LO, BAND_HI)
    for ax, r in zip(axes, runs):
        vm = r.array("grid", "vm_pu")
        h = _hours(r)
        extent = (h[0], h[-1] + _days(r.step_s), vm.shape[1] - 0.5, -0.5)
        im = ax.imshow(vm.T, aspect="auto", norm=norm, extent=extent, interpolation="nearest")
        ax.grid(False)
        outside = np.abs(vm - 1.0) > VOLTAGE_BAND_PU
        if outside.any():
            tt, bb = np.nonzero(outside)
            ax.scatter(h[tt] + _days(r.step_s / 2), bb, marker="x", s=12, color="black", label="outside +/-10 %")
            _legend(ax, loc="upper right")
        ax.set_ylabel("bus [index]")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{r.label}: bus voltage (colour scale = EN 50160 band 0.9-1.1 pu)")
        _time_axis(ax)
        fig.colorbar(im, ax=ax, label="vm [pu]")
    env = axes[-1]
    env.axhspan(BAND_LO, BAND_HI, color="#2ca02c", alpha=0.08, label="EN 50160 band")
    env.axhline(BAND_LO, color="#2ca02c", lw=0.8, ls="--")
    env.axhline(BAND_HI, color="#2ca02c", lw=0.8, ls="--")
    for i, r in enumerate(runs):
        vm = r.array("grid", "vm_pu")
        c = f"C{i}"
        style = run_style(i, vm.shape[0])
        env.step(_hours(r), np.nanmax(vm, axis=1), where="post", label=f"{r.label} max", **style)
        env.step(_hours(r), np.nanmin(vm, axis=1), where="post", ls=":", label=f"{r.label} min", **style)
    env.set_xlim(min(_hours(r)[0] for r in runs), max(_hours(r)[-1] + _days(r.step_s) for r in runs))
    _note_identical(env, runs, "grid", "vm_pu")
    env.set_ylabel("vm over buses [pu]")
    env.set_title("voltage envelope (max solid, min dotted)")
    _time_axis(env)
    _legend(env, loc="best", ncol=2)
    return fig


def _duration(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum over entities per step, sorted descending, against share of time [percent]."""
    peak = np.sort(np.nanmax(values, axis=1))[::-1]
    share = 100.0 * np.arange(1, peak.size + 1) / peak.size
    return share, peak


def loading_duration(runs: list[Result]) -> Figure:
    """Duration curves of the highest line and transformer loading per step."""
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, attr, what in zip(axes, ("line_loading_percent", "trafo_loading_percent"), ("line", "transformer")):
        plotted = False
        for i, r in enumerate(runs):
            if r.has("grid", attr):
                share, peak = _duration(r.array("grid", attr))
                ax.step(share, peak, where="post", color=f"C{i}", label=r.label)
                plotted = True
        ax.axhline(100.0, color="black", lw=0.8, ls="--", label="100 %")
        ax.set_xlabel("share of time [percent]")
        ax.set_ylabel(f"highest {what} loading [percent]")
        ax.set_title(f"{what} loading duration curve" + ("" if plotted else " (not recorded)"))
        ax.set_xlim(0, 100)
        _legend(ax, loc="lower left")
    return fig


def pcc_exchange(runs: list[Result]) -> Figure:
    """Active power exchange with the upstream grid at the PCC (+ import, - export)."""
    fig = Figure(figsize=(9, 3.2), layout="constrained")
    ax = fig.subplots()
    for i, r in enumerate(runs):
        if not r.has("grid", "ext_grid_p_mw"):
            continue
        p = r.array("grid", "ext_grid_p_mw").sum(axis=1)
        h = _hours(r)
        ax.step(h, p, where="post", label=r.label, **run_style(i, h.size))
        if len(runs) == 1:
            ax.fill_between(h, p, 0, where=p >= 0, step="post", color="#1f77b4", alpha=0.2, label="import")
            ax.fill_between(h, p, 0, where=p < 0, step="post", color="#d62728", alpha=0.2, label="export (reverse flow)")
    ax.axhline(0.0, color="black", lw=0.6)
    _note_identical(ax, runs, "grid", "ext_grid_p_mw")
    ax.set_ylabel("P at PCC [MW]")
    ax.set_title("exchange with the upstream grid (+ import)")
    _time_axis(ax)
    _legend(ax, loc="best")
    return fig


def market(runs: list[Result]) -> Figure:
    """Local market price and volumes per interval."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax_p, ax_v = fig.subplots(2, 1, sharex=True)
    single = len(runs) == 1
    for i, r in enumerate(runs):
        h = _hours(r)
        if r.has("market", "price_eur_per_mwh"):
            price = r.array("market", "price_eur_per_mwh")
            price = np.nanmean(price, axis=1) if price.ndim == 2 else price
            ax_p.step(h, price, where="post", label=r.label, **run_style(i, h.size))
        if r.has("market", "traded_mwh"):
            ax_v.step(h, 1e3 * r.array("market", "traded_mwh"), where="post", label=f"{r.label} traded locally",
                      **run_style(i, h.size))
        if single:
            for k, (attr, what) in enumerate((("retail_import_mwh", "retail import"), ("retail_export_mwh", "retail export"))):
                if r.has("market", attr):
                    ax_v.step(h, 1e3 * r.array("market", attr), where="post", color=f"C{k + 1}", ls="--", label=what)
    _note_identical(ax_p, runs, "market", "price_eur_per_mwh")
    ax_p.set_ylabel("local price [EUR/MWh]")
    ax_p.set_title("local market price (gaps = not cleared)")
    _legend(ax_p, loc="best")
    if all(not np.isfinite(line.get_ydata()).any() for line in ax_p.lines):
        ax_p.text(0.5, 0.5, "no interval cleared", transform=ax_p.transAxes, ha="center", va="center", color="#777")
    ax_v.set_ylabel("energy per interval [kWh]")
    ax_v.set_title("volumes")
    _time_axis(ax_v)
    _legend(ax_v, loc="best")
    return fig


def soc_envelopes(runs: list[Result]) -> Figure:
    """Battery and EV state of charge over households: median and min-max band."""
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    for ax, attr, what in zip(axes, ("battery_soc_mwh", "ev_soc_mwh"), ("battery", "EV")):
        plotted = False
        for i, r in enumerate(runs):
            if not r.has("household", attr):
                continue
            soc = 1e3 * r.array("household", attr)
            h = _hours(r)
            ax.fill_between(h, np.nanmin(soc, axis=1), np.nanmax(soc, axis=1), step="post", color=f"C{i}", alpha=0.2)
            ax.step(h, np.nanmedian(soc, axis=1), where="post", label=f"{r.label} median (band: min-max)",
                    **run_style(i, h.size))
            plotted = True
        ax.set_ylabel(f"{what} state of charge [kWh]")
        ax.set_title(f"{what} SoC over households" + ("" if plotted else " (not recorded)"))
        _time_axis(ax)
        if plotted:
            _legend(ax, loc="best")
    return fig


def _ict_per_step(r: Result) -> tuple[np.ndarray, np.ndarray] | None:
    """Messages sent and lost per step [1], from running totals (differenced) or per-step counts."""
    if r.has("ict", "sent_total") and r.has("ict", "lost_total"):
        sent = np.diff(np.nan_to_num(r.array("ict", "sent_total")), prepend=0.0)
        lost = np.diff(np.nan_to_num(r.array("ict", "lost_total")), prepend=0.0)
        if r.has("ict", "dropped_outage_total"):
            lost = lost + np.diff(np.nan_to_num(r.array("ict", "dropped_outage_total")), prepend=0.0)
        return sent, lost
    if r.has("ict", "sent") and r.has("ict", "lost"):
        return r.array("ict", "sent"), r.array("ict", "lost")
    return None


def ict(runs: list[Result]) -> Figure:
    """Latency CDF of delivered messages and message loss per step."""
    fig = Figure(figsize=(9, 3.4), layout="constrained")
    ax_c, ax_l = fig.subplots(1, 2)
    for i, r in enumerate(runs):
        ev = r.events("messages")
        if not ev.empty:
            arrived = ev["status"].isin([Status.DELIVERED, Status.LATE]).to_numpy()
            lat = np.sort(ev["latency_ms"].to_numpy(dtype=float)[arrived])
            lat = lat[np.isfinite(lat)]
            if lat.size:
                share = np.arange(1, lat.size + 1) / lat.size
                if lat.size > 4000:  # a year of messages: 2,000 quantiles draw the same curve
                    share = np.linspace(0.0, 1.0, 2001)[1:]
                    lat = np.quantile(lat, share)
                ax_c.step(lat, share, where="post", color=f"C{i}", label=r.label)
        counts = _ict_per_step(r)
        if counts is not None:
            sent, lost = counts
            loss = 100.0 * np.divide(lost, sent, out=np.zeros_like(lost), where=sent > 0)
            ax_l.step(_hours(r), loss, where="post", label=r.label, **run_style(i, r.n_steps))
    ax_c.set_xscale("log")
    ax_c.xaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
    ax_c.xaxis.set_major_formatter(ScalarFormatter())
    ax_c.xaxis.set_minor_formatter(NullFormatter())  # unlabelled minor ticks: no overlapping labels
    ax_c.set_xlabel("latency [ms]")
    ax_c.set_ylabel("share of delivered messages [1]")
    ax_c.set_title("latency CDF")
    ax_c.set_ylim(0, 1.02)
    _legend(ax_c, loc="lower right")
    _note_if_empty(ax_c, "no delivered messages in /events/messages")
    ax_l.set_ylabel("lost / sent [percent]")
    ax_l.set_title("message loss per step")
    _time_axis(ax_l)
    _legend(ax_l, loc="best")
    return fig


def _summed(r: Result, attr: str) -> np.ndarray:
    """Coordinator series summed over areas per step."""
    v = r.array("coordinator", attr)
    return np.nansum(v, axis=1) if v.ndim == 2 else v


def tso_activations(runs: list[Result]) -> Figure:
    """TSO flexibility need vs activation, and activations blocked by the traffic light."""
    fig = Figure(figsize=(9, 4.6), layout="constrained")
    ax_a, ax_b = fig.subplots(2, 1, sharex=True, height_ratios=(2, 1))
    for i, r in enumerate(runs):
        h = _hours(r)
        if r.has("coordinator", "tso_need_mw"):
            ax_a.step(h, 1e3 * _summed(r, "tso_need_mw"), where="post", color=f"C{i}", ls="--", label=f"{r.label} need")
        if r.has("coordinator", "tso_activated_mw"):
            ax_a.step(h, 1e3 * _summed(r, "tso_activated_mw"), where="post", color=f"C{i}", label=f"{r.label} activated")
        for attr, marker in (("blocked_by_traffic_light", "v"), ("dso_violations", "x"), ("double_activations", "D")):
            if r.has("coordinator", attr):
                n = _summed(r, attr)
                idx = n > 0
                if idx.any():
                    ax_b.scatter(h[idx], n[idx], marker=marker, color=f"C{i}", label=f"{r.label} {attr.replace('_', ' ')}")
    ax_a.set_ylabel("power [kW]")
    ax_a.set_title("TSO flexibility need and activation")
    _legend(ax_a, loc="best", ncol=2)
    ax_b.set_ylabel("count per step [1]")
    ax_b.set_title("blocked (v), DSO violations (x), double activations (D)")
    _time_axis(ax_b)
    _legend(ax_b, loc="best", ncol=2)
    _note_if_empty(ax_b, "none")
    return fig


@dataclass(frozen=True)
class FigureSpec:
    """One report figure: file name, caption, requirements (any one suffices)."""

    name: str
    caption: str
    any_of: tuple[str, ...]
    func: Callable[[list[Result]], Figure]


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("voltage_heatmap", "Bus voltages (time x bus) and envelope with the EN 50160 +/-10 % band", ("grid/vm_pu",), voltage_heatmap),
    FigureSpec("loading_duration", "Line and transformer loading duration curves", ("grid/line_loading_percent", "grid/trafo_loading_percent"), loading_duration),
    FigureSpec("pcc_exchange", "Exchange with the upstream grid at the PCC", ("grid/ext_grid_p_mw",), pcc_exchange),
    FigureSpec("market", "Local market prices and volumes", ("market/price_eur_per_mwh", "market/traded_mwh"), market),
    FigureSpec("soc_envelopes", "Battery and EV state-of-charge envelopes", ("household/battery_soc_mwh", "household/ev_soc_mwh"), soc_envelopes),
    FigureSpec("ict", "ICT latency CDF and message loss over time", ("events/messages", "ict/lost", "ict/lost_total"), ict),
    FigureSpec("tso_activations", "TSO activations and traffic-light blocking", ("coordinator/tso_need_mw", "coordinator/tso_activated_mw"), tso_activations),
)


def render(spec: FigureSpec, runs: list[Result], out_dir: Path) -> Path | None:
    """Draw one figure into ``out_dir/<name>.png``; ``None`` if no run has its data."""
    usable = [r for r in runs if any(available(r, req) for req in spec.any_of)]
    if not usable:
        logger.info("figure %s skipped: none of %s recorded", spec.name, spec.any_of)
        return None
    with rc_context(STYLE):
        fig = spec.func(usable)
        path = Path(out_dir) / f"{spec.name}.png"
        fig.savefig(path)
    return path
