"""Small, fully valid result files for tests, notebooks and demos.

:func:`write_result` writes exactly the arrays it is given in the documented
HDF5 layout (so tests can hand-compute every KPI); :func:`make_result` builds a
plausible small run (radial LV feeder, households with PV/battery/EV/heat
pump, a local market, an ICT network and a TSO-DSO coordinator) from a seed.
The numbers are illustrative, not a physical simulation: use ``cosim run``
for studies.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from simulators.common.messages import MESSAGE_DTYPE, Kind, Status, empty, make_ids

#: One series: (values [time] or [time, entity], unit, entity labels).
SeriesSpec = tuple[np.ndarray, str, list[str]]

def write_result(
    path: str | Path,
    time_s: np.ndarray,
    series: dict[str, dict[str, SeriesSpec]],
    *,
    static: dict[str, dict[str, dict[str, np.ndarray | list]]] | None = None,
    events: dict[str, np.ndarray] | None = None,
    attrs: dict[str, object] | None = None,
    chunk_steps: int | None = None,
) -> Path:
    """Write a result file in the documented layout, with the recorder's own writer.

    Every dataset is written by the functions of :mod:`cosim.recorder` that
    ``cosim run`` uses, so a synthetic file has exactly the layout, dtypes
    (series as float64 or bool) and attributes of a recorded one.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file (overwritten).
    time_s : numpy.ndarray
        Seconds since start of every step [s].
    series : dict
        ``{sim: {attr: (values, unit, entities)}}``.
    static : dict, optional
        ``{sim: {table: {column: values}}}``.
    events : dict, optional
        ``{name: structured array}``.
    attrs : dict, optional
        Root attributes overriding the defaults (``start``
        2016-06-01T00:00:00, ``step_s`` 900, ``status`` complete, ...);
        ``layout_version`` too, to write a file a reader must refuse.
    chunk_steps : int, optional
        Rows per HDF5 chunk (``output.chunk_steps`` of a run); default: all
        rows in one chunk.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    from cosim.recorder import (append_rows, create_events, create_series, create_time, series_dtype,
                                write_root_attrs, write_static_table)

    path = Path(path)
    time_s = np.asarray(time_s, dtype=np.int64)
    root = {
        "cosim_version": "0.0.0+synthetic",
        "scenario_yaml": "name: synthetic\n",
        "scenario_sha256": "0" * 64,
        "seed": 0,
        "start": "2016-06-01T00:00:00",
        "step_s": 900,
        "packages": json.dumps({"analysis.synthetic": "1"}),
        "status": "complete",
        "error": "",
        "wall_time_s": 1.0,
        "n_steps_done": int(len(time_s)),
    }
    root.update(attrs or {})
    chunk = max(len(time_s), 1) if chunk_steps is None else int(chunk_steps)
    with h5py.File(path, "w") as f:
        write_root_attrs(f, {k: v for k, v in root.items() if v is not None})
        if "layout_version" in root:  # a deliberately foreign version, for reader tests
            f.attrs["layout_version"] = root["layout_version"]
        append_rows(create_time(f, chunk), time_s)
        f.require_group("series")
        for sim, attrs_ in series.items():
            for attr, (values, unit, entities) in attrs_.items():
                values = np.asarray(values)
                ds = create_series(f, sim, attr, values.shape[1:], series_dtype(values), unit, entities,
                                   chunk, "gzip", 1)
                append_rows(ds, values)
        f.require_group("static")
        for sim, tables in (static or {}).items():
            for table, columns in tables.items():
                write_static_table(f, sim, table, columns)
        f.require_group("events")
        for name, table in (events or {}).items():
            append_rows(create_events(f, name, table.dtype, "gzip"), table)
    return path


#: Record of ``/events/messages`` (the ICT adapter's message log).
MESSAGE_LOG_DTYPE = np.dtype([
    ("msg_id", np.int64), ("kind", np.int8), ("sender", np.int32), ("receiver", np.int32),
    ("send_ms", np.int64), ("arrival_ms", np.int64), ("status", np.int8),
    ("latency_ms", np.float64), ("forged", np.bool_),
])

TRADE_DTYPE = np.dtype(
    [
        ("interval_s", np.int64),
        ("buyer", np.int32),
        ("seller", np.int32),
        ("quantity_mwh", np.float64),
        ("price_eur_per_mwh", np.float64),
    ]
)

ACTIVATION_DTYPE = np.dtype(
    [("interval_s", np.int64), ("agent", np.int32), ("buyer", np.int8), ("quantity_mwh", np.float64)]
)


