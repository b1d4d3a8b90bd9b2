"""Load a pandapower JSON net without letting the file choose code to run.

pandapower's JSON decoder imports whatever module a ``{"_module": ...,
"_class": ...}`` object names and calls the class (or returns the function)
it finds there, before any check of what the object is. A grid file is a
scenario input, so it must not be able to name code: :func:`check_pandapower_json`
walks the parsed document and accepts only the type tags listed in
:data:`ALLOWED`; only then is the text handed to pandapower.

What pandapower 3.x's own ``to_json`` writes for SimBench and CIGRE nets
(``create_cigre_network_lv``, ``create_cigre_network_mv``, ``mv_oberrhein``,
SimBench ``1-LV-rural1--0-sw``, before and after ``runpp``) is exactly two
tags: ``pandapower.auxiliary.pandapowerNet`` and
``pandas.core.frame.DataFrame``. The list adds the other plain data types
pandapower serialises (Series, numpy scalars and arrays, tuples and sets,
networkx multigraphs); controllers, characteristics and geometry objects are
refused, since a testbed grid needs none of them.

JSON text nested in strings is checked too: pandapower decodes the cells of
object columns and a string-valued ``pandapowerNet`` with the same hook.
"""

from __future__ import annotations

import json
from typing import Any

#: (module, class) tags a grid file may carry.
ALLOWED: frozenset[tuple[str, str]] = frozenset({
    ("pandapower.auxiliary", "pandapowerNet"),
    ("pandas.core.frame", "DataFrame"), ("pandas", "DataFrame"),
    ("pandas.core.series", "Series"), ("pandas", "Series"),
    ("networkx", "MultiGraph"),
    ("builtins", "tuple"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
    ("numpy", "array"), ("numpy", "bool"), ("numpy", "bool_"),
    *(("numpy", f"{kind}{bits}") for kind in ("int", "uint") for bits in (8, 16, 32, 64)),
    *(("numpy", f"float{bits}") for bits in (16, 32, 64)),
    ("numpy", "complex64"), ("numpy", "complex128"), ("numpy", "str_"),
})

#: Keys pandapower writes beside a DataFrame or Series (passed on to ``pandas.read_json``).
_FRAME_KEYS = frozenset({"_module", "_class", "_object", "orient", "dtype", "is_multiindex",
                         "is_multicolumn", "index_name", "index_names", "column_name", "column_names"})
_FRAMES = frozenset({"DataFrame", "Series"})
#: Nesting deeper than this is refused (a net is 4 levels deep, plus JSON in cells).
MAX_DEPTH = 64


class UnsafeGridFile(ValueError):
    """The grid file names a type outside :data:`ALLOWED` or is malformed."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    """``object_pairs_hook``: two parsers could keep different copies of a repeated key."""
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        dup = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise UnsafeGridFile(f"repeated key {dup!r} in one JSON object")
    return out


def _loads(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_no_duplicates)


def _nested_json(text: str) -> Any:
    """The JSON value in ``text`` if it holds an object or array, else None."""
    s = text.lstrip()
    if not s or s[0] not in "{[":
        return None
    try:
        return _loads(s)
    except UnsafeGridFile:
        raise
    except (ValueError, RecursionError):  # text that merely starts like JSON
        return None


def _check_tagged(obj: dict, where: str) -> None:
    module, cls = obj.get("_module"), obj.get("_class")
    if not isinstance(module, str) or not isinstance(cls, str):
        raise UnsafeGridFile(f"{where}: a type tag needs both '_module' and '_class' as text, "
                             f"got _module={module!r}, _class={cls!r}")
    if (module, cls) not in ALLOWED:
        raise UnsafeGridFile(f"{where}: type {module}.{cls} is not allowed in a grid file (allowed: "
                             "pandapower nets of DataFrames and plain numbers); "
                             "re-export the net with pandapower.to_json without controllers or geometry objects")
    if cls in _FRAMES:
        extra = sorted(set(obj) - _FRAME_KEYS)
        if extra:
            raise UnsafeGridFile(f"{where}: {cls} has unexpected key(s) {', '.join(extra)}")
        body = obj.get("_object")
        # pandas.read_json would open an absolute path ending in .json as a file
        if not isinstance(body, str) or not body.lstrip()[:1] in ("{", "["):
            raise UnsafeGridFile(f"{where}: {cls} '_object' must hold the table as JSON text")


def check_pandapower_json(text: str, source: str = "grid file") -> Any:
    """Parse ``text`` and refuse any type tag outside :data:`ALLOWED`.

    Every string that holds a JSON object or array is parsed and checked as
    well (DataFrame bodies, whose object cells pandapower decodes with the
    same hook). Repeated keys in one object are refused.

    Parameters
    ----------
    text : str
        The JSON document.
    source : str
        Name used in messages (the file path).

    Returns
    -------
    Any
        The parsed document (plain JSON values).

    Raises
    ------
    UnsafeGridFile
        Naming the first offending module/class, or why the text is not JSON.
    """
    try:
        doc = _loads(text)
    except UnsafeGridFile as exc:
        raise UnsafeGridFile(f"{source}: {exc}") from None
    except ValueError as exc:
        raise UnsafeGridFile(f"{source} is not a pandapower JSON net (not JSON: {exc})") from None
    except RecursionError:
        raise UnsafeGridFile(f"{source}: JSON nesting is too deep") from None
    if not (isinstance(doc, dict) and doc.get("_class") == "pandapowerNet"):
        raise UnsafeGridFile(f"{source} is not a pandapower JSON net (the top level must be a pandapowerNet object)")
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        obj, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UnsafeGridFile(f"{source}: JSON nesting deeper than {MAX_DEPTH} levels")
        if isinstance(obj, dict):
            if "_module" in obj or "_class" in obj:
                _check_tagged(obj, source)
            stack.extend((v, depth + 1) for v in obj.values())
        elif isinstance(obj, list):
            stack.extend((v, depth + 1) for v in obj)
        elif isinstance(obj, str):
            try:
                inner = _nested_json(obj)
            except UnsafeGridFile as exc:
                raise UnsafeGridFile(f"{source}: {exc}") from None
            if inner is not None:
                stack.append((inner, depth + 1))
    return doc
