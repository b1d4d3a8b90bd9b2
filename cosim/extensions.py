"""Extra simulators from the scenario: the ``simulators:`` list.

Any mosaik simulator joins the world next to cosim's own, started the three
ways mosaik knows (``docs/extending.md`` has a worked example)::

    simulators:
      - name: watch                        # /series/watch/<attr> in the result
        cmd: "%(python)s docs/examples/trafo_watch.py %(addr)s"   # or python: / connect:
        params: {step_s: 900}              # passed to the simulator's init()
        models: [{model: Watch, n: 1, params: {limit_percent: 80}}]
        connections:
          - {from: grid.trafo_loading_percent, to: loading_percent}  # cosim -> simulator
        record: {max_loading_percent: percent, alarm: bool}          # simulator -> HDF5

A connection has one side ``<simulator>.<attribute>`` (cosim's ``grid``,
``household``, ``ict``, ``market``, ``coordinator`` or another extra
simulator, by the attribute names of its adapter contract) and one plain
attribute of this simulator; the direction is ``from`` -> ``to``. A
connection into a cosim simulator may be ``time_shifted`` (with ``initial``
data), which closes a loop as cosim's own paths do.

Values cross a process boundary as JSON: numpy arrays become lists and
message batches (``messages_out`` / ``messages_in``) the list-of-objects wire
form of :mod:`simulators.common.messages`, converted here at the connection.
In-process (``python:``) simulators get the numpy objects by reference.

Security: ``python:`` imports the named module and ``cmd:`` runs the command,
both by design; run scenarios only from sources you trust, as any script.
Nothing else in a scenario is imported or executed.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: cosim's simulators by their name in connections, with the scenario section that enables them.
COSIM_SIMULATORS = {"grid": "grid", "household": "households", "ict": "ict", "market": "market",
                    "coordinator": "coordinator"}
RESERVED_NAMES = (*COSIM_SIMULATORS, "recorder")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_ATTR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CLASS_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_HOST_PORT = re.compile(r"^[\w.\-]+:\d{1,5}$")
_CFG = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, populate_by_name=True)


class ExtensionError(ValueError):
    """An extra simulator that does not fit the scenario (unknown model or attribute)."""


class ModelSpec(BaseModel):
    """Entities to create: ``n`` of ``model`` with ``params`` (the simulator's ``create`` keywords)."""

    model_config = _CFG
    #: Model name as the simulator's ``meta`` declares it.
    model: str = Field(pattern=_ATTR.pattern)
    #: Number of entities.
    n: int = Field(1, ge=1, le=10_000)
    #: Keywords of the simulator's ``create``.
    params: dict[str, Any] = Field(default_factory=dict)


class Connection(BaseModel):
    """One attribute flow; exactly one side is ``<simulator>.<attribute>``."""

    model_config = _CFG
    #: Source ``<simulator>.<attribute>``.
    from_: str = Field(alias="from")
    #: Destination ``<simulator>.<attribute>``.
    to: str
    #: Delay by one tick (closes a loop; only into a cosim simulator or between extras).
    time_shifted: bool = False
    #: Value the receiver sees before the first one arrives (time-shifted connections).
    initial: Any = None

    @field_validator("from_", "to")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        parts = v.split(".")
        if len(parts) > 2 or not all(_ATTR.match(p) for p in parts):
            raise ValueError(f"expected 'attribute' or 'simulator.attribute'; got {v!r}")
        return v

    @model_validator(mode="after")
    def _one_side(self) -> "Connection":
        if ("." in self.from_) == ("." in self.to):
            raise ValueError(f"exactly one side must be 'simulator.attribute' and the other an attribute "
                             f"of this simulator; got from={self.from_!r}, to={self.to!r}")
        return self

    @property
    def inbound(self) -> bool:
        """True if the value flows into the extra simulator."""
        return "." in self.from_

    @property
    def peer(self) -> tuple[str, str]:
        """(simulator, attribute) of the other side."""
        sim, attr = (self.from_ if self.inbound else self.to).split(".")
        return sim, attr

    @property
    def own_attr(self) -> str:
        return self.to if self.inbound else self.from_


class ExtraSimulator(BaseModel):
    """One entry of the scenario's ``simulators:`` list (see the module docstring)."""

    model_config = _CFG
    #: Name of the simulator in connections and under ``/series``.
    name: str
    #: ``package.module:Class``, a ``mosaik_api_v3.Simulator`` run in this process (imported).
    python: str | None = None
    #: Command that starts the simulator in its own process; ``%(addr)s`` is the address it
    #: connects to, ``%(python)s`` this Python interpreter (run from the working directory).
    cmd: str | None = None
    #: ``host:port`` of a simulator that is already running.
    connect: str | None = None
    #: Keywords of the simulator's ``init`` (besides mosaik's ``sid`` and ``time_resolution``).
    params: dict[str, Any] = Field(default_factory=dict)
    #: Entities to create.
    models: list[ModelSpec] = Field(min_length=1)
    #: Attribute flows between this simulator and cosim's (or other extras).
    connections: list[Connection] = Field(default_factory=list)
    #: Attributes stored as ``/series/<name>/<attr>`` with their unit (one entity in total).
    record: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"expected lower-case letters, digits and '_' (a letter first, <= 32); got {v!r}")
        if v in RESERVED_NAMES:
            raise ValueError(f"{v!r} is one of cosim's own simulators ({', '.join(RESERVED_NAMES)}); pick another")
        return v

    @field_validator("python")
    @classmethod
    def _python(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if not _CLASS_REF.match(v):
            raise ValueError(f"expected 'package.module:Class'; got {v!r}")
        from simulators.common.plugins import load_reference

        import mosaik_api_v3

        obj = load_reference(v)  # PluginError (a ValueError): does not import / no such attribute
        if not (isinstance(obj, type) and issubclass(obj, mosaik_api_v3.Simulator)):
            raise ValueError(f"{v!r} is not a subclass of mosaik_api_v3.Simulator")
        return v

    @field_validator("cmd")
    @classmethod
    def _cmd(cls, v: str | None) -> str | None:
        if v is not None:
            if "%(addr)s" not in v:
                raise ValueError(f"the command must pass '%(addr)s' (the address to connect to); got {v!r}")
            try:
                v % {"addr": "", "python": ""}
            except (KeyError, ValueError, TypeError):
                raise ValueError(f"only %(addr)s and %(python)s may be substituted (write a literal % as %%); "
                                 f"got {v!r}") from None
        return v

    @field_validator("connect")
    @classmethod
    def _connect(cls, v: str | None) -> str | None:
        if v is not None and not _HOST_PORT.match(v):
            raise ValueError(f"expected 'host:port'; got {v!r}")
        return v

    @model_validator(mode="after")
    def _one_starter(self) -> "ExtraSimulator":
        given = [k for k in ("python", "cmd", "connect") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"simulator {self.name!r}: give exactly one of python, cmd, connect "
                             f"(got {', '.join(given) or 'none'})")
        if self.record and sum(m.n for m in self.models) != 1:
            raise ValueError(f"simulator {self.name!r}: record needs exactly one entity (one model with n: 1), "
                             "so each attribute is one series; aggregate inside the simulator")
        return self

    @property
    def remote(self) -> bool:
        """True if the simulator runs in another process (values cross as JSON)."""
        return self.python is None

    def starter_config(self) -> dict:
        """mosaik's starter configuration (``python`` / ``cmd`` / ``connect``)."""
        return {k: getattr(self, k) for k in ("python", "cmd", "connect") if getattr(self, k) is not None}


def check_names(extras: list[ExtraSimulator], enabled: set[str]) -> list[str]:
    """Problems with the simulators the connections name (``simulators.i.connections.j``).

    ``enabled``: cosim simulators the scenario runs (``grid`` always).
    """
    problems = []
    names = [x.name for x in extras]
    for i, x in enumerate(extras):
        if names.count(x.name) > 1 and names.index(x.name) != i:
            problems.append(f"simulators.{i}.name: {x.name!r} is given twice; names must be unique")
        for j, c in enumerate(x.connections):
            sim, _ = c.peer
            known = sorted(enabled | set(names) - {x.name})
            if sim not in known:
                side = "from" if c.inbound else "to"
                why = (f"the scenario has no '{COSIM_SIMULATORS[sim]}' section" if sim in COSIM_SIMULATORS
                       else f"known: {', '.join(known)}")
                problems.append(f"simulators.{i}.connections.{j}.{side}: no simulator {sim!r} ({why}); "
                                f"got {c.from_ if c.inbound else c.to!r}")
    return problems


# --------------------------------------------------------------- building
def _to_wire(value):
    """A value for another process: JSON types only (message batches as their wire form)."""
    if isinstance(value, np.ndarray):
        if value.dtype.names:
            from simulators.common.messages import to_records

            return to_records(value)
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _from_wire(value):
    """A message batch from another process as the structured array cosim's simulators take."""
    from simulators.common.messages import from_records

    return from_records(value)


def _attrs_text(attrs) -> str:
    return ", ".join(sorted(attrs)) or "none"


def join(world, extras: list[ExtraSimulator], cosim: dict[str, object]) -> list[tuple[str, object, dict]]:
    """Start the extra simulators, create their entities and connect them.

    Parameters
    ----------
    world : mosaik.World
    extras : list of ExtraSimulator
        The scenario's ``simulators:`` list (validated).
    cosim : dict
        cosim's entities by simulator name (None: not in this scenario).

    Returns
    -------
    list of (name, entity, {attr: series meta})
        What the recorder stores.

    Raises
    ------
    ExtensionError
        An unknown model, or an attribute that the simulator does not declare;
        the message lists the declared ones.
    """
    from mosaik.starters import get_starter_from_starter_config

    problems = check_names(extras, {k for k, v in cosim.items() if v is not None})
    if problems:
        raise ExtensionError(problems[0])
    entities: dict[str, list] = {k: [v] for k, v in cosim.items() if v is not None}
    for i, x in enumerate(extras):
        factory = world.start(get_starter_from_starter_config(x.starter_config()), sim_id=x.name, **x.params)
        models = factory.meta["models"]
        created = []
        for j, m in enumerate(x.models):
            if m.model not in models or not models[m.model].get("public", True):
                raise ExtensionError(f"simulators.{i}.models.{j}.model: {x.name} has no model {m.model!r}; "
                                     f"models: {_attrs_text(models)}")
            created += getattr(factory, m.model).create(m.n, **m.params)
        entities[x.name] = created
    out = []
    for i, x in enumerate(extras):
        mine = entities[x.name]
        for j, c in enumerate(x.connections):
            _connect(world, x, extras, i, j, c, mine, entities)
        if x.record:
            ent = mine[0]
            missing = [a for a in x.record if a not in ent.model_mock.output_attrs]
            if missing:
                raise ExtensionError(f"simulators.{i}.record: {x.name} has no output {missing[0]!r}; "
                                     f"outputs: {_attrs_text(ent.model_mock.output_attrs)}")
            out.append((x.name, ent, {a: {"unit": u, "entities": []} for a, u in x.record.items()}))
    return out


def _connect(world, x: ExtraSimulator, extras, i: int, j: int, c: Connection, mine: list, entities) -> None:
    """One connection, checked against both simulators' declared attributes."""
    sim, attr = c.peer
    peers = entities[sim]
    own, peer_attr = c.own_attr, attr
    where = f"simulators.{i}.connections.{j}"
    for ent in mine:
        have = ent.model_mock.input_attrs if c.inbound else ent.model_mock.output_attrs
        if own not in have:
            kind = "input" if c.inbound else "output"
            raise ExtensionError(f"{where}.{'to' if c.inbound else 'from'}: {x.name} has no {kind} {own!r}; "
                                 f"{kind}s: {_attrs_text(have)}")
    for peer in peers:
        have = peer.model_mock.output_attrs if c.inbound else peer.model_mock.input_attrs
        if peer_attr not in have:
            kind = "output" if c.inbound else "input"
            raise ExtensionError(f"{where}.{'from' if c.inbound else 'to'}: {sim} has no {kind} {peer_attr!r}; "
                                 f"{kind}s: {_attrs_text(have)}")
    peer_remote = any(e.name == sim and e.remote for e in extras)
    src_remote, dest_remote = (peer_remote, x.remote) if c.inbound else (x.remote, peer_remote)
    dest_attr = own if c.inbound else peer_attr
    kw: dict = {}
    if c.time_shifted:
        src_attr = peer_attr if c.inbound else own
        kw = dict(time_shifted=True, initial_data={src_attr: c.initial})
    if dest_remote and not src_remote:
        kw["transform"] = _to_wire
    elif src_remote and not dest_remote and dest_attr == "messages_in":
        kw["transform"] = _from_wire
    for src in (peers if c.inbound else mine):
        for dest in (mine if c.inbound else peers):
            if c.inbound:
                world.connect(src, dest, (peer_attr, own), **kw)
            else:
                world.connect(src, dest, (own, peer_attr), **kw)
