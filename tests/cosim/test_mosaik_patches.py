"""The Progress.set workaround drops cancelled waits and behaves like mosaik's own set."""

from __future__ import annotations

import asyncio

from mosaik.tiered_time import TieredTime

from cosim import mosaik_patches


def test_cancelled_waits_are_dropped_and_live_ones_still_fire():
    mosaik_patches.apply()
    from mosaik.progress import Progress

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
