"""The adapter contract: what every simulator's ``mosaik.py`` shares.

An adapter is a thin :class:`Adapter` subclass. It declares, as data,

* ``MODEL``: the one model it offers; the single entity's id is the same name;
* ``TYPE``: the mosaik simulator type;
* ``ATTRS``: every attribute once, as :class:`Attr` (name, unit, entity kind,
  description, role). META, :meth:`Adapter.series_meta` and the attribute
  tables of ``docs/ARCHITECTURE.md`` are all derived from it;

and implements ``setup`` (``init`` without the mosaik bookkeeping),
``advance`` (``step`` on this entity's inputs), ``value`` (one output) and
``entity_labels``. The base converts ticks (:attr:`Adapter.tick_s`), checks
``create``, and buffers ``messages_out`` / ``events_*``: ``get_data`` sends
the records emitted since the previous ``get_data``, once, and only when
there are any (a single emitted batch as that very array, see :meth:`Adapter.emit`).

Receivers of messages also offer :meth:`Adapter.decision_schedule`: the
times at which they act on what arrived. The orchestrator passes these to
the ICT simulator, which hands messages over accordingly: at receipt, with
the tick they are due, into the receiver's :attr:`Adapter.inbox` (an
:class:`~simulators.common.inbox.Inbox` the orchestrator passes to ``init``
as ``inbox`` and fills from the connection's ``transform``); the receiver
takes them with :meth:`Adapter.handed_over` at its own steps.

In-process only: attributes carry numpy arrays by reference, so adapters are
started with ``python`` in the mosaik sim config, never as a separate process.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import mosaik_api_v3
import numpy as np

from .contract import HOP_TICKS, ROLES, AdapterError, Attr, Role, attribute_table, build_meta
from .inbox import Inbox
from .records import concat as concat_records

__all__ = ["HOP_TICKS", "ROLES", "Adapter", "AdapterError", "Attr", "Role", "attribute_table", "build_meta"]


class Adapter(mosaik_api_v3.Simulator, metaclass=abc.ABCMeta):
    """Base of every simulator adapter (one model, one entity)."""

    MODEL: ClassVar[str]
    TYPE: ClassVar[str]
    ATTRS: ClassVar[tuple[Attr, ...]]
    EXTRA_METHODS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def meta_dict(cls) -> dict:
        """The META this adapter gives mosaik."""
        return build_meta(cls.MODEL, cls.TYPE, cls.ATTRS, cls.EXTRA_METHODS)

    def __init__(self) -> None:
        super().__init__(self.meta_dict())
        self.eid = self.MODEL
        self.tick_s = 0.001
        self.inbox = Inbox()
        self._buffers: dict[str, list[np.ndarray]] = {
            a.name: [] for a in self.ATTRS if a.role in ("output", "event")}

    # ---------------------------------------------------------------- time
    @property
    def tick_ms(self) -> float:
        """Length of one tick [ms]."""
        return self.tick_s * 1e3

    def ms(self, time: int) -> int:
        """Tick -> milliseconds since start (rounded)."""
        return int(round(time * self.tick_s * 1000))

    def ticks(self, t_s: float) -> int:
        """Seconds since start -> tick (rounded)."""
        return int(round(t_s / self.tick_s))

    # ---------------------------------------------------------- mosaik API
    def init(self, sid: str, time_resolution: float = 0.001, inbox: Inbox | None = None, **params: Any) -> dict:
        self.sid = sid
        self.tick_s = float(time_resolution)
        self.inbox = Inbox() if inbox is None else inbox
        self.setup(**params)
        return self.meta

    def create(self, num: int, model: str, **model_params: Any) -> list[dict]:
        if num != 1 or model != self.MODEL:
            raise AdapterError(f"{type(self).__name__} offers exactly one {self.MODEL!r} entity: "
                               f"create(1, {self.MODEL!r}), not create({num}, {model!r})")
        return [{"eid": self.eid, "type": model}]

    def step(self, time: int, inputs: dict, max_advance: int | None = None) -> int | None:
        return self.advance(int(time), inputs.get(self.eid, {}))

    def get_data(self, outputs: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
        data = {}
        buffers = self._buffers
        # mosaik asks for every connected output after each step: a buffer not
        # asked for has no consumer, so it is emptied too rather than kept
        self._buffers = {a: [] for a in buffers}
        for eid, attrs in outputs.items():
            d = data[eid] = {}
            for a in attrs:
                if a in buffers:
                    parts = buffers[a]
                    if parts:  # one batch (the usual case) is passed on as it is, see emit
                        d[a] = parts[0] if len(parts) == 1 else concat_records(parts)
                else:
                    v = self.value(a)
                    if v is not None:
                        d[a] = v
        return data

    def handed_over(self, time: int) -> list[tuple[int, np.ndarray]]:
        """Message batches staged in :attr:`inbox` that are due by ``time``: ``[(due_ms, batch), ...]``."""
        return self.inbox.take(self.ms(time))

    def emit(self, attr: str, records: np.ndarray) -> None:
        """Buffer records for a non-persistent output (sent by the next ``get_data``).

        The records are handed over: when they are the only batch of the output
        since the last ``get_data``, the consumers get this very array (no
        copy), so the caller must not change it afterwards.
        """
        if records is not None and len(records):
            self._buffers[attr].append(records)

    # ------------------------------------------------------ extra methods
    def series_meta(self) -> dict:
        """``{attr: {"unit", "entities"}}`` of every recordable series attribute offered."""
        labels = self.entity_labels()
        return {a.name: {"unit": a.unit, "entities": list(labels[a.entity]) if a.entity else []}
                for a in self.ATTRS if a.role == "series" and self.offers(a.name)}

    def static_tables(self) -> dict:
        """Tables written once to ``/static/<sim>/<table>``."""
        return {}

    def decision_schedule(self) -> dict | None:
        """When this simulator acts on messages: ``{"period_s", "offsets_s"}`` or None.

        A receiver acts at ``k * period_s + offset`` for every offset; None means
        it wants every message at its arrival tick.
        """
        return None

    # ------------------------------------------------------ subclass hooks
    @abc.abstractmethod
    def setup(self, **params) -> None:
        """``init`` without the mosaik bookkeeping (``self.tick_s`` is set)."""

    @abc.abstractmethod
    def advance(self, time: int, inputs: dict) -> int | None:
        """``step`` with this entity's inputs ``{attr: {source: value}}``; next tick or None."""

    def value(self, attr: str) -> Any:
        """Current value of a non-buffered output (None: nothing to send)."""
        raise AdapterError(f"{type(self).__name__}: {attr!r} is not an output")

    def entity_labels(self) -> dict[str, list[str]]:
        """Labels of the entries of each entity kind used in ``ATTRS``."""
        return {}

    def offers(self, attr: str) -> bool:
        """Whether a declared series attribute is offered in this configuration."""
        return True
