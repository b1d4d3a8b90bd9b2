"""The sweep file: a frozen pydantic model, validated once at the boundary.

A sweep file names a base scenario and the overrides of each variant, with the
dotted paths of ``cosim run --set`` (see :mod:`cosim.sweep` for the format).
Every problem is reported at once by :func:`cosim.sweep.plan.load_sweep`.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np
from pydantic import Field, field_validator, model_validator

from ..config import _Frozen

#: Largest number of variants one sweep file may expand to.
MAX_VARIANTS = 100_000
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


def _check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"{key!r} is not a dotted scenario path like 'households.pv.share'")
    return key


class SampleRange(_Frozen):
    """A uniform range ``[low, high]`` for one sampled parameter."""

    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"high={self.high} < low={self.low}; need low <= high")
        return self


class SampleConfig(_Frozen):
    """``n`` points drawn uniformly from ``ranges`` with ``numpy.random.default_rng(seed)``."""

    n: int = Field(ge=1, le=MAX_VARIANTS)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    ranges: dict[str, SampleRange] = Field(min_length=1)

    @field_validator("ranges")
    @classmethod
    def _keys(cls, v):
        for k in v:
            _check_key(k)
        return v


class SweepConfig(_Frozen):
    """A sweep file (format: see :mod:`cosim.sweep`)."""

    base: str = Field(min_length=1, description="base scenario, relative to the sweep file")
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    variants: list[dict[str, Any]] = Field(default_factory=list)
    sample: SampleConfig | None = None
    seeds: list[int] | None = None
    timeout_s: float | None = Field(None, gt=0, le=30 * 86400, allow_inf_nan=False,
                                    description="per-variant wall-time limit [s]")
    output_dir: str | None = Field(None, min_length=1)

    @field_validator("grid")
    @classmethod
    def _grid(cls, v):
        for k, values in v.items():
            _check_key(k)
            if not values:
                raise ValueError(f"{k}: the list of values is empty")
        return v

    @field_validator("variants")
    @classmethod
    def _variants(cls, v):
        for i, d in enumerate(v):
            if not d:
                raise ValueError(f"variant {i} is empty; give at least one dotted.key: value")
            for k in d:
                _check_key(k)
        return v

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v):
        if v is not None:
            if not v:
                raise ValueError("seeds is empty; omit it or give at least one seed")
            bad = [s for s in v if not 0 <= s <= 2**63 - 1]
            if bad:
                raise ValueError(f"seeds {bad} outside [0, 2**63-1]")
        return v

    @model_validator(mode="after")
    def _disjoint_and_small(self):
        factors = {"grid": set(self.grid), "variants": set().union(*map(set, self.variants)),
                   "sample": set(self.sample.ranges) if self.sample else set(),
                   "seeds": {"seed"} if self.seeds else set()}
        names = list(factors)
        for a, b in itertools.combinations(names, 2):
            both = factors[a] & factors[b]
            if both:
                raise ValueError(f"key(s) {sorted(both)} appear in both {a} and {b}; use one")
        n = 1
        for size in (np.prod([len(x) for x in self.grid.values()], dtype=float) if self.grid else 1,
                     len(self.variants) or 1, self.sample.n if self.sample else 1,
                     len(self.seeds) if self.seeds else 1):
            n *= float(size)
        if n > MAX_VARIANTS:
            raise ValueError(f"the sweep expands to {n:.0f} variants; at most {MAX_VARIANTS}")
        return self