def make_result(
    path: str | Path,
    *,
    n_steps: int = 96,
    step_s: int = 900,
    n_households: int = 12,
    n_feeder_buses: int = 6,
    pv_kwp: float = 6.0,
    seed: int = 0,
    include: tuple[str, ...] = ("grid", "household", "market", "ict", "coordinator"),
    wall_time_s: float = 12.0,
    latency_median_ms: float = 80.0,
    loss_share: float = 0.02,
    gate_margin_ms: float = 400.0,
) -> Path:
    """Write a plausible small result file with every simulator group.

    Parameters
    ----------
    path : str or pathlib.Path
        Output file.
    n_steps : int
        Recorded steps (96 x 900 s = one day).
    step_s : int
        Step length [s].
    n_households : int
        Households, spread over the feeder buses.
    n_feeder_buses : int
        LV buses of the radial feeder (besides the MV and LV busbars).
    pv_kwp : float
        PV peak power per household [kWp]; raise it to provoke reverse flow
        and over-voltage.
    seed : int
        Seed of the ``numpy.random.Generator``; same seed, same file.
    include : tuple of str
        Simulators to write (any of grid, household, market, ict, coordinator).
    wall_time_s : float
        Root attribute ``wall_time_s`` [s].
    latency_median_ms : float
        Median of the lognormal message latency [ms] (sigma 0.6).
    loss_share : float
        Probability that a message is lost [1].
    gate_margin_ms : float
        Orders arriving later than this after sending miss gate closure [ms].

    Returns
    -------
    pathlib.Path
        The written file.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_steps, dtype=np.int64) * step_s
    dt_h = step_s / 3600.0
    hour = (t / 3600.0) % 24.0
    hh = [f"hh{i}" for i in range(n_households)]
    # -- households (consumer reference: +p = consumption) [MW]
    base = 1e-3 * (0.3 + 0.5 * np.exp(-((hour - 19.0) ** 2) / 6.0) + 0.2 * np.exp(-((hour - 7.5) ** 2) / 2.0))
    load = base[:, None] * rng.uniform(0.6, 1.4, (n_steps, n_households))
    sun = np.clip(np.sin(np.pi * (hour - 6.0) / 14.0), 0.0, None)  # daylight 06:00-20:00
    has_pv = rng.uniform(size=n_households) < 0.6  # 60 % of households own PV (illustrative)
    pv_avail = 1e-3 * pv_kwp * 0.8 * sun[:, None] * rng.uniform(0.7, 1.0, (n_steps, n_households)) * has_pv
    cap_mwh, bat_mw = 10e-3, 5e-3  # 10 kWh / 5 kW home battery
    soc = np.empty((n_steps, n_households))
    bat = np.empty((n_steps, n_households))
    s = np.full(n_households, 0.5 * cap_mwh)
    for k in range(n_steps):  # greedy self-consumption battery, vectorised over households
        want = np.clip(pv_avail[k] - load[k], -bat_mw, bat_mw)  # + charge
        charge = np.where(want > 0, np.minimum(want, (cap_mwh - s) / dt_h), np.maximum(want, -s / dt_h))
        s = s + charge * dt_h
        bat[k], soc[k] = charge, s
    ev_plugged = (hour >= 18.0) | (hour < 6.0)
    ev = np.where(ev_plugged[:, None], 3.7e-3 * (rng.uniform(size=(n_steps, n_households)) < 0.4), 0.0)
    ev_soc = np.clip(0.02 + np.cumsum(ev * dt_h, axis=0), 0.0, 0.06)
    hp = 1e-3 * (0.5 + 0.5 * np.cos(2 * np.pi * hour / 24.0))[:, None] * np.ones((1, n_households))
    curtail = np.clip(pv_avail - 4.6e-3, 0.0, None)  # 4.6 kW feed-in limit
    pv = pv_avail - curtail
    p = load + bat + ev + hp - pv
    series: dict[str, dict[str, SeriesSpec]] = {}
    if "household" in include:
        series["household"] = {
            "p_mw": (p, "MW", hh),
            "pv_p_mw": (pv, "MW", hh),
            "pv_curtailed_mw": (curtail, "MW", hh),
            "battery_p_mw": (bat, "MW", hh),
            "battery_soc_mwh": (soc, "MWh", hh),
            "ev_p_mw": (ev, "MW", hh),
            "ev_soc_mwh": (ev_soc, "MWh", hh),
            "hp_p_mw": (hp, "MW", hh),
            "indoor_temp_c": (20.5 + 0.5 * rng.standard_normal((n_steps, n_households)), "degC", hh),
        }
    # -- radial feeder: MV bus 0 -trafo- LV busbar 1 - line - 2 - ... [linearised]
    n_bus = n_feeder_buses + 2
    buses = ["MV"] + [f"LV{i}" for i in range(n_bus - 1)]
    hh_bus = 2 + np.arange(n_households) % n_feeder_buses
    bus_p = np.zeros((n_steps, n_bus))
    np.add.at(bus_p.T, hh_bus, p.T)
    downstream = np.cumsum(bus_p[:, ::-1], axis=1)[:, ::-1]  # flow into bus b from b-1 [MW]
    line_p = downstream[:, 2:]  # lines (b-1 -> b), b = 2..n_bus-1
    r_pu_per_mw = 0.035  # voltage drop per MW of flow per section (illustrative)
    vm = np.ones((n_steps, n_bus))
    vm[:, 1] = 1.0 - 0.5 * r_pu_per_mw * downstream[:, 1] * 10
    vm[:, 2:] = vm[:, [1]] - np.cumsum(r_pu_per_mw * 10 * line_p, axis=1)
    max_i_ka = 0.1
    line_i = np.abs(line_p) / (np.sqrt(3) * 0.4 * vm[:, 2:])
    losses = 0.03 * np.sum(line_p**2, axis=1) * 10 + 0.002
    ext = downstream[:, 1] + losses
    if "grid" in include:
        lines = [f"line{i}" for i in range(n_feeder_buses)]
        series["grid"] = {
            "vm_pu": (vm, "pu", buses),
            "va_degree": (-2.0 * (1.0 - vm), "degree", buses),
            "line_loading_percent": (100.0 * line_i / max_i_ka, "percent", lines),
            "line_p_from_mw": (line_p, "MW", lines),
            "line_i_ka": (line_i, "kA", lines),
            "trafo_loading_percent": (100.0 * np.abs(ext)[:, None] / 0.16, "percent", ["trafo0"]),
            "trafo_p_hv_mw": (ext[:, None], "MW", ["trafo0"]),
            "ext_grid_p_mw": (ext[:, None], "MW", ["ext_grid0"]),
            "ext_grid_q_mvar": (0.1 * ext[:, None], "Mvar", ["ext_grid0"]),
            "pl_mw": (losses, "MW", []),
            "pf_converged": (np.ones(n_steps, dtype=bool), "1", []),
        }
    static = {
        "grid": {
            "bus": {"name": buses, "vn_kv": [20.0] + [0.4] * (n_bus - 1)},
            "line": {
                "name": [f"line{i}" for i in range(n_feeder_buses)],
                "from_bus": np.arange(1, n_bus - 1),
                "to_bus": np.arange(2, n_bus),
                "max_i_ka": np.full(n_feeder_buses, max_i_ka),
            },
            "trafo": {"name": ["trafo0"], "sn_mva": [0.16]},
        },
        "household": {"household": {"name": hh, "bus": hh_bus}},
    }
    events: dict[str, np.ndarray] = {}
    # -- market: local trades between surplus and deficit households [MWh]
    if "market" in include:
        e = p * dt_h
        supply = np.sum(np.clip(-e, 0, None), axis=1)
        demand = np.sum(np.clip(e, 0, None), axis=1)
        traded = np.minimum(supply, demand)
        price = np.where(traded > 0, 60.0 + 40.0 * rng.uniform(size=n_steps), np.nan)
        retail_in, retail_out = demand - traded, supply - traded
        # bill: retail 300 EUR/MWh for imports, 80 EUR/MWh feed-in (illustrative tariff)
        bill = np.clip(e, 0, None) * 300.0 - np.clip(-e, 0, None) * 80.0
        # local trades: the traded share of each import/export is settled at the local price instead
        share_buy = np.divide(traded, demand, out=np.zeros(n_steps), where=demand > 0)[:, None]
        share_sell = np.divide(traded, supply, out=np.zeros(n_steps), where=supply > 0)[:, None]
        p_loc = np.nan_to_num(price)[:, None]
        local_gain = (np.clip(e, 0, None) * share_buy * (300.0 - p_loc)
                      + np.clip(-e, 0, None) * share_sell * (p_loc - 80.0))
        bill = bill - local_gain
        series["market"] = {
            "price_eur_per_mwh": (price, "EUR/MWh", []),
            "traded_mwh": (traded, "MWh", []),
            "retail_import_mwh": (retail_in, "MWh", []),
            "retail_export_mwh": (retail_out, "MWh", []),
            "welfare_eur": (traded * (300.0 - np.nan_to_num(price)) * 0.5, "EUR", []),
            "market_status": (np.where(traded > 0, 1, 0).astype(np.int8), "1", []),
            "orders_received": (np.full(n_steps, n_households), "1", []),
            "orders_late": (rng.poisson(0.2, n_steps), "1", []),
            "orders_rejected_auth": (np.zeros(n_steps, dtype=np.int64), "1", []),
            "trades_curtailed": (rng.poisson(0.1, n_steps), "1", []),
            # bills are running totals, as the market records them
            "bill_eur": (np.cumsum(bill, axis=0), "EUR", hh),
            # tariff-only settlement of the same energy: every import at 300, export at 80 EUR/MWh
            "bill_tariff_eur": (np.cumsum(bill + local_gain, axis=0), "EUR", hh),
            "curtailed_mwh": (np.zeros(n_steps), "MWh", []),
            "local_share_of_demand": (np.divide(traded, demand, out=np.zeros(n_steps), where=demand > 0), "1", []),
        }
        idx = np.nonzero(traded > 0)[0]
        tr = np.zeros(idx.size, dtype=TRADE_DTYPE)
        tr["interval_s"] = t[idx]
        tr["buyer"] = rng.integers(0, n_households, idx.size)
        tr["seller"] = rng.integers(0, n_households, idx.size)
        tr["quantity_mwh"] = traded[idx]
        tr["price_eur_per_mwh"] = price[idx]
        events["trades"] = tr
    # -- ICT: one order per household and step, lognormal latency, 2 % loss
    if "ict" in include:
        m = empty(n_steps * n_households)
        sender = np.tile(np.arange(n_households), n_steps)
        m["msg_id"] = make_ids(sender, np.repeat(np.arange(n_steps), n_households))
        m["kind"] = np.where(p.ravel() > 0, Kind.BID, Kind.OFFER)
        m["sender"], m["receiver"] = sender, -1
        m["interval_s"] = np.repeat(t + step_s, n_households)
        m["send_ms"] = np.repeat(t * 1000, n_households)
        lat = rng.lognormal(np.log(latency_median_ms), 0.6, m.size)  # illustrative, not a measured profile
        lost = rng.uniform(size=m.size) < loss_share
        late = ~lost & (lat > gate_margin_ms)
        m["status"] = np.where(lost, Status.LOST, np.where(late, Status.LATE, Status.DELIVERED))
        m["arrival_ms"] = np.where(lost, -1, m["send_ms"] + np.round(lat).astype(np.int64))
        latency = np.where(lost, np.nan, lat)
        msgs = np.zeros(m.size, dtype=MESSAGE_LOG_DTYPE)
        for name in MESSAGE_LOG_DTYPE.names:
            if name in MESSAGE_DTYPE.names:
                msgs[name] = m[name]
        msgs["latency_ms"] = np.where(lost, np.nan, lat)
        events["messages"] = msgs
        per_step = lambda x: x.reshape(n_steps, n_households)  # noqa: E731
        running = lambda x: np.cumsum(np.sum(per_step(x), axis=1)).astype(np.float64)  # noqa: E731
        series["ict"] = {  # running totals since the start, as the ICT adapter records them
            "sent_total": (running(np.ones(m.size, bool)), "1", []),
            "delivered_total": (running(~lost), "1", []),
            "lost_total": (running(lost), "1", []),
            "dropped_outage_total": (np.zeros(n_steps), "1", []),
            "late_total": (running(late), "1", []),
            "forged_total": (np.zeros(n_steps), "1", []),
        }
        if "market" in series:  # the market sees exactly the orders the ICT model delivered late
            series["market"]["orders_late"] = (np.sum(per_step(late), axis=1), "1", [])
    # -- coordinator: TSO need, traffic light per area, activations
    if "coordinator" in include:
        need = np.where(rng.uniform(size=n_steps) < 0.25, rng.uniform(0.005, 0.02, n_steps), 0.0)
        light = np.where(vm[:, 2:].min(axis=1) < 0.93, 2, np.where(vm[:, 2:].min(axis=1) < 0.96, 1, 0))
        blocked = (light == 2) & (need > 0)
        act = np.where(blocked, 0.0, need * rng.uniform(0.6, 1.0, n_steps))
        share = np.divide(act, need, out=np.full(n_steps, np.nan), where=need > 0)
        series["coordinator"] = {
            "tso_need_mw": (need, "MW", []),
            "tso_activated_mw": (act[:, None], "MW", ["area0"]),
            "tso_need_met_share": (share, "1", []),
            "dso_violations": ((act > 0) & (light == 1) & (rng.uniform(size=n_steps) < 0.3), "1", []),
            "blocked_by_traffic_light": (blocked.astype(np.int64), "1", []),
            "double_activations": (np.zeros(n_steps, dtype=np.int64), "1", []),
            "traffic_light": (light[:, None].astype(np.int8), "1", ["area0"]),
            "cost_tso_eur": (act * dt_h * 120.0, "EUR", []),
            "cost_dso_eur": (np.zeros(n_steps), "EUR", []),
        }
        idx = np.nonzero(act > 0)[0]
        acts = np.zeros(idx.size, dtype=ACTIVATION_DTYPE)
        acts["interval_s"], acts["agent"], acts["buyer"] = t[idx], -100, 3
        acts["quantity_mwh"] = act[idx] * dt_h
        events["activations"] = acts
    attrs = {"step_s": step_s, "seed": seed, "wall_time_s": wall_time_s, "n_steps_done": n_steps}
    return write_result(path, t, series, static=static, events=events, attrs=attrs)
