"""A guarded workaround for a scheduling cost in mosaik 3.6 that grows with run length.

``mosaik.progress.Progress`` keeps the futures of every ``has_reached`` /
``has_passed`` wait in a list and removes an entry only once its trigger time
is reached. The scheduler cancels many of those waits (it waits for several
predecessors and gives up on the rest), and a cancelled future whose trigger
time lies far ahead stays in the list. Every ``Progress.set`` scans the whole
list, so the cost per step grows with the number of steps run: in a full-stack
run 97 % of the entries scanned were cancelled futures, and the time per step
rose from 30 ms over 2 days to 55 ms over 8 days.

The replacement drops cancelled futures when it meets them. mosaik's own
``set`` already ignores them (it never sets a result on a cancelled future),
so the scheduling decisions and the order in which results are set are
unchanged; only dead entries go away earlier.

When it is applied
------------------
Only where both hold (:func:`decide`):

1. the installed ``Progress`` leaks: a cancelled wait stays in
   ``Progress._futures`` (a behaviour probe on a private event loop), and
2. ``Progress.set`` and ``Progress._add_trigger`` are exactly the code the
   replacement was written against (:data:`KNOWN_LEAKY_SOURCES`, mosaik 3.6.0).

mosaik 3.7 fixed the leak upstream differently: each wait removes its own
entry in a ``finally`` block of ``_add_trigger``, and its ``set`` no longer
deletes entries. There the replacement would delete an entry that
``_add_trigger`` removes again, and ``list.remove`` would raise in every run;
the probe finds no leak, so nothing is patched. A ``Progress`` that leaks but
has other code is left alone too (correct, only slower), with a warning.
``tests/cosim/test_mosaik_patches.py`` fails in both of these cases, and
``docs/mosaik_workaround.md`` says when to remove this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging

log = logging.getLogger(__name__)

#: SHA-256 of ``inspect.getsource`` of the methods the replacement depends on, as
#: shipped by mosaik 3.6.0 (the version whose leak this module works around).
KNOWN_LEAKY_SOURCES = {
    "set": "004c919296c4ac364161e1392e1f2dcd5114442d179fe46cecf001a4a99a93da",
    "_add_trigger": "6ad4e90bb25c3c2dadcd1c1611121c2d12efde3e63216218c07560a9f91d3f4d",
}

#: Outcomes of :func:`decide`.
APPLY, FIXED_UPSTREAM, UNKNOWN_SHAPE = "apply", "fixed_upstream", "unknown_shape"

_STATUS: str | None = None


def _set_dropping_cancelled(self, time) -> None:
    """``Progress.set`` that also forgets cancelled waits (see module docstring)."""
    assert time >= self.time, "cannot progress backwards"
    self.time = time
    futures = self._futures
    for index in reversed(range(len(futures))):
        trigger_spec, future = futures[index]
        if future.cancelled():
            del futures[index]
            continue
        triggered_time = self._triggered_time(trigger_spec)
        if triggered_time:
            future.set_result(triggered_time)
            del futures[index]


def cancelled_wait_stays(progress_cls: type) -> bool:
    """Whether a cancelled ``has_reached`` wait stays in ``_futures`` (the leak).

    Runs on a private event loop, so an application's loop is not touched.
    """
    from mosaik.tiered_time import TieredTime

    async def probe() -> bool:
        progress = progress_cls(TieredTime(0))
        wait = asyncio.ensure_future(progress.has_reached(TieredTime(1)))
        await asyncio.sleep(0)  # let the wait register its future
        wait.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await wait
        return len(progress._futures) > 0

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(probe())
    finally:
        loop.close()


def source_fingerprint(progress_cls: type) -> dict[str, str | None]:
    """SHA-256 of the source of each method in :data:`KNOWN_LEAKY_SOURCES` (None if unreadable)."""
    out: dict[str, str | None] = {}
    for name in KNOWN_LEAKY_SOURCES:
        try:
            text = inspect.getsource(getattr(progress_cls, name))
        except (OSError, TypeError, AttributeError):
            out[name] = None
            continue
        out[name] = hashlib.sha256(text.encode()).hexdigest()
    return out


def decide(progress_cls: type) -> str:
    """:data:`APPLY`, :data:`FIXED_UPSTREAM` or :data:`UNKNOWN_SHAPE` for a ``Progress`` class."""
    if not cancelled_wait_stays(progress_cls):
        return FIXED_UPSTREAM
    if source_fingerprint(progress_cls) != KNOWN_LEAKY_SOURCES:
        return UNKNOWN_SHAPE
    return APPLY


def status() -> str | None:
    """What :func:`apply` decided (None before the first call)."""
    return _STATUS


def apply() -> str:
    """Install the workaround where :func:`decide` allows it (idempotent).

    Returns
    -------
    str
        :data:`APPLY` (installed), :data:`FIXED_UPSTREAM` or :data:`UNKNOWN_SHAPE`
        (not installed).
    """
    global _STATUS
    if _STATUS is not None:
        return _STATUS
    import mosaik.progress

    verdict = decide(mosaik.progress.Progress)
    if verdict == APPLY:
        mosaik.progress.Progress.set = _set_dropping_cancelled
    elif verdict == UNKNOWN_SHAPE:
        log.warning("mosaik's Progress leaks cancelled waits but its code is not the one this workaround "
                    "was written for; runs stay correct but slow down with length (docs/mosaik_workaround.md)")
    _STATUS = verdict
    return verdict
