"""A distributed ledger that settles peer-to-peer trades: blocks, capacity, confirmations.

Pure numpy (and the pydantic scenario section at the end), no mosaik.
Both market reviews the testbed is built from discuss blockchain platforms
for settling local peer-to-peer trades (consensus by proof of work, proof of
stake or authority; block interval; throughput; fees). What matters for
the grid and the money is *when* a trade is final: a trade settles only if
its transaction is confirmed by its deadline (by default the start of its
delivery interval; ``deadline: delivery_end``: its end, when the meters are
read); otherwise the trade falls back to the retailer.

The model
---------
* **Blocks.** Block ``k`` is produced at time ``b_k`` [s since run start].
  ``interval_law = "exponential"``: inter-block times are exponential with
  mean ``block_interval_s`` (proof-of-work mining is a Poisson process,
  Nakamoto 2008, section 11). ``"fixed"``: one slot every
  ``block_interval_s``; with probability ``missed_slot_prob`` a slot
  produces no block (proof of stake, authority).
* **Capacity.** A block holds ``block_capacity_tx`` transactions, of which
  the share ``background_share`` is taken by other users of a public
  ledger (an assumption of the scenario; 0 for a permissioned ledger run
  for the market). The market's transactions get
  ``floor(block_capacity_tx * (1 - background_share))`` slots per block.
* **Queue.** Transactions wait in first-in-first-out order (one fee for all,
  so no fee priority): block ``k`` includes the oldest waiting transactions
  that arrived strictly before ``b_k`` (a block produced at the submission
  instant cannot contain it), up to its free slots.
* **Confirmation.** A transaction included in block ``k`` is confirmed when
  block ``k + confirmation_depth - 1`` is produced (depth 1: final with its
  own block, as for a BFT/authority ledger).

Because arrivals are submitted in time order and service is FIFO, a batch's
inclusion and confirmation times follow from the blocks and the free slots
left by earlier batches alone; :meth:`DistributedLedger.submit` returns them
at once (later arrivals cannot change them). The loop runs over *blocks*
touched by a batch, never over transactions.

Presets (:data:`PRESETS`) with their sources; figures without a citable
source are labelled assumptions.

Shared by two simulators
------------------------
The ledger runs as its own simulator (:mod:`simulators.ledger`); the market
submits its trades to it and settles them on its answer. What crosses that
border is defined here, once: the scenario section ``market.ledger``
(:class:`LedgerConfig`), one transaction per trade (:data:`TX_DTYPE`) and
the ledger's answer per transaction (:data:`ANSWER_DTYPE`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, model_validator

from simulators.common.schema import STRICT

#: One transaction the market submits per trade (``transactions_out`` -> ledger ``transactions_in``).
TX_DTYPE = np.dtype([
    ("trade_id", np.int64),         # unique over the run (the market numbers its trades)
    ("interval_s", np.int64),       # delivery interval of the trade [s since start]
    ("buyer", np.int32),
    ("seller", np.int32),
    ("quantity_mwh", np.float64),   # agreed quantity [MWh]
    ("submit_s", np.float64),       # submitted at [s since start] (gate closure)
    ("deadline_s", np.float64),     # must be final by [s since start] (the market's rule)
])

#: The ledger's answer per transaction (ledger ``answers_out`` -> market ``ledger_in``).
ANSWER_DTYPE = np.dtype([
    ("trade_id", np.int64),
    ("inclusion_s", np.float64),     # time of the block that includes it [s]
    ("confirmation_s", np.float64),  # final after confirmation_depth blocks [s]
    ("final_in_time", np.int8),      # 1: confirmation_s <= deadline_s
    ("fee_eur", np.float64),         # fee of this transaction [EUR]
])


@dataclass(frozen=True)
class LedgerParams:
    """Parameters of a ledger (see the module docstring for the model).

    Attributes
    ----------
    block_interval_s : float
        Mean time between blocks (exponential) or slot length (fixed) [s].
    interval_law : str
        ``"exponential"`` or ``"fixed"``.
    missed_slot_prob : float
        Probability that a fixed slot produces no block [-].
    block_capacity_tx : int
        Transactions per block [tx].
    background_share : float
        Share of each block's capacity used by others [-], in [0, 1).
    confirmation_depth : int
        Blocks until final, counting the including block [-], >= 1.
    fee_eur_per_tx : float
        Fee per transaction [EUR].
    energy_kwh_per_tx : float
        Electricity used by the ledger per transaction [kWh].
    """

    block_interval_s: float
    interval_law: str = "fixed"
    missed_slot_prob: float = 0.0
    block_capacity_tx: int = 500
    background_share: float = 0.0
    confirmation_depth: int = 1
    fee_eur_per_tx: float = 0.0
    energy_kwh_per_tx: float = 0.0
    sources: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.block_interval_s > 0:
            raise ValueError(f"block_interval_s must be > 0; got {self.block_interval_s}")
        if self.interval_law not in ("exponential", "fixed"):
            raise ValueError(f"interval_law must be 'exponential' or 'fixed'; got {self.interval_law!r}")
        if not 0.0 <= self.missed_slot_prob < 1.0:
            raise ValueError(f"missed_slot_prob must be in [0, 1); got {self.missed_slot_prob}")
        if not 0.0 <= self.background_share < 1.0:
            raise ValueError(f"background_share must be in [0, 1); got {self.background_share}")
        if self.free_slots < 1:
            raise ValueError("block_capacity_tx * (1 - background_share) leaves no slot for the market; "
                             f"got capacity {self.block_capacity_tx}, background share {self.background_share}")
        if int(self.confirmation_depth) < 1:
            raise ValueError(f"confirmation_depth must be >= 1; got {self.confirmation_depth}")

    @property
    def free_slots(self) -> int:
        """Slots per block left for the market's transactions [tx]."""
        return int(np.floor(int(self.block_capacity_tx) * (1.0 - float(self.background_share)) + 1e-9))


