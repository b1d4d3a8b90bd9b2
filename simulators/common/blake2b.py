"""Keyed BLAKE2b-64 (RFC 7693) for a whole batch of one-block messages, compiled with numba.

:func:`keyed_states` runs the key block of keyed BLAKE2b (RFC 7693, §3.3: the
key padded to one 128-byte block, compressed with ``t = 128``) once per key;
:func:`tags` then compresses each message, at most 128 bytes, as the final block
(``t = 128 + len``, 1 <= len <= 128) from its sender's keyed state. The first 8 bytes of the
result, read little-endian, are the tag. This is the same function as
``hashlib.blake2b(msg, key=key, digest_size=8)`` (checked against hashlib in
``tests/common/test_blake2b.py``), one compiled loop per batch instead of one
Python call per message, and half the compressions, because the key block is
done once per key rather than once per message.
"""

from __future__ import annotations

import numpy as np
from numba import njit

BLOCK_BYTES = 128
#: Initialisation vector (RFC 7693, §2.6; the SHA-512 IV).
IV = np.array([0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
               0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179],
              dtype=np.uint64)
#: Message schedule (RFC 7693, §2.7); rounds 10 and 11 repeat rows 0 and 1.
SIGMA = np.array([
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
], dtype=np.int64)


@njit(cache=True, inline="always")
def _rotr(x, n):
    return (x >> np.uint64(n)) | (x << np.uint64(64 - n))


@njit(cache=True, inline="always")
def _g(a, b, c, d, x, y):
    a = a + b + x
    d = _rotr(d ^ a, 32)
    c = c + d
    b = _rotr(b ^ c, 24)
    a = a + b + y
    d = _rotr(d ^ a, 16)
    c = c + d
    b = _rotr(b ^ c, 63)
    return a, b, c, d


@njit(cache=True)
def _compress(h, m, t, final, iv, sigma, v):
    """RFC 7693 §3.2 F, in place on ``h`` (``t`` < 2**64, so its high word is 0).

    The working vector lives in 16 local scalars (registers), not an array.
    """
    v0, v1, v2, v3, v4, v5, v6, v7 = h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
    v8, v9, v10, v11 = iv[0], iv[1], iv[2], iv[3]
    v12, v13, v14, v15 = iv[4] ^ t, iv[5], iv[6], iv[7]
    if final:
        v14 = ~v14
    for r in range(12):
        s = sigma[r]
        v0, v4, v8, v12 = _g(v0, v4, v8, v12, m[s[0]], m[s[1]])
        v1, v5, v9, v13 = _g(v1, v5, v9, v13, m[s[2]], m[s[3]])
        v2, v6, v10, v14 = _g(v2, v6, v10, v14, m[s[4]], m[s[5]])
        v3, v7, v11, v15 = _g(v3, v7, v11, v15, m[s[6]], m[s[7]])
        v0, v5, v10, v15 = _g(v0, v5, v10, v15, m[s[8]], m[s[9]])
        v1, v6, v11, v12 = _g(v1, v6, v11, v12, m[s[10]], m[s[11]])
        v2, v7, v8, v13 = _g(v2, v7, v8, v13, m[s[12]], m[s[13]])
        v3, v4, v9, v14 = _g(v3, v4, v9, v14, m[s[14]], m[s[15]])
    h[0] ^= v0 ^ v8
    h[1] ^= v1 ^ v9
    h[2] ^= v2 ^ v10
    h[3] ^= v3 ^ v11
    h[4] ^= v4 ^ v12
    h[5] ^= v5 ^ v13
    h[6] ^= v6 ^ v14
    h[7] ^= v7 ^ v15


@njit(cache=True)
def _keyed_states(key_blocks, key_len, digest_size, iv, sigma):
    n = key_blocks.shape[0]
    out = np.empty((n, 8), dtype=np.uint64)
    v = np.empty(16, dtype=np.uint64)
    p0 = np.uint64(0x01010000) ^ (np.uint64(key_len) << np.uint64(8)) ^ np.uint64(digest_size)
    for i in range(n):
        h = iv.copy()
        h[0] ^= p0
        _compress(h, key_blocks[i], np.uint64(BLOCK_BYTES), False, iv, sigma, v)
        out[i] = h
    return out


@njit(cache=True)
def _tags(states, row, blocks, t, iv, sigma):
    n = blocks.shape[0]
    out = np.empty(n, dtype=np.uint64)
    h = np.empty(8, dtype=np.uint64)
    v = np.empty(16, dtype=np.uint64)
    for i in range(n):
        h[:] = states[row[i]]
        _compress(h, blocks[i], t, True, iv, sigma, v)
        out[i] = h[0]
    return out


def _blocks(raw: bytes, n: int, size: int) -> np.ndarray:
    """``n`` records of ``size`` bytes, each zero-padded to one block, as (n, 16) little-endian words."""
    if not 0 < size <= BLOCK_BYTES:  # an empty message would make the key block the final one
        raise ValueError(f"records must have 1 to {BLOCK_BYTES} bytes, not {size}")
    buf = np.zeros((n, BLOCK_BYTES), dtype=np.uint8)
    buf[:, :size] = np.frombuffer(raw, dtype=np.uint8).reshape(n, size)
    return buf.view("<u8")


def keyed_states(keys: list[bytes], digest_size: int = 8) -> np.ndarray:
    """BLAKE2b state after the key block, one row of 8 words per key (each 1-64 bytes)."""
    if not keys:
        return np.zeros((0, 8), dtype=np.uint64)
    lens = {len(k) for k in keys}
    if len(lens) != 1 or not 0 < next(iter(lens)) <= 64:
        raise ValueError("keys must all have the same length, 1 to 64 bytes")
    key_len = lens.pop()
    padded = b"".join(k.ljust(BLOCK_BYTES, b"\0") for k in keys)
    blocks = np.frombuffer(padded, dtype="<u8").reshape(len(keys), 16)
    return _keyed_states(blocks, key_len, digest_size, IV, SIGMA)


def tags(states: np.ndarray, row: np.ndarray, raw: bytes, n: int, size: int) -> np.ndarray:
    """Tags (first 8 digest bytes, little-endian) of ``n`` records of ``size`` bytes in ``raw``.

    Record ``i`` is keyed by ``states[row[i]]`` (from :func:`keyed_states` with
    ``digest_size=8``).
    """
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    return _tags(states, np.ascontiguousarray(row, dtype=np.int64), _blocks(raw, n, size),
                 np.uint64(BLOCK_BYTES + size), IV, SIGMA)
