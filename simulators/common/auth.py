"""Order authenticity: per-agent keys, HMAC tags, replay protection.

Set-up: a master secret of at least 32 bytes; agent ``a`` gets the key
``HMAC-SHA256(master, b"agent" || int64(a))``. The market operator and every
honest agent are built from the same secret (the key distribution of a real
deployment, e.g. smart-meter gateway certificates, is outside the model).

In a run the orchestrator draws the secret from the operating system's random
source (:func:`new_master_secret`) or reads it from the key file the scenario
names (:func:`read_key_file`); it is never derived from the scenario seed,
which every result file stores. Tags are not recorded, so the secret does not
change ``/series`` or ``/events``. An ``int`` is still accepted as a *seed*
of the secret, for unit tests of the model only.

Tag: keyed BLAKE2b (the MAC mode of RFC 7693, §2.9) with the sender's key
over the packed fields ``msg_id, kind, sender, bus, interval_s, side,
quantity_mwh, price_eur_per_mwh, send_ms``, with an 8-byte digest
(little-endian uint64) written to ``tag``. A tag of 0 means unsigned. A batch
is tagged in one compiled call (:mod:`.blake2b`: the key block once per
sender, then one compression per message), the same function as
``hashlib.blake2b(fields, key=key, digest_size=8)`` per message.

Verification rejects an order whose tag does not match (*forged*: wrong key,
altered field, unsigned) or whose ``msg_id`` was already accepted (*replayed*,
also within one batch).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import numpy as np

#: Bytes of a master secret (256 bit).
SECRET_BYTES = 32


class AuthKeyError(ValueError):
    """A key file is missing, unreadable or holds fewer than 32 bytes of hex."""


def new_master_secret() -> bytes:
    """32 bytes from the operating system's random source."""
    return secrets.token_bytes(SECRET_BYTES)


def read_key_file(path: str | os.PathLike) -> bytes:
    """The master secret in a key file: hexadecimal text, at least 64 digits.

    Create one with ``python -c "import secrets; print(secrets.token_hex(32))" > run.key``.

    Raises
    ------
    AuthKeyError
        The file cannot be read or does not hold at least 32 bytes of hex.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()[:4096]
    except OSError as exc:
        raise AuthKeyError(f"cannot read key file {str(p)!r} ({exc.strerror or exc})") from None
    try:
        text = raw.decode("ascii")
        key = bytes.fromhex("".join(text.split()))
    except (UnicodeDecodeError, ValueError):
        raise AuthKeyError(f"key file {str(p)!r} must hold hexadecimal text (e.g. 64 hex digits "
                           "from secrets.token_hex(32))") from None
    if len(key) < SECRET_BYTES:
        raise AuthKeyError(f"key file {str(p)!r} holds {len(key)} bytes; at least {SECRET_BYTES} are needed")
    return key

_FIELDS = ("msg_id", "kind", "sender", "bus", "interval_s", "side",
           "quantity_mwh", "price_eur_per_mwh", "send_ms")


class KeyRing:
    """Per-agent HMAC keys derived from one master secret.

    Parameters
    ----------
    secret : bytes or int
        The master secret (at least 32 bytes), shared by market and honest
        agents; an ``int`` seeds a secret (model unit tests only: a seed is
        not secret).
    """

    def __init__(self, secret: bytes | int) -> None:
        if isinstance(secret, (bytes, bytearray)):
            if len(secret) < SECRET_BYTES:
                raise AuthKeyError(f"master secret has {len(secret)} bytes; at least {SECRET_BYTES} are needed")
            self._master = bytes(secret)
        else:
            self._master = np.random.default_rng(int(secret)).bytes(SECRET_BYTES)
        self._keys: dict[int, bytes] = {}
        self._ids = np.zeros(0, dtype=np.int64)  # senders with a keyed state, sorted
        self._states = np.zeros((0, 8), dtype=np.uint64)

    def key(self, agent: int) -> bytes:
        """The 32-byte key of ``agent``."""
        k = self._keys.get(agent)
        if k is None:
            msg = b"agent" + int(agent).to_bytes(8, "little", signed=True)
            k = self._keys[agent] = hmac.new(self._master, msg, hashlib.sha256).digest()
        return k

    def _rows(self, senders: np.ndarray) -> np.ndarray:
        """Row of each sender in :attr:`_states` (keyed BLAKE2b states, added on first use)."""
        from . import blake2b  # numba: imported when the first batch is tagged, not with this module

        uniq, inverse = np.unique(senders, return_inverse=True)
        new = np.setdiff1d(uniq, self._ids, assume_unique=True)
        if len(new):
            states = blake2b.keyed_states([self.key(int(a)) for a in new.tolist()], digest_size=8)
            ids = np.concatenate([self._ids, new])
            order = np.argsort(ids, kind="stable")
            self._ids = ids[order]
            self._states = np.concatenate([self._states, states])[order]
        return np.searchsorted(self._ids, uniq)[inverse]

    def tags(self, orders: np.ndarray) -> np.ndarray:
        """Correct tags of ``orders`` (uint64 array), the whole batch in one compiled call."""
        n = len(orders)
        packed = np.empty(n, dtype=[(f, orders.dtype[f]) for f in _FIELDS])
        for f in _FIELDS:
            packed[f] = orders[f]
        from . import blake2b

        rows = self._rows(np.asarray(orders["sender"], dtype=np.int64))
        out = blake2b.tags(self._states, rows, packed.tobytes(), n, packed.dtype.itemsize)
        out[out == 0] = 1  # 0 means unsigned
        return out

    def sign(self, orders: np.ndarray) -> np.ndarray:
        """Write the tags into ``orders`` in place and return it."""
        orders["tag"] = self.tags(orders)
        return orders


def verify(orders: np.ndarray, ring: KeyRing, seen: set[int]) -> tuple[np.ndarray, np.ndarray]:
    """Check tags and nonces; accepted ``msg_id`` values are added to ``seen``.

    Returns
    -------
    (forged, replayed) : tuple of bool arrays
        Masks of rejected orders. An order is accepted iff neither is set.
    """
    forged = orders["tag"] != ring.tags(orders)
    replayed = np.zeros(len(orders), dtype=bool)
    cand = np.flatnonzero(~forged)
    ids = orders["msg_id"][cand]
    listed = ids.tolist()
    if seen.isdisjoint(listed):  # the usual case: one C-level pass
        rep = np.zeros(len(ids), dtype=bool)
    else:
        rep = np.fromiter((m in seen for m in listed), dtype=bool, count=len(listed))
    # within the batch only the first copy of a msg_id can be accepted
    _, first = np.unique(ids, return_index=True)
    again = np.ones(len(ids), dtype=bool)
    again[first] = False
    rep |= again
    replayed[cand] = rep
    seen.update(ids[~rep].tolist())
    return forged, replayed