#: Presets named by the scenario (``dlt.preset``). Each figure with its source.
PRESETS: dict[str, LedgerParams] = {
    # Proof-of-work-like (Bitcoin as the reference public PoW ledger).
    "proof_of_work": LedgerParams(
        block_interval_s=600.0,
        interval_law="exponential",
        block_capacity_tx=2500,
        background_share=0.9,
        confirmation_depth=6,
        fee_eur_per_tx=1.5,
        energy_kwh_per_tx=700.0,
        sources={
            "block_interval_s": "Bitcoin difficulty target of 10 min; Poisson block arrivals (Nakamoto 2008, sec. 11)",
            "block_capacity_tx": "about 2,000-2,700 transactions per block, Bitcoin 2020-2021 (blockchain.com charts);"
                                 " 2,500 taken",
            "background_share": "assumption: a public ledger's blocks are mostly full with others' transactions",
            "confirmation_depth": "6 confirmations, common exchange practice after Nakamoto 2008 sec. 11",
            "fee_eur_per_tx": "assumption in the range of Bitcoin median fees 2019-2021 (about 0.5-5 USD)",
            "energy_kwh_per_tx": "Digiconomist Bitcoin Energy Consumption Index, about 700 kWh per transaction (2021)",
        },
    ),
    # Proof-of-stake-like (Ethereum after the Merge as the reference).
    "proof_of_stake": LedgerParams(
        block_interval_s=12.0,
        interval_law="fixed",
        missed_slot_prob=0.01,
        block_capacity_tx=300,
        background_share=0.5,
        confirmation_depth=64,
        fee_eur_per_tx=0.5,
        energy_kwh_per_tx=0.0065,
        sources={
            "block_interval_s": "SECONDS_PER_SLOT = 12, Ethereum consensus specification (phase0)",
            "missed_slot_prob": "assumption: about 1 % missed slots on the Ethereum beacon chain 2023",
            "block_capacity_tx": "30 M gas limit / about 100,000 gas per settlement contract call (assumption)",
            "background_share": "assumption",
            "confirmation_depth": "finality after two epochs of 32 slots (Casper FFG; Ethereum consensus spec)",
            "fee_eur_per_tx": "assumption",
            "energy_kwh_per_tx": "CCRI (2022) about 2.6 GWh/a for proof-of-stake Ethereum over about 1.1 M "
                                 "transactions per day",
        },
    ),
    # Permissioned ledger run by known authorities (Hyperledger Fabric ordering defaults).
    "authority": LedgerParams(
        block_interval_s=2.0,
        interval_law="fixed",
        block_capacity_tx=500,
        background_share=0.0,
        confirmation_depth=1,
        fee_eur_per_tx=0.0,
        energy_kwh_per_tx=0.0001,
        sources={
            "block_interval_s": "Hyperledger Fabric orderer default BatchTimeout 2 s (configtx.yaml)",
            "block_capacity_tx": "Hyperledger Fabric default MaxMessageCount 500 (configtx.yaml)",
            "confirmation_depth": "deterministic (BFT/Raft) finality: final with its block (Androulaki et al. 2018)",
            "fee_eur_per_tx": "permissioned ledger run by the market operator: no fee (assumption)",
            "energy_kwh_per_tx": "assumption: a handful of servers, negligible per transaction",
        },
    ),
}


