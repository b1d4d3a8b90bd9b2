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


# --------------------------------------------------------------------------- advance_progress

def test_installed_advance_progress_is_the_code_the_replacement_reproduces():
    import mosaik.scheduler

    mp.apply()
    if mp.advance_status() != mp.APPLY:
        pytest.fail(f"mosaik's advance_progress / Progress._add_trigger changed ({mp.advance_fingerprint()}); "
                    "the replacement is not installed: review it against the new code (docs/mosaik_workaround.md)")
    assert mosaik.scheduler.advance_progress is mp._advance_progress_skipping_unchanged
    assert mp.ORIGINALS["advance_progress"].__module__ == "mosaik.scheduler"


class _Tqdm:
    n = 0

    def update(self, k):
        self.n += k


class _Sim:
    """The attributes of mosaik's SimRunner that advance_progress reads."""

    def __init__(self, progress, next_steps, current_step, ancestors, from_world_time):
        self.progress, self.next_steps, self.current_step = progress, next_steps, current_step
        self.triggering_ancestors, self.from_world_time, self.tqdm = ancestors, from_world_time, _Tqdm()


class _World:
    rt_factor = None

    def __init__(self, until):
        self.until = until


def _random_case(rng, tiers):
    """A simulator in a state mosaik can reach (no candidate below its progress): random ancestors
    (one- or two-tier durations), next steps, and the current step (= the progress) or none."""
    from mosaik.tiered_time import MinimalDurations, TieredDuration

    def t(x):
        return TieredTime(*([x] + [int(rng.integers(0, 3)) for _ in range(tiers - 1)]))

    start = int(rng.integers(0, 10))
    ancestors = {}
    for _ in range(int(rng.integers(0, 4))):
        pre = _Sim(None, sorted(t(int(v)) for v in rng.integers(start, 50, int(rng.integers(0, 3)))), None, {},
                   None)
        md = MinimalDurations()
        for _ in range(int(rng.integers(1, 3))):
            md.insert(TieredDuration(*[int(v) for v in rng.integers(0, 20, tiers)]))
        ancestors[pre] = md
    next_steps = sorted(t(int(v)) for v in rng.integers(start + 1, 60, int(rng.integers(0, 3))))
    current = TieredTime(*([start] + [0] * (tiers - 1))) if rng.random() < 0.3 else None
    return start, next_steps, current, ancestors, TieredDuration(*([0] * tiers), cutoff=1)


def test_advance_progress_replacement_gives_mosaiks_progress_and_triggers_the_same_waits():
    """Against mosaik's own function (reference), on 400 random simulators with pending waits.

    Both are run on twin states; the progress reached and the set of waits
    that fire must be equal (exact: the replacement skips only a ``set`` to
    the time the progress already has). The skipped case must occur, or the
    test would not test it.
    """
    import numpy as np

    mp.apply()
    reference = mp.ORIGINALS["advance_progress"]
    rng = np.random.default_rng(20261201)
    skipped = 0

    async def run_one(fn, case, targets, until):
        start, next_steps, current, ancestors, fwt = case
        p = Progress(TieredTime(*([start] + [0] * (len(fwt) - 1))))
        sim = _Sim(p, list(next_steps), current, ancestors, fwt)
        waits = [asyncio.ensure_future(p.has_reached(x)) for x in targets]
        await asyncio.sleep(0)
        before = p.time
        fn(sim, _World(until))
        await asyncio.sleep(0)
        return p.time, [w.done() for w in waits], p.time == before

    for i in range(400):
        tiers = 1 if i % 2 else 2
        case = _random_case(rng, tiers)
        start = case[0]
        targets = [TieredTime(*([int(v)] + [0] * (tiers - 1))) for v in rng.integers(start, 70, 4)]
        until = int(rng.integers(start + 1, 80))
        ref = asyncio.run(run_one(reference, case, targets, until))
        new = asyncio.run(run_one(mp._advance_progress_skipping_unchanged, case, targets, until))
        assert new[:2] == ref[:2], (i, ref, new)
        skipped += new[2]
    assert skipped > 0


def test_a_set_to_the_current_time_triggers_no_wait():
    """The premise of the skip, on mosaik's own Progress: waits added at time t are not triggered by set(t)."""
    async def scenario():
        p = Progress(TieredTime(3))
        waits = [asyncio.ensure_future(p.has_reached(TieredTime(k))) for k in (4, 5, 9)]
        waits += [asyncio.ensure_future(p.has_passed(TieredTime(k))) for k in (3, 4)]
        await asyncio.sleep(0)
        p.set(TieredTime(3))
        await asyncio.sleep(0)
        assert not any(w.done() for w in waits)
        p.set(TieredTime(4))
        await asyncio.sleep(0)
        assert [w.done() for w in waits] == [True, False, False, True, False]
        for w in waits:
            w.cancel()

    asyncio.run(scenario())
