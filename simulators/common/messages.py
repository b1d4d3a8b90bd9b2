"""The message record every simulator exchanges through the ICT model.

A batch of messages is a 1-D numpy structured array of :data:`MESSAGE_DTYPE`.
Structured arrays keep 9,000 bids per gate closure in one contiguous block, so
the ICT and market models can work on them with vectorised numpy code and
mosaik passes them between in-process simulators by reference.

Fields
------
msg_id : int64
    Unique per run (sender-local counter combined with the sender id by
    :func:`make_ids`); also the replay-protection nonce.
kind : int8
    One of :class:`Kind`.
sender, receiver : int32
    Agent ids. Households are ``0 .. n_households-1`` (their row in the
    household simulator); fixed endpoints are the negative constants below;
    aggregator ``k`` is ``AGGREGATOR_BASE - k``.
bus : int32
    pandapower bus index of the sender (households) or of the target
    (DSO requests); -1 if not applicable.
interval_s : int64
    Start of the delivery interval the message is about [s since run start].
side : int8
    +1 buy / consume more, -1 sell / inject more (consume less), 0 not
    applicable. For flexibility the same rule holds: an ACTIVATION with
    side -1 is *upward* regulation (inject more / consume less), +1 is
    downward (consume more).
quantity_mwh : float64
    Energy of an order or activation, non-negative [MWh]. For a bi-directional
    flexibility offer this is the upward part x.
quantity2_mwh : float64
    Second quantity: downward part y of a bi-directional flexibility offer,
    metered energy of a meter reading's other direction, else 0 [MWh].
price_eur_per_mwh : float64
    Limit price of an order, clearing price of a result [EUR/MWh].
send_ms : int64
    Send time [ms since run start].
arrival_ms : int64
    Arrival time set by the ICT model [ms]; -1 until delivered.
status : int8
    One of :class:`Status`, set by the ICT model.
size_bytes : int32
    Payload size used for serialisation delay [byte].
tag : uint64
    Authentication tag (keyed BLAKE2b-64, see :mod:`simulators.common.auth`);
    0 = untagged.
ref_id : int64
    msg_id of the message this one answers (results, activations), else -1.

On the wire
-----------
Between processes (a simulator started with mosaik's ``cmd`` or ``connect``
starter, see ``docs/extending.md``) a batch is a JSON list of objects with
exactly these field names (:func:`to_records`, :func:`from_records`); the
orchestrator converts at the connection, so simulators in another process or
language never see numpy.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from . import records

MESSAGE_DTYPE = np.dtype(
    [
        ("msg_id", np.int64),
        ("kind", np.int8),
        ("sender", np.int32),
        ("receiver", np.int32),
        ("bus", np.int32),
        ("interval_s", np.int64),
        ("side", np.int8),
        ("quantity_mwh", np.float64),
        ("quantity2_mwh", np.float64),
        ("price_eur_per_mwh", np.float64),
        ("send_ms", np.int64),
        ("arrival_ms", np.int64),
        ("status", np.int8),
        ("size_bytes", np.int32),
        ("tag", np.uint64),
        ("ref_id", np.int64),
    ]
)

# Fixed endpoints (negative so they never collide with household rows).
MARKET = -1
DSO = -2
TSO = -3
COORDINATOR = -4
RETAILER = -5
AGGREGATOR_BASE = -100  # aggregator k has id AGGREGATOR_BASE - k

#: Minimum order size [MWh] (1 mWh), one rule for both sides of the market:
#: households do not send smaller BID/OFFER steps and every clearing mechanism
#: treats a smaller order as zero. A book with a denormal bid (2e-41 MWh, found
#: by a property test) made the marginal-order tolerances degenerate and priced
#: a trade below the seller's limit. Real markets have a minimum order size too
#: (EPEX SPOT: 0.1 MW); 1 mWh is an assumption far below any device's step.
MIN_ORDER_MWH = 1e-9

# Default payload sizes [byte]: a compact JSON/OpenADR-like order or result.
# An OpenADR 2.0b oadrDistributeEvent is a few kB of XML; an order in a
# compact encoding fits in a few hundred bytes. Used only for serialisation
# delay when the scenario gives no size.
DEFAULT_SIZE_BYTES = 400


class Kind(IntEnum):
    """What a message carries."""

    BID = 1  # buy order (side=+1)
    OFFER = 2  # sell order (side=-1)
    FLEX_OFFER = 3  # flexibility headroom / profile offer
    METER = 4  # metered energy of the last interval
    RESULT = 5  # market clearing result for one agent
    SETPOINT = 6  # power setpoint / price signal
    ACTIVATION = 7  # flexibility activation
    REQUEST = 8  # DSO/TSO flexibility request
    FORGED = 9  # only used by attack injection bookkeeping; never cleared


class Status(IntEnum):
    """Delivery state set by the ICT model."""

    PENDING = 0  # not yet delivered (still in flight)
    DELIVERED = 1  # delivered before the deadline
    LOST = 2  # lost (packet loss)
    LATE = 3  # delivered after the receiver's deadline (gate closure)
    DROPPED_OUTAGE = 4  # dropped because a link or node was out


def empty(n: int = 0) -> np.ndarray:
    """Return a zero-initialised message array of length ``n``.

    Unset identifiers are -1, ``arrival_ms`` is -1 and ``status`` PENDING.
    """
    m = np.zeros(n, dtype=MESSAGE_DTYPE)
    m["bus"] = -1
    m["arrival_ms"] = -1
    m["ref_id"] = -1
    m["size_bytes"] = DEFAULT_SIZE_BYTES
    return m


def make_ids(sender: np.ndarray, counter: np.ndarray | int) -> np.ndarray:
    """Unique message ids from the sender id and a per-sender counter.

    ``id = (sender + 2**20) * 2**32 + counter``; unique while the counter of one
    sender stays below 2**32 and sender ids lie in (-2**20, 2**20).
    """
    s = np.asarray(sender, dtype=np.int64) + (1 << 20)
    return s * (1 << 32) + np.asarray(counter, dtype=np.int64)


def concat(batches: list[np.ndarray]) -> np.ndarray:
    """Concatenate message batches (``None`` and empty entries are skipped)."""
    parts = [b for b in batches if b is not None and len(b)]
    if not parts:
        return empty(0)
    return records.concat(parts)


def select(records: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``records[keep]`` for a bool mask, or ``records`` itself when ``keep`` is all true.

    For arrays the caller owns: the result may be the input (no copy of a whole
    batch of records to drop none of them).
    """
    return records if keep.all() else records[keep]


