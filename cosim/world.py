"""Scenario -> mosaik World: start simulators, create entities, connect, run.

This module knows which simulators exist and how their attributes connect
(see docs/ARCHITECTURE.md), but no physics or market logic: adapters are
named by import string only.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import signal
import time as _time
import traceback
import warnings
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path
from typing import Callable

import numpy as np

from simulators.common.inbox import Inbox

from .config import Scenario, scenario_sha256
from .errors import RecorderWriteError, RunFailed, RunInterrupted, ScenarioError
from .recorder import HDF5Sink, package_versions, source_commit

log = logging.getLogger(__name__)

TIME_RESOLUTION = 0.001  # one tick = 1 ms (ICT latencies)
SIM_CONFIG = {
    "Grid": {"python": "simulators.grid.mosaik:GridSim"},
    "Households": {"python": "simulators.household.mosaik:HouseholdSim"},
    "Ict": {"python": "simulators.ict.mosaik:IctSim"},
    "Market": {"python": "simulators.market.mosaik:MarketSim"},
    "Ledger": {"python": "simulators.ledger.mosaik:LedgerSim"},
    "Coordinator": {"python": "simulators.coordinator.mosaik:CoordinatorSim"},
    "Recorder": {"python": "cosim.recorder:RecorderSim"},
}
#: Order in which the scenario seed is split; appending keeps old seeds stable.
SEED_ORDER = ("grid", "household", "ict", "market", "coordinator", "auth")


@dataclass
class RunControl:
    """Shared between the CLI (signal handlers) and the running world."""

    stop_requested: bool = False
    stop_reason: str = ""
    on_progress: Callable[[float, int], None] | None = None


@dataclass
class RunSummary:
    path: Path
    status: str
    steps: int
    wall_time_s: float
    headline: dict = field(default_factory=dict)
    setup_s: float = 0.0


def master_secret(scenario: Scenario) -> bytes:
    """Secret of the order authentication: the scenario's key file, else OS randomness.

    Tags are not recorded, so the same seed still gives the same ``/series``
    and ``/events`` whatever the secret.
    """
    from simulators.common.auth import new_master_secret, read_key_file

    if scenario.auth_key_file is not None:
        return read_key_file(scenario.auth_key_file)
    return new_master_secret()


def split_seeds(seed: int) -> dict[str, int]:
    """Independent per-simulator seeds from the scenario seed."""
    children = np.random.SeedSequence(seed).spawn(len(SEED_ORDER))
    return {name: int(c.generate_state(1, dtype=np.uint64)[0] >> 1) for name, c in zip(SEED_ORDER, children)}


def _quiet_mosaik() -> None:
    """Silence mosaik's loguru records unless ``logging`` is at INFO or below.

    ``logger.disable`` (as loguru advises for libraries), never
    ``logger.remove()``: a user's own loguru handlers stay in place.
    """
    try:
        from loguru import logger
    except ImportError:  # pragma: no cover - mosaik depends on loguru
        return
    verbose = logging.getLogger().getEffectiveLevel() <= logging.INFO
    for name in ("mosaik", "mosaik_api_v3"):
        (logger.enable if verbose else logger.disable)(name)
    if not verbose:
        # the message cycles are closed with time_shifted connections and initial
        # data on purpose (docs/ARCHITECTURE.md); mosaik warns about that wiring
        # on every run, through the warnings module once its logging is off
        warnings.filterwarnings("ignore", category=UserWarning,
                                message=r"(Gave initial data for connection|When connecting .* time_shifted=True)")


def _failing_simulator(exc: BaseException) -> str:
    """Name of the simulator package whose code raised, from the traceback."""
    shared = False
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        parts = Path(frame.filename).parts
        if "simulators" in parts:
            i = parts.index("simulators")
            if i + 1 < len(parts):
                if parts[i + 1] == "common":  # shared helpers: blame their caller
                    shared = True
                    continue
                return parts[i + 1]
        if parts[-1] == "recorder.py":
            return "recorder"
    return "common" if shared else "orchestrator"


class _Builder:
    """Builds the world for one scenario."""

    def __init__(self, scenario: Scenario, sink: HDF5Sink, control: RunControl):
        import mosaik

        from .mosaik_patches import apply as _patch_mosaik

        _patch_mosaik()
        _quiet_mosaik()
        self.sc = scenario
        self.sink = sink
        self.control = control
        self.seeds = split_seeds(scenario.seed)
        # the order-authentication secret is never derived from the seed (which
        # every result stores); the adapters' ``auth_seed`` takes these bytes
        self.auth_secret = master_secret(scenario)
        # configure_logging=False: mosaik would otherwise enable its loguru output
        # itself; whether it shows is decided by _quiet_mosaik (the log level)
        self.world = mosaik.World(SIM_CONFIG, time_resolution=TIME_RESOLUTION, debug=False,
                                  skip_greetings=True, configure_logging=False)
        self.common = dict(grid=scenario.grid_spec(), start=scenario.start.isoformat(),
                           step_s=scenario.step_s, n_steps=scenario.n_steps)
        self.record: list[tuple[str, object, list[str]]] = []  # (sim name, entity, attrs)
        self.sources: dict[str, str] = {}
        self.event_attrs: list[str] = []
        self.ledger = None  # the ledger entity (market.ledger only)
        # receivers of the ICT's hand-overs: what the ICT hands over waits here (see _messages)
        self.inboxes = {} if scenario.ict is None else {n: Inbox() for n in ("household", "market", "coordinator")}

    def _start(self, name: str, sim_key: str, config, **extra) -> object:
        params = dict(self.common, seed=self.seeds[name], **extra)
        if name in self.inboxes:
            params["inbox"] = self.inboxes[name]
        if config is not None:
            params["config"] = config.model_dump(mode="json")
        return self.world.start(sim_key, sim_id=name, **params)

    def _want(self, name: str, sim, available: dict) -> list[str]:
        wanted = self.sc.output.series.get(name, "all")
        attrs = list(available) if wanted == "all" else [a for a in wanted if a in available]
        unknown = [] if wanted == "all" else [a for a in wanted if a not in available]
        if unknown:
            log.warning("output.series.%s: %s not offered; offered: %s", name, unknown, sorted(available))
        for a in attrs:
            self.sink.declare(name, a, available[a])
        return attrs

    def _register(self, name: str, sim, entity) -> None:
        meta = sim.series_meta()
        attrs = self._want(name, sim, meta)
        events = sorted(a for a in getattr(sim, entity.type).output_attrs if a.startswith("events_"))
        attrs += events
        self.event_attrs += [a for a in events if a not in self.event_attrs]
        for table, df in sim.static_tables().items():
            self.sink.write_static(name, table, df)
        self.record.append((name, entity, attrs))
        self.sources[entity.full_id] = name

    def build(self):
        """Start every configured simulator, connect them, attach the recorder."""
        sc, world = self.sc, self.world
        grid_sim = self._start("grid", "Grid", None)
        if sc.grid.pandapower_json is not None and sc.grid.profiles is None:  # the net loaded: say it is flat
            log.warning("grid.pandapower_json: the net has no profiles, so every load and generator runs at its "
                        "nominal value all day; give grid.profiles: PATH (a profile table) or write "
                        "grid.profiles: constant to state it")
        grid = grid_sim.Grid()
        self._register("grid", grid_sim, grid)
        hh = ict = market = coord = None
        receivers: dict[str, object] = {}  # ICT output -> receiving simulator
        if sc.households is not None:
            hh_sim = self._start("household", "Households", sc.households, auth_seed=self.auth_secret,
                                 tariff=sc.tariff.model_dump(mode="json"))
            hh = hh_sim.Households()
            self._register("household", hh_sim, hh)
            receivers["to_households"] = hh_sim
            grid_sim.replace_elements(**hh_sim.modelled_elements())
            world.connect(hh, grid, ("bus_p_mw", "p_mw"), ("bus_q_mvar", "q_mvar"))
            n_bus = len(grid_sim.series_meta()["vm_pu"]["entities"])
            world.connect(grid, hh, "vm_pu", time_shifted=True,
                          initial_data={"vm_pu": np.ones(n_bus)})
            self.hh_buses = hh_sim.static_tables()["households"]["bus"].to_numpy()
        if sc.market is not None:
            agents = {} if hh is None else {"n_agents": len(self.hh_buses)}
            # with a ledger, market and ledger form a mosaik group: the answer goes back weak,
            # at the same instant (see _ledger); without one, nothing changes
            group = world.group("settlement") if sc.ledger is not None else contextlib.nullcontext()
            with group:
                m_sim = self._start("market", "Market", sc.market, auth_seed=self.auth_secret,
                                    tariff=sc.tariff.model_dump(mode="json"), **agents)
                market = m_sim.Market()
                if hh is not None:  # the DSO's state takes the modelled elements from the orders
                    m_sim.replace_elements(**hh_sim.modelled_elements())
                self._register("market", m_sim, market)
                if sc.ledger is not None:
                    self._ledger(m_sim, market)
            receivers["to_market"] = receivers["to_aggregators"] = m_sim
        if sc.coordinator is not None:
            c_sim = self._start("coordinator", "Coordinator", sc.coordinator)
            coord = c_sim.Coordinator()
            self._register("coordinator", c_sim, coord)
            receivers["to_coordinator"] = c_sim
            # no value before the first step: an empty list, because mosaik treats
            # initial_data None as "none given" and then warns (and means to fail in
            # a later version) when the coordinator pulls the edge at t = 0
            if hh is not None:
                world.connect(hh, coord, "bus_p_mw", time_shifted=True, initial_data={"bus_p_mw": []})
            world.connect(grid, coord, "ext_grid_p_mw", time_shifted=True,
                          initial_data={"ext_grid_p_mw": []})
        if sc.ict is not None:
            extra = {}
            if hh is not None:
                extra = dict(households={"bus": self.hh_buses.tolist()}, n_households=len(self.hh_buses))
            ict_sim = self.world.start("Ict", sim_id="ict", **self.common, seed=self.seeds["ict"],
                                       config=sc.ict.model_dump(mode="json"),
                                       schedules={out: sim.decision_schedule() for out, sim in receivers.items()},
                                       **extra)
            ict = ict_sim.Network()
            self._register("ict", ict_sim, ict)
        self._messages(hh, ict, market, coord)
        self._extensions(dict(grid=grid, household=hh, ict=ict, market=market, ledger=self.ledger,
                              coordinator=coord))
        self._recorder()
        return world

    def _ledger(self, m_sim, market) -> None:
        """The ledger simulator (``market.ledger``), in the market's group.

        market ``transactions_out`` -> ledger ``transactions_in`` (trigger) and ledger
        ``answers_out`` -> market ``ledger_in`` (trigger) with ``weak=True``: mosaik
        steps the market a second time at the same instant, so a gate's results
        already know which trades are final. The ledger self-steps at the market's
        declared gate closures (``gates``). Its seed is the market's: the ledger draws
        from the first child of it, as it did while it ran inside the market, so the
        block times (and every result) did not change when it became a simulator.
        """
        sc, world = self.sc, self.world
        l_sim = world.start("Ledger", sim_id="ledger", **self.common, seed=self.seeds["market"],
                            config=sc.ledger.model_dump(mode="json"), gates=m_sim.decision_schedule())
        ledger = self.ledger = l_sim.Ledger()
        self._register("ledger", l_sim, ledger)
        world.connect(market, ledger, ("transactions_out", "transactions_in"))
        world.connect(ledger, market, ("answers_out", "ledger_in"), weak=True)

    def _extensions(self, entities: dict) -> None:
        """The scenario's extra simulators (:mod:`.extensions`); their recorded outputs go to /series/<name>."""
        if not self.sc.simulators:
            return
        from .extensions import join

        for name, entity, series in join(self.world, list(self.sc.simulators), entities):
            for attr, meta in series.items():
                self.sink.declare(name, attr, meta)
            self.record.append((name, entity, list(series)))
            self.sources[entity.full_id] = name

    def _messages(self, hh, ict, market, coord) -> None:
        """Message paths: through the ICT model when configured, else direct.

        Paths into a receiver are time-shifted by one tick (1 ms): this closes
        the household <-> market (<-> ict) loops, as docs/ARCHITECTURE.md says.
        """
        world = self.world
        senders = [e for e in (hh, market, coord) if e is not None]
        if ict is not None:
            for e in senders:
                world.connect(e, ict, ("messages_out", "messages_in"))
            for out_attr, dest, name in (("to_households", hh, "household"), ("to_market", market, "market"),
                                         ("to_coordinator", coord, "coordinator"),
                                         ("to_aggregators", market, "market")):
                if dest is not None:
                    self._connect_handover(ict, dest, out_attr, self.inboxes[name])
            return
        # Without the ICT model every hop still takes one tick (1 ms), exactly
        # as through `ideal` ICT, so both give identical results.
        shifted = dict(time_shifted=True, initial_data={"messages_out": None})
        if hh is not None and market is not None:
            world.connect(hh, market, ("messages_out", "messages_in"), **shifted)
            world.connect(market, hh, ("messages_out", "messages_in"), **shifted)
        if coord is not None:
            if hh is not None:
                world.connect(hh, coord, ("messages_out", "messages_in"), **shifted)
                world.connect(coord, hh, ("messages_out", "messages_in"), **shifted)
            if market is not None:
                world.connect(market, coord, ("messages_out", "messages_in"), **shifted)

    def _connect_handover(self, ict, dest, out_attr: str, inbox) -> None:
        """ICT output -> receiver: staged in the receiver's inbox at every push, no trigger.

        The ICT hands messages over when it receives them, each with the tick
        it is due at the receiver (its next decision point); the connection's
        ``transform`` stages every push in the inbox the receiver was started
        with, and the receiver takes them at its own steps. So neither the ICT
        nor the receiver takes a step for the hand-over. Time-shifted (and so
        with initial data) because the receiver's ``messages_out`` feeds the
        ICT in the same tick; the shift does not delay the staging.
        """
        with warnings.catch_warnings():
            # non-persistent -> non-trigger: the inbox takes every push, not only the last
            warnings.filterwarnings("ignore", message="A connection between the non-persistent")
            self.world.connect(ict, dest, (out_attr, "handover_in"), time_shifted=True,
                               initial_data={out_attr: None}, transform=inbox.push)

    def _recorder(self) -> None:
        world = self.world
        control = self.control
        n_steps = self.sc.n_steps

        def on_step(t_s: float) -> None:
            if control.on_progress is not None:
                control.on_progress(t_s, n_steps)
            if control.stop_requested:
                raise RunInterrupted(control.stop_reason or "stop requested")

        rec_sim = world.start("Recorder", sim_id="recorder", sink=self.sink, step_s=self.sc.step_s,
                              sources=self.sources, event_attrs=self.event_attrs, on_step=on_step)
        rec = rec_sim.Recorder()
        for _name, entity, attrs in self.record:
            series = [a for a in attrs if not a.startswith("events_")]
            if series:
                world.connect(entity, rec, *series)
            for attr in attrs:
                if attr.startswith("events_"):
                    self._connect_events(entity, rec, attr)

    def _connect_events(self, entity, rec, attr: str) -> None:
        """``events_*`` are staged in the sink as mosaik hands them on, without waking the recorder.

        The connection is not a trigger, so the recorder steps once per interval
        only. mosaik keeps one value per connection between two steps of the
        receiver, so the records are taken when mosaik pushes them (the
        connection's ``transform``, called once per push in the order of the
        steps), not when the recorder next steps.
        """
        import warnings

        sink, table = self.sink, attr[len("events_"):]

        def stage(records):
            if records is not None and len(records):
                sink.append_events(table, records)

        with warnings.catch_warnings():
            # mosaik advises against non-persistent -> non-trigger links because the
            # receiver would see only the last value; ``stage`` takes every one
            warnings.filterwarnings("ignore", message="A connection between the non-persistent")
            self.world.connect(entity, rec, attr, transform=stage)


