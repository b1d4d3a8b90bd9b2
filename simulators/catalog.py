"""Every simulator adapter, by the name its results carry, and the docs built from them.

The attribute tables of ``docs/ARCHITECTURE.md`` are generated from the
adapters' declarations (``ATTRS``) and sit between marker lines
``<!-- attributes:<name> -->`` and ``<!-- /attributes:<name> -->``. Regenerate
them after changing a declaration with::

    python -m simulators.catalog docs/ARCHITECTURE.md

(``--check`` only reports whether they are current; the contract test does the
same).
"""

from __future__ import annotations

import argparse
import importlib
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
    "coordinator": "simulators.coordinator.mosaik:CoordinatorSim",
}


def adapter_class(name: str) -> type:
    """The adapter class of simulator ``name`` (imports its module)."""
    module, cls = ADAPTERS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def attribute_tables() -> dict[str, str]:
    """Markdown attribute table of every adapter, from its declarations."""
    return {name: attribute_table(adapter_class(name).ATTRS) for name in ADAPTERS}


def render_docs(text: str) -> str:
    """``text`` with every marked attribute table replaced by the generated one."""
    for name, table in attribute_tables().items():
        pattern = re.compile(rf"(<!-- attributes:{name} -->\n)(?:.*?\n)?(<!-- /attributes:{name} -->)", re.S)
        text = pattern.sub(lambda m, t=table: m.group(1) + t + "\n" + m.group(2), text)
    return text


def main(argv: list[str] | None = None) -> int:
    """Regenerate (or with ``--check`` verify) the attribute tables of a docs file."""
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
