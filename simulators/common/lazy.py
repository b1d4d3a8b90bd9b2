"""Lazy public names for simulator packages (PEP 562 module ``__getattr__``).

A package ``__init__`` imports its errors and schema eagerly (the scenario
loader needs them, fast) and names its model classes in a mapping; they are
imported on first use, so reading a scenario does not import numpy-heavy
model code (scipy.stats for the EV model, the coordinator's network code).
"""

from __future__ import annotations

import importlib
from typing import Callable


def lazy_getattr(package: str, names: dict[str, str]) -> Callable[[str], object]:
    """``__getattr__`` for ``package`` resolving ``names[attr]`` (a relative module)."""

    def __getattr__(name: str):
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module, package), name)

    return __getattr__