def _headline(path: Path) -> dict:
    """The headline KPIs for the CLI summary (:func:`analysis.kpis.headline`), read back from the result.

    KPIs that do not apply (no grid series, no step recorded) are left out.
    """
    import math

    from analysis.io import load
    from analysis.kpis import headline

    out = {k: v for k, v in headline(load(path)).items() if not math.isnan(v)}
    if "pf_not_converged_steps" in out:
        out["pf_not_converged_steps"] = int(out["pf_not_converged_steps"])
    return out


def run_scenario(scenario: Scenario, yaml_text: str, out: str | Path,
                 control: RunControl | None = None) -> RunSummary:
    """Run one scenario to ``out`` (HDF5).

    The result path is locked first (a second run into it raises
    :class:`OutputBusy` before any set-up); the file is written under a name
    of its own and renamed to ``out`` when complete. On interruption or
    failure (also at set-up, and when the disk is full) the file is closed as
    ``out.partial`` with ``status`` set and the completed steps readable, and
    :class:`RunInterrupted` or :class:`RunFailed` is raised. A stop request
    that arrives before the final rename wins; the rename itself runs with
    SIGINT and SIGTERM held back, so a run is either published complete or
    left as interrupted.
    """
    control = control or RunControl()
    out = Path(out)
    attrs = {
        "cosim_version": _version(),
        "scenario_yaml": yaml_text,
        "scenario_sha256": scenario_sha256(yaml_text),
        # the fully resolved configuration: after `extends`, --set and with every default
        "scenario_resolved": json.dumps(scenario.model_dump(mode="json"), sort_keys=True),
        "git_commit": source_commit(),
        "scenario_name": scenario.name,
        "seed": scenario.seed,
        # the simulation clock has no daylight-saving shifts (SimBench: 96 quarter hours a day);
        # it is labelled UTC (an assumption about the profiles' time base, docs/results.md)
        "start": scenario.start.replace(tzinfo=timezone.utc).isoformat(),
        "time_zone": "UTC",
        "step_s": scenario.step_s,
        "n_steps": scenario.n_steps,
        "packages": json.dumps(package_versions(), sort_keys=True),
    }
    sink = HDF5Sink(out, attrs, chunk_steps=scenario.output.chunk_steps,
                    compression=scenario.output.compression,
                    compression_level=scenario.output.compression_level)
    setup_gc = _SetupGc()
    try:
        return _run_locked(scenario, sink, control, setup_gc)
    finally:
        sink.release()
        setup_gc.release()


