"""The ledger as a service over a run: transactions in, answers, events and series out.

Pure numpy, no mosaik (adapter: :mod:`.mosaik`). The block and queue model is
:class:`simulators.common.dlt.DistributedLedger` (one truth, also used by the
scenario schema to check a preset's parameters); this module applies it to the
batches the market submits and keeps what the ledger publishes:

* per transaction, its answer (:data:`simulators.common.dlt.ANSWER_DTYPE`):
  inclusion and confirmation time and whether it is final by its deadline
  (``confirmation_s <= deadline_s``, :func:`simulators.common.dlt.settle_in_time`);
* one ``/events/ledger`` record per transaction (:data:`EVENT_LEDGER_DTYPE`);
* per batch (a gate closure), the number of transactions, of those not final
  in time and the longest submit-to-final time; over the run, the running
  totals of fees and of the ledger's electricity use.
"""

from __future__ import annotations

import numpy as np

from simulators.common.dlt import ANSWER_DTYPE, TX_DTYPE, DistributedLedger, LedgerParams, settle_in_time
from simulators.ledger.errors import LedgerInputError

#: ``/events/ledger``: one record per transaction of a trade on the distributed ledger.
EVENT_LEDGER_DTYPE = np.dtype([
    ("interval_s", np.int64),        # delivery interval of the trade [s]
    ("buyer", np.int32),
    ("seller", np.int32),
    ("quantity_mwh", np.float64),    # agreed quantity [MWh]
    ("submit_s", np.float64),        # submitted at gate closure [s since start]
    ("inclusion_s", np.float64),     # time of the block that includes it [s]
    ("confirmation_s", np.float64),  # final after confirmation_depth blocks [s]
    ("deadline_s", np.float64),      # must be final by [s]
    ("final_in_time", np.int8),      # 1: settled as agreed; 0: dropped (retail backstop)
    ("fee_eur", np.float64),
])

#: Series of the ledger: per batch (``tx``, ``tx_not_final``, ``latency_max_s``) and
#: running totals (``fee_eur``, ``energy_kwh``).
SCALARS = ("tx", "tx_not_final", "latency_max_s", "fee_eur", "energy_kwh")


class LedgerService:
    """One ledger over a run.

    Parameters
    ----------
    params : LedgerParams
        Block interval, capacity, confirmation depth, fee and energy per transaction.
    rng : numpy.random.Generator
        Seeded generator of the block times (and missed slots).
    """

    def __init__(self, params: LedgerParams, rng: np.random.Generator) -> None:
        self.dlt = DistributedLedger(params, rng)
        self.values: dict[str, float] = dict.fromkeys(SCALARS, 0.0)
        self.out_events: list[np.ndarray] = []

    def new_batch(self) -> None:
        """Start a new gate: the per-batch series go back to zero (running totals stay)."""
        self.values.update(tx=0.0, tx_not_final=0.0, latency_max_s=0.0)

    def submit(self, tx: np.ndarray) -> np.ndarray:
        """Queue one batch of transactions (:data:`TX_DTYPE`, in time order); return their answers.

        Raises :class:`LedgerInputError` for records of another type or out of
        time order (the queue is first in, first out over the whole run).
        """
        if tx.dtype != TX_DTYPE:
            raise LedgerInputError(f"transactions must be TX_DTYPE records; got dtype {tx.dtype}")
        n = len(tx)
        ans = np.zeros(n, ANSWER_DTYPE)
        if n == 0:
            return ans
        try:
            inc, conf = self.dlt.submit(tx["submit_s"])
        except ValueError as exc:  # out of time order
            raise LedgerInputError(f"transactions: {exc}; got submit_s from {tx['submit_s'].min()} s") from None
        ok = settle_in_time(conf, tx["deadline_s"])
        fee, energy = self.dlt.cost(1)
        ans["trade_id"], ans["inclusion_s"], ans["confirmation_s"] = tx["trade_id"], inc, conf
        ans["final_in_time"], ans["fee_eur"] = ok, fee
        ev = np.zeros(n, EVENT_LEDGER_DTYPE)
        for f in ("interval_s", "buyer", "seller", "quantity_mwh", "submit_s", "deadline_s"):
            ev[f] = tx[f]
        ev["inclusion_s"], ev["confirmation_s"], ev["final_in_time"], ev["fee_eur"] = inc, conf, ok, fee
        self.out_events.append(ev)
        v = self.values
        v["tx"] += n
        v["tx_not_final"] += float((~ok).sum())
        v["latency_max_s"] = max(v["latency_max_s"], float((conf - tx["submit_s"]).max()))
        v["fee_eur"] += n * fee
        v["energy_kwh"] += n * energy
        return ans

    def take_events(self) -> np.ndarray:
        """``/events/ledger`` records produced since the last call."""
        ev = np.concatenate(self.out_events) if self.out_events else np.zeros(0, EVENT_LEDGER_DTYPE)
        self.out_events = []
        return ev
