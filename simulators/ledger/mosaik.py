"""mosaik adapter of the distributed ledger (model: :mod:`.model`).

One model ``Ledger`` (one entity). ``transactions_in`` is a trigger: the
market submits its trades at gate closure (:data:`simulators.common.dlt.TX_DTYPE`)
and gets the answer per transaction on ``answers_out``
(:data:`simulators.common.dlt.ANSWER_DTYPE`) *at the same instant*: the world
closes the market -> ledger -> market loop with a ``weak`` connection back into
the market, so the market publishes results that already know finality.

The simulator also self-steps at the market's gate closures (``gates``: the
market's decision schedule, passed by the orchestrator unread), so the
per-gate series ``tx``, ``tx_not_final`` and ``latency_max_s`` read 0 at a gate
without trades instead of keeping the last gate's values.
"""

from __future__ import annotations

import math

import numpy as np

from simulators.common.adapter import Adapter, Attr
from simulators.common.dlt import LedgerConfig
from simulators.ledger.errors import LedgerConfigError
from simulators.ledger.model import SCALARS, LedgerService

ATTRS = (
    Attr("transactions_in", "", "", "trades submitted by the market at gate closure (TX_DTYPE)", "trigger"),
    Attr("answers_out", "", "", "per transaction: inclusion and confirmation time, final by its deadline, "
         "fee (ANSWER_DTYPE)", "output"),
    Attr("events_ledger", "", "", "one record per trade transaction (submit, inclusion, confirmation, deadline, "
         "final in time, fee)", "event"),
    Attr("tx", "count", "", "transactions submitted at the last gate"),
    Attr("tx_not_final", "count", "", "of these, not final by their deadline (the market drops them)"),
    Attr("latency_max_s", "s", "", "longest submit-to-final time at the last gate"),
    Attr("fee_eur", "EUR", "", "running total of transaction fees"),
    Attr("energy_kwh", "kWh", "", "running total of the ledger's electricity use"),
)


class LedgerSim(Adapter):
    """Distributed ledger that confirms the market's peer-to-peer trades."""

    MODEL = "Ledger"
    TYPE = "hybrid"
    ATTRS = ATTRS

    def __init__(self) -> None:
        super().__init__()
        self.svc: LedgerService | None = None
        self._gates: dict | None = None
        self._end_s = math.inf

    def setup(self, config=None, seed=0, step_s=900, n_steps=96, gates=None, **_) -> None:
        """``config``: the ``market.ledger`` section; ``seed``: the block schedule's seed
        (the ledger draws from the first child of ``SeedSequence(seed)``); ``gates``:
        ``{"period_s", "offsets_s"}``, the times to self-step at (None: only when triggered)."""
        try:
            params = LedgerConfig.model_validate(config or {}).params()
        except ValueError as exc:
            raise LedgerConfigError(f"market.ledger: {' '.join(str(exc).split())}") from None
        rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
        self.svc = LedgerService(params, rng)
        self._gates = gates
        self._end_s = float(step_s) * int(n_steps)

    def advance(self, time, inputs):
        svc = self.svc
        svc.new_batch()
        for batch in inputs.get("transactions_in", {}).values():
            if batch is not None and len(batch):
                self.emit("answers_out", svc.submit(batch))
        self.emit("events_ledger", svc.take_events())
        return self._next_gate(self.ms(time) / 1000.0)

    def _next_gate(self, now_s: float) -> int | None:
        """Tick of the first gate closure after ``now_s`` (None: none left in the run)."""
        if not self._gates:
            return None
        period = float(self._gates["period_s"])
        t = min((math.floor((now_s - o) / period) + 1) * period + o for o in self._gates["offsets_s"])
        return self.ticks(t) if t < self._end_s else None

    def value(self, attr):
        return self.svc.values.get(attr)


META = LedgerSim.meta_dict()