def _fail(sink: HDF5Sink, world, control: RunControl, exc: BaseException, t0: float,
          stage: str = "") -> None:
    """Close the file as failed or interrupted and raise the matching error."""
    wall = _time.perf_counter() - t0
    interrupted = control.stop_requested or isinstance(exc, (RunInterrupted, KeyboardInterrupt))
    if isinstance(exc, RecorderWriteError):
        interrupted = False
    status = "interrupted" if interrupted else "failed"
    who = "recorder" if isinstance(exc, RecorderWriteError) else _failing_simulator(exc)
    text = " ".join(str(exc).split()) if isinstance(exc, RecorderWriteError) else f"{type(exc).__name__}: {exc}"
    message = control.stop_reason if interrupted else f"{who}{stage}: {text}"
    try:
        path = sink.close(status, error=message, extra_attrs={
            "wall_time_s": wall, "failed_simulator": "" if interrupted else who})
    except RecorderWriteError as write_exc:
        _shutdown(world)
        both = message if str(write_exc) in message else f"{message}; {write_exc}"
        raise RunFailed(both, write_exc.partial_path) from None
    _shutdown(world)
    if interrupted:
        raise RunInterrupted(f"{message}; partial result in {path}") from None
    raise RunFailed(message, str(path)) from exc


def _run_locked(scenario: Scenario, sink: HDF5Sink, control: RunControl, setup_gc: _SetupGc) -> RunSummary:
    t0 = _time.perf_counter()
    world = builder = None
    try:
        with setup_gc.paused():
            builder = _Builder(scenario, sink, control)
            world = builder.build()
    except ValueError as exc:
        world = getattr(builder, "world", None)
        # Typed configuration errors found with the real net (e.g. more PV homes
        # than households): bad input, so no result file is left behind.
        sink.discard()
        _shutdown(world)
        raise ScenarioError([_config_problem(exc)]) from None
    except BaseException as exc:  # noqa: BLE001 - overflow, OSError, HDF5 errors at set-up
        _fail(sink, getattr(builder, "world", None), control, exc, t0, " at set-up")
    t_build = _time.perf_counter() - t0
    try:
        world.run(until=scenario.n_steps * int(round(scenario.step_s / TIME_RESOLUTION)),
                  print_progress=False)
    except BaseException as exc:  # noqa: BLE001 - every outcome must close the file
        _fail(sink, world, control, exc, t0)
    wall = _time.perf_counter() - t0
    with _signals_held():
        # decided with SIGINT/SIGTERM held back: a stop request either came
        # before (the run is left interrupted) or comes after the rename
        if control.stop_requested:
            _fail(sink, world, control, RunInterrupted(control.stop_reason), t0)
        try:
            path = sink.close("complete", extra_attrs={"wall_time_s": wall, "setup_time_s": t_build},
                              release_lock=False)
        except RecorderWriteError as exc:
            _shutdown(world)
            raise RunFailed(str(exc), exc.partial_path) from None
    _shutdown(world)
    # read while the lock is held: the file is this run's, not a later one's
    try:
        headline = _headline(path)
    except (OSError, KeyError, ValueError):  # the summary is a courtesy; the file is complete
        log.warning("could not read the headline KPIs back from %s", path, exc_info=True)
        headline = {}
    return RunSummary(path, "complete", scenario.n_steps, wall, headline, setup_s=t_build)


