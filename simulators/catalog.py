"""Every simulator adapter, by the name its results carry, and the docs built from them.

The attribute tables of ``docs/ARCHITECTURE.md`` are generated from the
adapters' declarations (``ATTRS``) and sit between marker lines
``<!-- attributes:<name> -->`` and ``<!-- /attributes:<name> -->``. Regenerate
them after changing a declaration with::

    python -m simulators.catalog docs/ARCHITECTURE.md

(``--check`` only reports whether they are current; the contract test does the
same). The enum tables of ``docs/results.md`` (between ``<!-- enums -->`` and
``<!-- /enums -->``) are generated the same way from the code's own tables, with
the meaning taken from each entry's trailing comment::

    python -m simulators.catalog docs/results.md
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from pathlib import Path

from simulators.common.contract import attribute_table

#: Name in the results (``/series/<name>``) -> adapter, as ``module:Class``.
ADAPTERS: dict[str, str] = {
    "grid": "simulators.grid.mosaik:GridSim",
    "household": "simulators.household.mosaik:HouseholdSim",
    "ict": "simulators.ict.mosaik:IctSim",
    "market": "simulators.market.mosaik:MarketSim",
    "ledger": "simulators.ledger.mosaik:LedgerSim",
    "coordinator": "simulators.coordinator.mosaik:CoordinatorSim",
}


def adapter_class(name: str) -> type:
    """The adapter class of simulator ``name`` (imports its module)."""
    module, cls = ADAPTERS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def attribute_tables() -> dict[str, str]:
    """Markdown attribute table of every adapter, from its declarations."""
    return {name: attribute_table(adapter_class(name).ATTRS) for name in ADAPTERS}


#: Enums stored in result files: (title, module, table name, kind); ``kind`` says how an
#: entry is written in the source (``code_name``: ``0: "name"``, ``name_code``:
#: ``"name": 0``, ``enum``: an IntEnum, ``constants``: module-level ``NAME = code``).
ENUMS: tuple[tuple[str, str, str, str], ...] = (
    ("`reason` of `trades` and `orders` (HDF5 ENUM)", "simulators.market.dso", "REASONS", "code_name"),
    ("`market_status` (market series)", "simulators.market.orders", "STATUS_CODES", "name_code"),
    ("`kind` of `messages`", "simulators.common.messages", "Kind", "enum"),
    ("`status` of `messages`", "simulators.common.messages", "Status", "enum"),
    ("`traffic_light` (coordinator series)", "simulators.common.network.traffic_light", "GREEN AMBER RED", "constants"),
)


def _comment(source: str, pattern: str) -> str:
    """Trailing ``# comment`` of the first source line matching ``pattern`` ('' if none)."""
    m = re.search(pattern + r"[^\n#]*#\s*(.*)", source)
    return m.group(1).strip() if m else ""


def enum_rows(module_name: str, table: str, kind: str) -> list[tuple[int, str, str]]:
    """(code, name, meaning) of one enum, read from its module and its source comments."""
    module = importlib.import_module(module_name)
    source = inspect.getsource(module)
    if kind == "code_name":
        items = getattr(module, table).items()
        return [(c, n, _comment(source, rf'\n\s*{c}: "{n}",')) for c, n in items]
    if kind == "name_code":
        items = getattr(module, table).items()
        return [(c, n, _comment(source, rf'\n\s*"{n}": {c},')) for n, c in items]
    if kind == "enum":
        return [(int(m), m.name, _comment(source, rf"\n\s*{m.name} = {int(m)}")) for m in getattr(module, table)]
    names = table.split()
    doc = module.__doc__ or ""
    rows = []
    for n in names:
        m = re.search(rf"\*\*{n.lower()}\*\* \({getattr(module, n)}\): ([^;.]*)", doc)
        rows.append((getattr(module, n), n.lower(), " ".join(m.group(1).split()) if m else ""))
    return rows


def enum_tables() -> str:
    """Markdown tables of every enum in :data:`ENUMS`."""
    parts = []
    for title, module, table, kind in ENUMS:
        where = f"`{module}`" + ("" if kind == "constants" else f" (`{table}`)")
        lines = [f"{title}, defined in {where}:", "", "| code | name | meaning |", "| --- | --- | --- |"]
        lines += [f"| {c} | `{n}` | {m} |" for c, n, m in enum_rows(module, table, kind)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def render_docs(text: str) -> str:
    """``text`` with every marked attribute table and enum block replaced by the generated one."""
    for name, table in attribute_tables().items():
        pattern = re.compile(rf"(<!-- attributes:{name} -->\n)(?:.*?\n)?(<!-- /attributes:{name} -->)", re.S)
        text = pattern.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(2), text)
    if "<!-- enums -->" in text:
        tables = enum_tables()
        pattern = re.compile(r"(<!-- enums -->\n)(?:.*?\n)?(<!-- /enums -->)", re.S)
        text = pattern.sub(lambda m: m.group(1) + "\n" + tables + "\n\n" + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or with ``--check`` verify) the generated tables of a docs file."""
    ap = argparse.ArgumentParser(prog="python -m simulators.catalog", description=main.__doc__)
    ap.add_argument("path", type=Path)
    ap.add_argument("--check", action="store_true", help="exit 1 if the tables are not current")
    args = ap.parse_args(argv)
    text = args.path.read_text(encoding="utf-8")
    new = render_docs(text)
    if args.check:
        return int(new != text)
    if new != text:
        args.path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
