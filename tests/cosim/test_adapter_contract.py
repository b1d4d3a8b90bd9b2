"""One contract test over every mosaik adapter (and the recorder).

Checks against the mosaik API itself: META parses with mosaik's own model
description parser, ``init`` returns it, ``create`` yields the one entity
(id = model name), ``step`` returns an int >= time (or None for
event-driven simulators with nothing pending), ``get_data`` returns a dict per
entity. Checks against the adapter's own declarations (``ATTRS``): META,
``series_meta`` (units, entity labels, array lengths) and the generated
attribute tables of docs/ARCHITECTURE.md agree with them, and the README
names only declared attributes. Receivers' declared decision schedules agree
with the times they actually step at. The rooms import only what
docs/ARCHITECTURE.md allows.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simulators import catalog
from simulators.common.adapter import ROLES, Adapter

ROOT = Path(__file__).resolve().parents[2]
GRID = {"simbench": "1-LV-rural1--0-sw"}
COMMON = dict(grid=GRID, start="2016-06-01T00:00:00", step_s=900, n_steps=4, seed=1)
#: (name in catalog, extra init params); a name may appear with several configurations.
CASES = [
    ("grid", {}),
    ("household", {"config": {"policy": "market", "pv": {"share": 0.5}, "battery": {"share": 0.3}},
                   "auth_seed": 3}),
    ("market", {"config": {"mechanism": "pay_as_clear"}, "auth_seed": 3}),
    ("market", {"config": {"mechanism": "dlmp"}, "auth_seed": 3}),
    ("market", {"config": {"mechanism": "lfm"}, "auth_seed": 3}),
    ("ict", {"config": {"technologies": {"lte": 1.0}}}),
    ("coordinator", {"config": {"scheme": "local"}}),
    ("ledger", {"config": {"preset": "authority"}, "gates": {"period_s": 900, "offsets_s": [600]}}),
]
IDS = [f"{n}-{p.get('config', {}).get('mechanism', '')}".rstrip("-") for n, p in CASES]


def _started(name, params):
    sim = catalog.adapter_class(name)()
    meta = sim.init("S-0", 0.001, **COMMON, **params)
    return sim, meta


_FRESH: dict[int, tuple] = {}


def _fresh(i: int):
    """Case ``i`` initialised and never stepped, shared by the read-only tests."""
    if i not in _FRESH:
        _FRESH[i] = _started(*CASES[i])
    return _FRESH[i]


def test_catalog_lists_every_adapter_the_world_starts():
    from cosim.world import SIM_CONFIG

    started = {c["python"] for c in SIM_CONFIG.values()} - {"cosim.recorder:RecorderSim"}
    assert started == set(catalog.ADAPTERS.values())
    assert {n for n, _ in CASES} == set(catalog.ADAPTERS)


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_adapter_contract(name, params):
    cls = catalog.adapter_class(name)
    assert issubclass(cls, Adapter)
    sim, meta = _started(name, params)
    model = cls.MODEL
    assert meta["api_version"].startswith("3.")
    assert meta["type"] in ("time-based", "event-based", "hybrid")
    assert list(meta["models"]) == [model]
    _parse_with_mosaik(meta)
    entities = sim.create(1, model)
    assert entities == [{"eid": model, "type": model}]
    with pytest.raises(ValueError, match="exactly one"):
        sim.create(2, model)
    nxt = sim.step(0, {}, 10**9)
    assert nxt is None or (isinstance(nxt, (int, np.integer)) and nxt >= 0)
    outputs = [a.name for a in cls.ATTRS if a.role in ("series", "output", "event")]
    data = sim.get_data({model: outputs})
    assert set(data) == {model} and isinstance(data[model], dict)
    assert set(data[model]) <= set(outputs)
    for a in cls.ATTRS:  # buffered outputs are sent only with records in them
        if a.role in ("output", "event") and a.name in data[model]:
            assert len(data[model][a.name]) > 0, a.name
    series = sim.series_meta()
    assert isinstance(series, dict) and series
    for attr, m in series.items():
        assert isinstance(m["unit"], str) and m["unit"] and isinstance(m["entities"], list)
        if attr in data[model] and m["entities"]:
            assert np.shape(data[model][attr])[-1] == len(m["entities"]), attr
    for tname, df in sim.static_tables().items():
        assert isinstance(tname, str) and isinstance(df, pd.DataFrame)
    if nxt is not None:
        nxt2 = sim.step(nxt, {}, 10**9)
        assert nxt2 is None or nxt2 > nxt


@pytest.mark.parametrize("i", range(len(CASES)), ids=IDS)
def test_meta_and_series_meta_come_from_the_declarations(i):
    name, _ = CASES[i]
    cls = catalog.adapter_class(name)
    sim, meta = _fresh(i)
    declared = {a.name: a for a in cls.ATTRS}
    assert len(declared) == len(cls.ATTRS), "an attribute is declared twice"
    assert all(a.role in ROLES and a.description for a in cls.ATTRS)
    desc = meta["models"][cls.MODEL]
    assert desc["attrs"] == [a.name for a in cls.ATTRS]
    from mosaik.async_scenario import parse_attrs

    measure_in, trigger_in, persistent, events = parse_attrs(desc, meta["type"])
    roles = lambda *r: {a.name for a in cls.ATTRS if a.role in r}  # noqa: E731
    assert set(trigger_in) == roles("trigger")
    assert set(events) == roles("output", "event")
    assert roles("series") <= set(persistent)
    series = sim.series_meta()
    assert set(series) <= roles("series")
    labels = sim.entity_labels()
    for attr, m in series.items():
        a = declared[attr]
        assert m["unit"] == a.unit, attr
        assert m["entities"] == (list(labels[a.entity]) if a.entity else []), attr


def test_market_offers_exactly_the_outputs_of_its_mechanism():
    from simulators.market import flexmarket as fm
    from simulators.market.operator import SCALARS

    offered = {CASES[i][1]["config"]["mechanism"]: set(_fresh(i)[0].series_meta()) for i in (2, 3, 4)}
    assert set(offered) == {"pay_as_clear", "dlmp", "lfm"}
    base = set(SCALARS) | {"bill_eur", "bill_open_eur", "bill_tariff_eur", "imbalance_mwh", "retailer_eur",
                           "operator_eur"}
    assert offered["pay_as_clear"] == base
    assert offered["dlmp"] == base | set(fm.BUS_SERIES) | set(fm.DLMP_SCALARS)
    assert offered["lfm"] == base | set(fm.LFM_SCALARS) | {"traffic_light"}
    # the flex market keeps unit hints beside its names: they must match the declarations
    declared = {a.name: a.unit for a in catalog.adapter_class("market").ATTRS}
    for attr, unit in {**fm.DLMP_SCALARS, **fm.LFM_SCALARS}.items():
        assert declared[attr] == unit, attr


# ------------------------------------------------------------- decision schedules
def _decision_ms(schedule: dict, horizon_ms: int) -> set[int]:
    period = schedule["period_s"] * 1000
    return {k * period + (o * 1000) % period for k in range(horizon_ms // period + 2)
            for o in schedule["offsets_s"]}


@pytest.mark.parametrize("name, params", [
    ("household", CASES[1][1]),
    ("market", {"config": {"mechanism": "pay_as_clear", "gate_closure_s": 300}}),
    ("market", {"config": {"mechanism": "pay_as_clear", "gate_closure_s": 0}}),
    ("coordinator", {"config": {"scheme": "local", "activation_lead_s": 120}}),
    ("coordinator", {"config": {"scheme": "local", "activation_lead_s": 900}}),
    ("coordinator", {"config": {"scheme": "local", "activation_lead_s": 1200}}),  # longer than step_s
], ids=["household", "market-gc300", "market-gc0", "coord-lead120", "coord-lead900", "coord-lead1200"])
def test_receivers_step_exactly_at_their_declared_decision_times(name, params):
    sim, _ = _started(name, params)
    sim.create(1, sim.MODEL)
    schedule = sim.decision_schedule()
    assert set(schedule) == {"period_s", "offsets_s"}
    assert all(0 <= o <= schedule["period_s"] for o in schedule["offsets_s"])
    horizon_ms = COMMON["n_steps"] * COMMON["step_s"] * 1000
    points = _decision_ms(schedule, horizon_ms)
    t, steps = 0, []
    while (t := sim.step(t, {}, 10**12)) is not None:
        steps.append(int(round(t * sim.tick_ms)))
    assert steps, "a receiver must step at its decision times"
    assert set(steps) <= points, f"steps {steps} off the declared schedule {schedule}"


def test_adapters_without_messages_declare_no_schedule():
    sim, _ = _started("grid", {})
    assert sim.decision_schedule() is None


def test_world_knows_no_market_or_coordinator_parameter():
    text = (ROOT / "cosim" / "world.py").read_text(encoding="utf-8")
    for param in ("gate_closure_s", "activation_lead_s", "sc.market.", "sc.coordinator."):
        assert param not in text, param


# ------------------------------------------------------------------ docs
def test_architecture_attribute_tables_are_generated_from_the_declarations():
    path = ROOT / "docs" / "ARCHITECTURE.md"
    text = path.read_text(encoding="utf-8")
    for name in catalog.ADAPTERS:
        assert f"<!-- attributes:{name} -->" in text, name
    assert catalog.render_docs(text) == text, (
        "docs/ARCHITECTURE.md is out of date: run python -m simulators.catalog docs/ARCHITECTURE.md")


def test_readme_names_only_declared_attributes():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (grid|household|ict|market|ledger|coordinator) \|([^|]*)\|([^|]*)\|$", text, re.M)
    assert {r[0] for r in rows} == set(catalog.ADAPTERS)
    for name, series_col, events_col in rows:
        attrs = catalog.adapter_class(name).ATTRS
        series = {a.name for a in attrs if a.role == "series"}
        events = {a.name[len("events_"):] for a in attrs if a.role == "event"}
        named = set(re.findall(r"`(\w+)`", series_col))
        assert named and named <= series, (name, named - series)
        assert set(re.findall(r"`(\w+)`", events_col)) <= events, name


# ------------------------------------------------------------------ rooms
def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
    return out


def test_rooms_import_only_what_they_may():
    sims = sorted(p.name for p in (ROOT / "simulators").iterdir()
                  if p.is_dir() and (p / "__init__.py").exists() and p.name != "common")
    for sim in sims:
        for path in (ROOT / "simulators" / sim).glob("*.py"):
            mods = _imports(path)
            others = {m for m in mods if m.startswith("simulators.") and m.split(".")[1] not in (sim, "common")}
            assert not others, f"{path.relative_to(ROOT)} imports another simulator: {others}"
            assert not any(m.startswith("cosim") for m in mods), path
            if path.name != "mosaik.py":
                assert not any(m.split(".")[0] in ("mosaik", "mosaik_api_v3") for m in mods), path
        adapter = (ROOT / "simulators" / sim / "mosaik.py").read_text(encoding="utf-8")
        assert len(adapter.splitlines()) < 200, f"{sim}/mosaik.py is not thin"
        assert "__main__" not in adapter, f"{sim}/mosaik.py cannot run as a separate process"
    for path in (ROOT / "simulators" / "common").glob("*.py"):
        mods = _imports(path)
        assert not any(m.startswith(("simulators.", "cosim")) and not m.startswith("simulators.common")
                       for m in mods), path
    for path in (ROOT / "cosim").glob("*.py"):
        for m in _imports(path):
            parts = m.split(".")
            if parts[0] == "simulators" and len(parts) > 2 and parts[1] != "common":
                assert parts[2] == "schema", f"{path.relative_to(ROOT)} imports {m}"


def _parse_with_mosaik(meta):
    """mosaik's own check of attrs / trigger / persistent lists (raises ValueError)."""
    from mosaik.async_scenario import parse_attrs

    for desc in meta["models"].values():
        parse_attrs(desc, meta["type"])


def test_recorder_contract(tmp_path):
    from cosim.recorder import HDF5Sink, RecorderSim

    sink = HDF5Sink(tmp_path / "r.h5", {}, chunk_steps=2)
    sim = RecorderSim()
    meta = sim.init("R", 0.001, sink=sink, step_s=900, sources={"Grid-0.grid": "grid"},
                    event_attrs=["events_trades"])
    _parse_with_mosaik(meta)
    (e,) = sim.create(1, "Recorder")
    assert sim.step(0, {e["eid"]: {"pl_mw": {"Grid-0.grid": 0.1}}}, 10**9) == 900_000
    assert sim.step(5, {e["eid"]: {}}, 10**9) is None  # event-only step: no new row
    assert sim.get_data({}) == {}
    sink.close("complete")