class _SetupGc:
    """No cyclic garbage collection during set-up; then the set-up's objects are frozen until the run ends.

    Set-up (imports, the grid from the cache, the admittance model, the
    populations, mosaik) makes millions of long-lived objects, and CPython's
    collector traversed all of them again at each of its full collections
    while they were being made (benchmarks/RESULTS.md). Paused during set-up
    and then frozen (``gc.freeze``: left out of later collections; reference
    counting frees them as usual), they are traversed by none; :meth:`release`
    unfreezes them when the run ends, so cycles among them are collected then.
    A process that froze objects itself keeps its freeze, and the set-up is
    only paused. Garbage collection never changes a result.
    """

    def __init__(self) -> None:
        self.frozen = False

    @contextlib.contextmanager
    def paused(self):
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                self.frozen = True
            if enabled:
                gc.enable()

    def release(self) -> None:
        if self.frozen:
            self.frozen = False
            gc.unfreeze()


@contextlib.contextmanager
def _signals_held():
    """Hold SIGINT and SIGTERM back (delivered when the block ends)."""
    sigs = {signal.SIGINT, signal.SIGTERM}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    except (AttributeError, OSError, ValueError):  # pragma: no cover - platforms without it
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _config_problem(exc: ValueError) -> str:
    """One line for a configuration error raised by a simulator at set-up."""
    text = " ".join(str(exc).split())
    return text if ":" in text.split(" ")[0] else f"({_failing_simulator(exc)}): {text}"


def _shutdown(world) -> None:
    # after a failure mosaik leaves its simulator tasks pending; asyncio would
    # log each of them at exit, which says nothing the error did not
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    if world is None:
        return
    try:
        world.shutdown()
    except Exception:  # noqa: BLE001 - best effort after a failed run
        log.debug("world shutdown after failure raised", exc_info=True)


def _version() -> str:
    from . import __version__

    return __version__
