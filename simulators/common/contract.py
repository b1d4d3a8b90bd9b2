"""The declared side of the adapter contract (no mosaik import).

Each simulator declares its attributes once, as :class:`Attr` records; META,
``series_meta`` and the attribute tables of ``docs/ARCHITECTURE.md`` are
derived from them (see :mod:`simulators.common.adapter`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: What an attribute is for. ``input``: a measurement input (latest value);
#: ``trigger``: an input that wakes the simulator; ``series``: a persistent
#: output the recorder stores each step (``/series/<sim>/<name>``); ``output``:
#: a non-persistent output for other simulators (message arrays); ``event``:
#: a non-persistent table of records (``events_<name>`` -> ``/events/<name>``).
Role = Literal["input", "trigger", "series", "output", "event"]
ROLES: tuple[str, ...] = ("input", "trigger", "series", "output", "event")

#: Every message path into a receiver is a ``time_shifted`` mosaik connection,
#: which delays it by this many ticks (closes the sender <-> receiver loops).
HOP_TICKS = 1


class AdapterError(ValueError):
    """An adapter was used against its contract (wrong ``create``, unknown attribute)."""


@dataclass(frozen=True)
class Attr:
    """One mosaik attribute, declared once.

    Parameters
    ----------
    name : str
        Attribute name; also the DataFrame column and HDF5 dataset name.
    unit : str
        Unit of each value (``""`` for message arrays and event tables).
    entity : str
        What one entry of the array is (``"bus"``, ``"line"``, ``"household"``,
        ``"agent"``, ``"area"`` ...); ``""`` for a scalar.
    description : str
        One line for the documentation.
    role : str
        One of :data:`ROLES`.
    """

    name: str
    unit: str
    entity: str
    description: str
    role: Role = "series"

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise AdapterError(f"attribute {self.name!r}: role {self.role!r} not one of {ROLES}")
        if self.role == "event" and not self.name.startswith("events_"):
            raise AdapterError(f"event attribute {self.name!r} must be named events_<table>")


def build_meta(model: str, sim_type: str, attrs: tuple[Attr, ...], extra_methods: tuple[str, ...]) -> dict:
    """mosaik META of a one-model adapter from its attribute declarations."""
    desc: dict[str, Any] = {"public": True, "params": [], "attrs": [a.name for a in attrs]}
    if sim_type != "time-based":
        desc["trigger"] = [a.name for a in attrs if a.role == "trigger"]
        desc["non-persistent"] = [a.name for a in attrs if a.role in ("output", "event")]
    return {"api_version": "3.0", "type": sim_type, "models": {model: desc},
            "extra_methods": ["series_meta", "static_tables", "decision_schedule", *extra_methods]}


def attribute_table(attrs: tuple[Attr, ...]) -> str:
    """Markdown table of the declarations (the generated part of the docs)."""
    rows = ["| attribute | role | unit | per | description |", "|---|---|---|---|---|"]
    for a in attrs:
        rows.append(f"| `{a.name}` | {a.role} | {a.unit or '—'} | {a.entity or '—'} | {a.description} |")
    return "\n".join(rows)