def preset(name: str, **overrides) -> LedgerParams:
    """A preset with optional field overrides (validated again)."""
    if name not in PRESETS:
        raise ValueError(f"ledger preset {name!r} unknown; allowed: {', '.join(sorted(PRESETS))}")
    return replace(PRESETS[name], **overrides) if overrides else PRESETS[name]


class DistributedLedger:
    """Block production and FIFO inclusion of transactions over a run.

    Parameters
    ----------
    params : LedgerParams
    rng : numpy.random.Generator
        Seeded generator for block times and missed slots.
    """

    #: Blocks generated per extension of the schedule.
    CHUNK = 4096

    def __init__(self, params: LedgerParams, rng: np.random.Generator) -> None:
        self.p = params
        self.rng = rng
        self.block_s = np.empty(0)
        self._t_gen = 0.0          # schedule generated up to (exclusive) this time [s]
        self._slot = 0             # next fixed slot number
        self.used = np.empty(0, dtype=np.int64)   # market slots used per block
        self._first_open = 0       # no block before this one has free slots for new arrivals
        self._last_arrival = -np.inf
        self.n_tx = 0

    # -- block schedule ---------------------------------------------------
    def _extend(self) -> None:
        p = self.p
        if p.interval_law == "exponential":
            gaps = self.rng.exponential(p.block_interval_s, self.CHUNK)
            t = self._t_gen + np.cumsum(gaps)
            self._t_gen = float(t[-1])
        else:
            slots = self._slot + 1 + np.arange(self.CHUNK)
            self._slot += self.CHUNK
            keep = self.rng.random(self.CHUNK) >= p.missed_slot_prob
            t = slots[keep] * float(p.block_interval_s)
            self._t_gen = self._slot * float(p.block_interval_s)
        self.block_s = np.concatenate([self.block_s, t])
        self.used = np.concatenate([self.used, np.zeros(len(t), dtype=np.int64)])

    def _block_after(self, t_s: float) -> int:
        while len(self.block_s) == 0 or self.block_s[-1] <= t_s:
            self._extend()
        return int(np.searchsorted(self.block_s, t_s, side="right"))

    def _ensure_index(self, k: int) -> None:
        while len(self.block_s) <= k:
            self._extend()

    # -- transactions -----------------------------------------------------
    def submit(self, submit_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Queue transactions; return (inclusion_s, confirmation_s) per transaction [s].

        ``submit_s`` must be non-decreasing and not earlier than any earlier
        submission (a co-simulation submits in time order).
        """
        a = np.asarray(submit_s, dtype=float)
        n = len(a)
        inc = np.empty(n)
        conf = np.empty(n)
        if n == 0:
            return inc, conf
        if np.any(np.diff(a) < 0) or a[0] < self._last_arrival:
            raise ValueError("transactions must be submitted in time order")
        self._last_arrival = float(a[-1])
        cap = self.p.free_slots
        depth = int(self.p.confirmation_depth)
        head = 0
        k = max(self._first_open, self._block_after(float(a[0])))
        while head < n:
            self._ensure_index(k)
            free = cap - int(self.used[k])
            take = min(free, int(np.searchsorted(a, self.block_s[k], side="left")) - head)
            if take > 0:
                self.used[k] += take
                inc[head:head + take] = self.block_s[k]
                self._ensure_index(k + depth - 1)
                conf[head:head + take] = self.block_s[k + depth - 1]
                head += take
            if head < n:
                # block k is full, or every waiting transaction arrived after it
                k = max(k + 1, self._block_after(float(a[head])))
        # blocks before the last one used are closed to later arrivals (FIFO, time order)
        last = int(np.searchsorted(self.block_s, inc[-1], side="left"))
        self._first_open = last if self.used[last] < cap else last + 1
        self.n_tx += n
        return inc, conf

    def cost(self, n_tx: int) -> tuple[float, float]:
        """Fees [EUR] and ledger electricity [kWh] of ``n_tx`` transactions."""
        return n_tx * float(self.p.fee_eur_per_tx), n_tx * float(self.p.energy_kwh_per_tx)


def settle_in_time(confirmation_s: np.ndarray, deadline_s: np.ndarray) -> np.ndarray:
    """True where a transaction is final no later than its deadline."""
    return np.asarray(confirmation_s) <= np.asarray(deadline_s)


class LedgerConfig(BaseModel):
    """Scenario section ``market.ledger``: settlement of local trades on a distributed ledger.

    Setting it starts the ledger simulator (:mod:`simulators.ledger`) beside
    the market. ``preset`` names one of :data:`simulators.common.dlt.PRESETS` (``proof_of_work``,
    ``proof_of_stake``, ``authority``); every other field except ``deadline``,
    when given, overrides the preset's value. A trade is submitted as one
    transaction at gate closure and settles as agreed only if it is final by
    ``deadline`` (``delivery_start``: before its delivery interval begins;
    ``delivery_end``: by the meter reading). A trade that is not final is
    dropped before execution, so its volume follows the retail backstop rule
    (executed with the retailer if the order crosses the tariff, else not
    executed): the ledger changes the grid, not only the bills. The fee of a
    transaction is split equally between buyer and seller (an assumption).
    """

    model_config = STRICT
    #: Ledger type whose parameters apply (`simulators.common.dlt.PRESETS`, with sources).
    preset: Literal["proof_of_work", "proof_of_stake", "authority"] = "authority"
    #: A trade settles only if final before its delivery starts, or by its meter reading.
    deadline: Literal["delivery_start", "delivery_end"] = "delivery_start"
    #: Mean time between blocks or slot length [s] (null: the preset's).
    block_interval_s: float | None = Field(None, gt=0)
    #: Block times: exponential (proof of work) or fixed slots (null: the preset's).
    interval_law: Literal["exponential", "fixed"] | None = None
    #: Probability that a fixed slot produces no block [-] (null: the preset's).
    missed_slot_prob: float | None = Field(None, ge=0, lt=1)
    #: Transactions per block [tx] (null: the preset's).
    block_capacity_tx: int | None = Field(None, ge=1)
    #: Share of each block used by others [-] (null: the preset's).
    background_share: float | None = Field(None, ge=0, lt=1)
    #: Blocks until final, counting the including one (null: the preset's).
    confirmation_depth: int | None = Field(None, ge=1)
    #: Fee per transaction [EUR], split between buyer and seller (null: the preset's).
    fee_eur_per_tx: float | None = Field(None, ge=0)
    #: Electricity the ledger uses per transaction [kWh] (null: the preset's).
    energy_kwh_per_tx: float | None = Field(None, ge=0)

    def overrides(self) -> dict:
        """Fields that override the preset."""
        return {k: v for k, v in self.model_dump().items() if k not in ("preset", "deadline") and v is not None}

    def params(self) -> LedgerParams:
        """The ledger's parameters: the preset with the overrides."""
        return preset(self.preset, **self.overrides())

    @model_validator(mode="after")
    def _params(self) -> "LedgerConfig":
        self.params()  # raises ValueError naming the bad parameter
        return self