def to_records(batch: np.ndarray | None) -> list[dict]:
    """A message batch as a list of plain dicts, one per message (the wire form)."""
    if batch is None or not len(batch):
        return []
    names = MESSAGE_DTYPE.names
    return [dict(zip(names, row)) for row in np.asarray(batch, dtype=MESSAGE_DTYPE).tolist()]


def from_records(rows) -> np.ndarray:
    """A message batch from its wire form (list of dicts; fields left out take :func:`empty`'s defaults).

    Raises
    ------
    ValueError
        A row that is not a mapping, an unknown field name, or a value that
        does not fit its field's type; the message names the row and field.
    """
    if rows is None:
        return empty(0)
    if isinstance(rows, np.ndarray) and rows.dtype == MESSAGE_DTYPE:
        return rows
    rows = list(rows)
    out = empty(len(rows))
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"message {i}: expected an object with the fields of MESSAGE_DTYPE; "
                             f"got {type(row).__name__}")
        for key, value in row.items():
            if key not in MESSAGE_DTYPE.names:
                raise ValueError(f"message {i}: unknown field {key!r}; fields: {', '.join(MESSAGE_DTYPE.names)}")
            try:
                out[key][i] = value
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"message {i}.{key}: does not fit {MESSAGE_DTYPE[key]}; got {value!r}") from None
    return out
