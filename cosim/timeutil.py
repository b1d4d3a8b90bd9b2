"""Duration strings: ``15min``, ``1h``, ``7d``, ``900s``, ``900`` (seconds)."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-z]*)\s*$")
#: Largest duration accepted anywhere [s] (ten years); guards against
#: "huge number" inputs overflowing int64 millisecond ticks.
MAX_DURATION_S = 10 * 366 * 86400


def parse_duration_s(value: object) -> int:
    """Parse a duration into whole seconds.

    Accepts an int/float number of seconds or a string ``<number><unit>``
    with unit one of s, min (or m), h, d, w.

    Raises
    ------
    ValueError
        Unknown unit, non-integral seconds, or a value that is not a duration.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like '15min', '7d' or seconds, got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        m = _PATTERN.match(value.lower())
        if not m:
            raise ValueError(f"expected a duration like '15min', '7d' or seconds, got {value!r}")
        number, unit = m.groups()
        if unit and unit not in _UNITS:
            raise ValueError(f"unknown duration unit {unit!r} in {value!r}; allowed: s, min, h, d, w")
        seconds = float(number) * _UNITS.get(unit or "s", 1)
    else:
        raise ValueError(f"expected a duration like '15min', '7d' or seconds, got {value!r}")
    if seconds != int(seconds):
        raise ValueError(f"duration {value!r} is not a whole number of seconds")
    if abs(seconds) > MAX_DURATION_S:
        raise ValueError(f"duration {value!r} exceeds the maximum of {MAX_DURATION_S} s")
    return int(seconds)
