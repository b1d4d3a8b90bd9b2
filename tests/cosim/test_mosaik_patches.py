"""The guarded Progress.set workaround (cosim/mosaik_patches.py, docs/mosaik_workaround.md).

* On the installed mosaik (pinned to 3.6 in pyproject.toml) the guard applies
  the workaround; the first test fails as soon as the installed ``Progress``
  changes shape (other code, or the leak fixed upstream) and says what to do.
* The replacement drops cancelled waits and behaves like mosaik's own set.
* On a ``Progress`` that removes its own waits (mosaik 3.7's design) the guard
  applies nothing; forcing the replacement there raises, which is the failure
  the guard prevents.
"""

from __future__ import annotations

import asyncio

import pytest
from mosaik.progress import Progress
from mosaik.tiered_time import TieredTime

from cosim import mosaik_patches as mp


def test_installed_progress_is_the_shape_the_workaround_was_written_for():
    verdict = mp.apply()
    if verdict == mp.FIXED_UPSTREAM:
        pytest.fail("the installed mosaik no longer leaks cancelled waits: the workaround is not applied; "
                    "remove cosim/mosaik_patches.py and widen the mosaik pin (docs/mosaik_workaround.md)")
    if verdict == mp.UNKNOWN_SHAPE:
        pytest.fail(f"mosaik's Progress changed ({mp.source_fingerprint(Progress)}); the workaround is not "
                    "applied: review it against the new code (docs/mosaik_workaround.md)")
    assert verdict == mp.APPLY and Progress.set is mp._set_dropping_cancelled
    assert mp.apply() == mp.APPLY  # idempotent


def test_cancelled_waits_are_dropped_and_live_ones_still_fire():
    assert mp.apply() == mp.APPLY

    async def scenario():
        p = Progress(TieredTime(0))
        far = [asyncio.ensure_future(p.has_reached(TieredTime(10**9))) for _ in range(50)]
        near = asyncio.ensure_future(p.has_reached(TieredTime(5)))
        await asyncio.sleep(0)  # let the waits register their futures
        assert len(p._futures) == 51
        for f in far:
            f.cancel()
        await asyncio.sleep(0)
        p.set(TieredTime(1))  # nothing triggered yet, but the 50 dead waits go
        assert len(p._futures) == 1 and not near.done()
        p.set(TieredTime(5))
        await asyncio.sleep(0)
        assert near.done() and near.result() == TieredTime(5) and p._futures == []

    asyncio.run(scenario())


class SelfCleaningProgress(Progress):
    """A Progress whose waits remove their own entry (the design mosaik 3.7 adopted)."""

    def set(self, time):  # noqa: D102 - sets results, never deletes entries
        assert time >= self.time
        self.time = time
        for trigger_spec, future in self._futures:
            triggered = self._triggered_time(trigger_spec)
            if triggered and not future.done():
                future.set_result(triggered)

    async def _add_trigger(self, target, shift, needs_to_pass):  # noqa: D102
        spec = (target, shift if shift is not None else _zero(self.time), needs_to_pass)
        triggered = self._triggered_time(spec)
        if triggered:
            return triggered
        future = asyncio.get_running_loop().create_future()
        waiting = (spec, future)
        self._futures.append(waiting)
        try:
            return await future
        finally:
            self._futures.remove(waiting)


def _zero(time):
    from mosaik.tiered_time import TieredDuration

    return TieredDuration(*((0,) * len(time)))


def _wait_and_reach(progress_cls):
    async def scenario():
        p = progress_cls(TieredTime(0))
        wait = asyncio.ensure_future(p.has_reached(TieredTime(1)))
        await asyncio.sleep(0)
        p.set(TieredTime(1))
        return await wait

    return asyncio.run(scenario())


def test_guard_leaves_a_self_cleaning_progress_alone():
    assert not mp.cancelled_wait_stays(SelfCleaningProgress)
    assert mp.decide(SelfCleaningProgress) == mp.FIXED_UPSTREAM
    assert _wait_and_reach(SelfCleaningProgress) == TieredTime(1)


def test_forcing_the_workaround_on_a_self_cleaning_progress_breaks_every_wait():
    class Forced(SelfCleaningProgress):
        set = mp._set_dropping_cancelled

    with pytest.raises(ValueError, match="not in list"):
        _wait_and_reach(Forced)


def test_guard_refuses_a_leaking_progress_with_other_code():
    class Changed(Progress):
        def set(self, time):  # noqa: D102 - same behaviour, other code than mosaik 3.6.0's set
            mp._set_dropping_cancelled(self, time)

    assert mp.cancelled_wait_stays(Changed)
    assert mp.decide(Changed) == mp.UNKNOWN_SHAPE
