"""Registries of user code: by built-in name, entry point, or ``module:function``.

Three kinds of behaviour can be added without editing the repository (see
``docs/extending.md``):

=====================  ==========================  ==================================
scenario field         entry point group           signature (owning module)
=====================  ==========================  ==================================
``market.mechanism``   ``cosim.mechanisms``        :class:`simulators.market.mechanisms.Mechanism`
``households.policy``  ``cosim.hems_policies``     :class:`simulators.household.hems.Policy`
``coordinator.tso``    ``cosim.tso_processes``     :class:`simulators.coordinator.tso.TsoProcess`
``.source``
=====================  ==========================  ==================================

A value is resolved in this order:

1. a built-in name (the owning module's table);
2. the name of an entry point in the group (an installed distribution
   declares it under ``[project.entry-points."cosim.mechanisms"]``);
3. a reference ``package.module:attribute`` (contains a colon): the module is
   imported and the attribute taken.

Security: resolving a reference or an entry point *imports and runs Python
code*. That is the purpose of these fields; a scenario from an untrusted
source must be read before it is run, as any script would be. Nothing else in
a scenario is ever imported: only the fields listed above pass their value to
:func:`resolve`.

Every failure is a :class:`PluginError` (a ``ValueError``) with one line that
says what was looked up and what is available, so the scenario boundary
reports it as ``field.path: problem; got VALUE`` and the CLI exits with 2.
"""

from __future__ import annotations

import importlib
import inspect
import re
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Callable, Mapping

#: ``package.module:attribute`` (dotted on both sides of one colon).
_REFERENCE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class PluginError(ValueError):
    """A registry name or ``module:function`` reference that cannot be used."""


def is_reference(value: str) -> bool:
    """True if ``value`` is written as ``module:attribute`` (and so would be imported)."""
    return ":" in value


def registered(group: str) -> dict[str, EntryPoint]:
    """Entry points of ``group`` by name (the first one wins when two share a name)."""
    out: dict[str, EntryPoint] = {}
    for ep in entry_points(group=group):
        out.setdefault(ep.name, ep)
    return out


def available(builtins: Mapping[str, Any], group: str) -> list[str]:
    """Every name a scenario may give: built-ins, then the group's entry points."""
    return list(builtins) + sorted(n for n in registered(group) if n not in builtins)


def load_reference(ref: str) -> Any:
    """Import ``module:attribute`` and return the attribute.

    Raises
    ------
    PluginError
        Malformed reference, a module that does not import (the first line of
        its error is kept), or a missing attribute.
    """
    if not _REFERENCE.match(ref):
        raise PluginError(f"{ref!r} is not a reference of the form 'package.module:function'")
    mod_name, attr = ref.split(":")
    try:
        obj: Any = importlib.import_module(mod_name)
    except Exception as exc:  # noqa: BLE001 - any error of user code at import is a bad reference
        raise PluginError(f"module {mod_name!r} does not import ({_one_line(exc)})") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise PluginError(f"module {mod_name!r} has no attribute {attr!r}") from None
    return obj


def positional_arity(fn: Callable) -> tuple[int, int, bool] | None:
    """Positional parameters of ``fn``: (required, maximum, has required keyword-only).

    ``maximum`` is -1 with ``*args``. None when the signature cannot be read
    (some builtins).
    """
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    req = n = 0
    kw_required = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            n = -1
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            n = n if n == -1 else n + 1
            req += p.default is p.empty
        elif p.kind is p.KEYWORD_ONLY and p.default is p.empty:
            kw_required = True
    return req, n, kw_required


def check_callable(obj: Any, n_args: int, signature: str) -> str | None:
    """Problem with calling ``obj`` with ``n_args`` positional arguments, or None."""
    if not callable(obj):
        return f"is a {type(obj).__name__}, not a function {signature}"
    ar = positional_arity(obj)
    if ar is None:
        return None
    req, most, kw_required = ar
    if kw_required or req > n_args or (most != -1 and most < n_args):
        return f"has the wrong signature {_sig(obj)}; expected {signature}"
    return None


def callable_with(n_args: int, signature: str, then: Callable[[Any], Any] | None = None) -> Callable[[Any], Any]:
    """An ``adapt`` for :func:`resolve`: refuse an object that cannot be called with
    ``n_args`` positional arguments (:class:`PluginError` naming ``signature``),
    else return it, passed through ``then`` if given."""

    def adapt(obj: Any) -> Any:
        problem = check_callable(obj, n_args, signature)
        if problem:
            raise PluginError(problem)
        return obj if then is None else then(obj)

    return adapt


def resolve(value: str, *, builtins: Mapping[str, Any], group: str, kind: str,
            adapt: Callable[[Any], Any]) -> Any:
    """Look ``value`` up as a built-in, entry point or ``module:function``.

    Parameters
    ----------
    value : str
        What the scenario says.
    builtins : mapping
        Built-in name -> object (returned as is).
    group : str
        Entry point group, e.g. ``"cosim.mechanisms"``.
    kind : str
        What is looked up, for messages (``"mechanism"``).
    adapt : callable
        Checks and converts a loaded object; raises :class:`PluginError` with
        the signature problem (see :func:`check_callable`).

    Raises
    ------
    PluginError
        Unknown name (the message lists the available ones), a reference that
        does not import, or an object with the wrong signature.
    """
    if value in builtins:
        return builtins[value]
    if is_reference(value):
        obj = load_reference(value)
        where = value
    else:
        eps = registered(group)
        if value not in eps:
            raise PluginError(f"unknown {kind} {value!r}; allowed: {', '.join(available(builtins, group))} "
                              f"(or 'package.module:function', or an entry point in group {group!r})")
        try:
            obj = eps[value].load()
        except Exception as exc:  # noqa: BLE001 - a broken installed plug-in
            raise PluginError(f"entry point {value!r} of group {group!r} ({eps[value].value}) does not load "
                              f"({_one_line(exc)})") from None
        where = f"entry point {value!r} ({eps[value].value})"
    try:
        return adapt(obj)
    except PluginError as exc:
        raise PluginError(f"{kind} {where} {exc}") from None


def _sig(fn: Callable) -> str:
    try:
        return f"{getattr(fn, '__name__', 'object')}{inspect.signature(fn)}"
    except (TypeError, ValueError):
        return repr(fn)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
