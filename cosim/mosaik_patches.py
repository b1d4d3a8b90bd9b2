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

A second, independent replacement makes mosaik 3.6's ``advance_progress``
cheaper without changing a decision (:func:`_advance_progress_skipping_unchanged`):
after every simulator step, mosaik recomputes the progress of *every*
simulator and calls ``Progress.set``, which scans that simulator's waits, even
when the progress has not moved (most of the 6 x 7 calls per interval of a
full-stack run). A ``set`` to the time the progress already has triggers
nothing (a wait is checked against the current time when it is added, and
``_triggered_time`` depends only on that time), so the replacement skips it,
and it computes the constant end-of-run bound once per simulator. It is
installed only where ``advance_progress`` and ``Progress._add_trigger`` are
exactly mosaik 3.6.0's code (:data:`KNOWN_ADVANCE_SOURCES`).
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

#: SHA-256 of the source of the functions :func:`_advance_progress_skipping_unchanged`
#: reproduces or relies on, as shipped by mosaik 3.6.0.
KNOWN_ADVANCE_SOURCES = {
    "advance_progress": "205af32686eb414e302d34ee71f09368308225705db3a1464648ec553bd8feb3",
    "_add_trigger": KNOWN_LEAKY_SOURCES["_add_trigger"],
}

#: Outcomes of :func:`decide`.
APPLY, FIXED_UPSTREAM, UNKNOWN_SHAPE = "apply", "fixed_upstream", "unknown_shape"

_STATUS: str | None = None
_ADVANCE_STATUS: str | None = None
#: mosaik's own functions that :func:`apply` replaced, by name.
ORIGINALS: dict = {}


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


def _advance_progress_skipping_unchanged(sim, world) -> None:
    """mosaik 3.6.0's ``scheduler.advance_progress``, without the ``set`` calls that cannot change anything.

    Same minimum over the same candidates as mosaik's function (real-time
    mode included); ``Progress.set`` is called only when the new progress
    differs from the current one, which is the only case in which it can
    trigger a wait (see the module docstring). A progress that would move
    backwards still reaches ``set`` and its assertion.
    """
    candidates = [distance.earliest_sum(pre_sim.next_steps[0])
                  for pre_sim, distance in sim.triggering_ancestors.items() if pre_sim.next_steps]
    if sim.next_steps:
        candidates.append(sim.next_steps[0])
    if sim.current_step:
        candidates.append(sim.current_step)
    if world.rt_factor:
        from math import ceil
        from time import perf_counter

        from mosaik.tiered_time import TieredTime

        candidates.append(TieredTime(ceil((perf_counter() - sim.rt_start) / world.rt_factor)))
    end = sim.__dict__.get("_cosim_end")  # (until, from_world_time, their sum), constant for a run
    if end is None or end[0] != world.until or end[1] is not sim.from_world_time:
        from mosaik.tiered_time import TieredTime

        end = sim._cosim_end = (world.until, sim.from_world_time, TieredTime(world.until) + sim.from_world_time)
    candidates.append(end[2])
    new_progress = min(candidates)
    if new_progress != sim.progress.time:
        sim.progress.set(new_progress)
    sim.tqdm.update(new_progress.time - sim.tqdm.n)


def advance_fingerprint() -> dict[str, str | None]:
    """SHA-256 of the installed mosaik's functions in :data:`KNOWN_ADVANCE_SOURCES` (None if unreadable)."""
    import mosaik.progress
    import mosaik.scheduler

    owners = {"advance_progress": mosaik.scheduler, "_add_trigger": mosaik.progress.Progress}
    out: dict[str, str | None] = {}
    for name in KNOWN_ADVANCE_SOURCES:
        try:
            text = inspect.getsource(getattr(owners[name], name))
        except (OSError, TypeError, AttributeError):
            out[name] = None
            continue
        out[name] = hashlib.sha256(text.encode()).hexdigest()
    return out


def advance_status() -> str | None:
    """Whether the ``advance_progress`` replacement is installed (:data:`APPLY` or
    :data:`UNKNOWN_SHAPE`; None before the first :func:`apply`)."""
    return _ADVANCE_STATUS


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
    global _STATUS, _ADVANCE_STATUS
    if _STATUS is not None:
        return _STATUS
    import mosaik.progress
    import mosaik.scheduler

    # independent of the leak: installed only on the exact code it reproduces
    if advance_fingerprint() == KNOWN_ADVANCE_SOURCES:
        ORIGINALS["advance_progress"] = mosaik.scheduler.advance_progress
        mosaik.scheduler.advance_progress = _advance_progress_skipping_unchanged
        _ADVANCE_STATUS = APPLY
    else:
        _ADVANCE_STATUS = UNKNOWN_SHAPE

    verdict = decide(mosaik.progress.Progress)
    if verdict == APPLY:
        mosaik.progress.Progress.set = _set_dropping_cancelled
    elif verdict == UNKNOWN_SHAPE:
        log.warning("mosaik's Progress leaks cancelled waits but its code is not the one this workaround "
                    "was written for; runs stay correct but slow down with length (docs/mosaik_workaround.md)")
    _STATUS = verdict
    return verdict
