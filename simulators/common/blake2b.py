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

:func:`record_tags` tags records of a structured array without packing them
first: the compiled loop gathers each message from byte spans of its record
(:func:`spans`) straight into the block it compresses.

The compression function is written out round by round from :data:`SIGMA`
(message words and working vector in local scalars, so they stay in
registers; indexing ``SIGMA`` at run time kept them in memory and took twice
as long). ``_g`` is not force-inlined by numba: LLVM inlines it, and the
function compiles in a few seconds instead of about 15 on a cold cache.
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


@njit(cache=True)
def _rotr(x, n):
    return (x >> np.uint64(n)) | (x << np.uint64(64 - n))


@njit(cache=True)
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
def _compress(h, m, t, final, iv):
    """RFC 7693 §3.2 F: ``h`` (8 words) updated in place by block ``m`` (16 words).

    ``t`` < 2**64, so the counter's high word is 0. The rounds use the
    message schedule of :data:`SIGMA`, row ``r mod 10`` in round ``r``.
    """
    m0, m1, m2, m3, m4, m5, m6, m7 = m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]
    m8, m9, m10, m11, m12, m13, m14, m15 = m[8], m[9], m[10], m[11], m[12], m[13], m[14], m[15]
    v0, v1, v2, v3, v4, v5, v6, v7 = h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]
    v8, v9, v10, v11 = iv[0], iv[1], iv[2], iv[3]
    v12, v13, v14, v15 = iv[4] ^ t, iv[5], iv[6], iv[7]
    if final:
        v14 = ~v14
    # round 0: sigma[0]
    v0, v4, v8, v12 = _g(v0, v4, v8, v12, m0, m1)
    v1, v5, v9, v13 = _g(v1, v5, v9, v13, m2, m3)
    v2, v6, v10, v14 = _g(v2, v6, v10, v14, m4, m5)
    v3, v7, v11, v15 = _g(v3, v7, v11, v15, m6, m7)
    v0, v5, v10, v15 = _g(v0, v5, v10, v15, m8, m9)
    v1, v6, v11, v12 = _g(v1, v6, v11, v12, m10, m11)
    v2, v7, v8, v13 = _g(v2, v7, v8, v13, m12, m13)
    v3, v4, v9, v14 = _g(v3, v4, v9, v14, m14, m15)
    # round 1: sigma[1]
    v0, v4, v8, v12 = _g(v0, v4, v8, v12, m14, m10)
    v1, v5, v9, v13 = _g(v1, v5, v9, v13, m4, m8)
    v2, v6, v10, v14 = _g(v2, v6, v10, v14, m9, m15)
    v3, v7, v11, v15 = _g(v3, v7, v11, v15, m13, m6)
    v0, v5, v10, v15 = _g(v0, v5, v10, v15, m1, m12)
    v1, v6, v11, v12 = _g(v1, v6, v11, v12, m0, m2)
    v2, v7, v8, v13 = _g(v2, v7, v8, v13, m11, m7)
    v3, v4, v9, v14 = _g(v3, v4, v9, v14, m5, m3)
    # round 2: sigma[2]
    v0, v4, v8, v12 = _g(v0, v4, v8, v12, m11, m8)
    v1, v5, v9, v13 = _g(v1, v5, v9, v13, m12, m0)
    v2, v6, v10, v14 = _g(v2, v6, v10, v14, m5, m2)
    v3, v7, v11, v15 = _g(v3, v7, v11, v15, m15, m13)
    v0, v5, v10, v15 = _g(v0, v5, v10, v15, m10, m14)
    v1, v6, v11, v12 = _g(v1, v6, v11, v12, m3, m6)
    v2, v7, v8, v13 = _g(v2, v7, v8, v13, m7, m1)
    v3, v4, v9, v14 = _g(v3, v4, v9, v14, m9, m4)
    # round 3: sigma[3]
    v0, v4, v8, v12 = _g(v0, v4, v8, v12, m7, m9)
    v1, v5, v9, v13 = _g(v1, v5, v9, v13, m3, m1)
    v2, v6, v10, v14 = _g(v2, v6, v10, v14, m13, m12)
    v3, v7, v11, v15 = _g(v3, v7, v11, v15, m11, m14)
    v0, v5, v10, v15 = _g(v0, v5, v10, v15, m2, m6)
    v1, v6, v11, v12 = _g(v1, v6, v11, v12, m5, m10)
    v2, v7, v8, v13 = _g(v2, v7, v8, v13, m4, m0)
    v3, v4, v9, v14 = _g(v3, v4, v9, v14, m15, m8)
    # round 4: sigma[4]
    v0, v4, v8, v12 = _g(v0, v4, v8, v12, m9, m0)
    v1, v5, v9, v13 = _g(v1, v5, v9, v13, m5, m7)
    v2, v6, v10, v14 = _g(v2, v6, v10, v14, m2, m4)
    v3, v7, v11, v15 = _g(v3, v7, v11, v15, m10, m15)
    v0, v5, v10, v15 = _g(v0, v5, v10, v15, m14, m1)
    v1, v6, v11, v12 = _g(v1, v6, v11, v12, m11, m12)
    v2, v7, v8, v13 = _g(v2, v7, v8, v13, m6, m8)
    v3, v4, v9, v14 = _g(v3, v4, v9, v14, m3, m13)
    # round 5: sigma[5]
    v0, v4, v8, v12 = _g(v0, v4, v8, v12, m2, m12)
    v1, v5, v9, v13 = _g(v1, v5, v9, v13, m6, m10)
    v2, v6, v10, v14 = _g(v2, v6, v10, v14, m0, m11)
    v3, v7, v11, v15 = _g(v3, v7, v11, v15, m8, m3)
    v0, v5, v10, v15 = _g(v0, v5, v10, v15, m4, m13)
    v1, v6, v11, v12 = _g(v1, v6, v11, v12, m7, m5)
    v2, v7, v8, v13 = _g(v2, v7, v8, v13, m15, m14)
    v3, v4, v9, v14 = _g(v3, v4, v9, v14, m1, m9)
    # round 6: sigma[6]
    v0, v4, v8, v12 = _g(v0, v4, v8, v12, m12, m5)
    v1, v5, v9, v13 = _g(v1, v5, v9, v13, m1, m15)
    v2, v6, v10, v14 = _g(v2, v6, v10, v14, m14, m13)
    v3, v7, v11, v15 = _g(v3, v7, v11, v15, m4, m10)
    v0, v5, v10, v15 = _g(v0, v5, v10, v15, m0, m7)
    v1, v6, v11, v12 = _g(v1, v6, v11, v12, m6, m3)
    v2, v7, v8, v13 = _g(v2, v7, v8, v13, m9, m2)
    v3, v4, v9, v14 = _g(v3, v4, v9, v14, m8, m11)
    # round 7: sigma[7]
    v0, v4, v8, v12 = _g(v0, v4, v8, v12, m13, m11)
    v1, v5, v9, v13 = _g(v1, v5, v9, v13, m7, m14)
    v2, v6, v10, v14 = _g(v2, v6, v10, v14, m12, m1)
    v3, v7, v11, v15 = _g(v3, v7, v11, v15, m3, m9)
    v0, v5, v10, v15 = _g(v0, v5, v10, v15, m5, m0)
    v1, v6, v11, v12 = _g(v1, v6, v11, v12, m15, m4)
    v2, v7, v8, v13 = _g(v2, v7, v8, v13, m8, m6)
    v3, v4, v9, v14 = _g(v3, v4, v9, v14, m2, m10)
    # round 8: sigma[8]
    v0, v4, v8, v12 = _g(v0, v4, v8, v12, m6, m15)
    v1, v5, v9, v13 = _g(v1, v5, v9, v13, m14, m9)
    v2, v6, v10, v14 = _g(v2, v6, v10, v14, m11, m3)
    v3, v7, v11, v15 = _g(v3, v7, v11, v15, m0, m8)
    v0, v5, v10, v15 = _g(v0, v5, v10, v15, m12, m2)
    v1, v6, v11, v12 = _g(v1, v6, v11, v12, m13, m7)
    v2, v7, v8, v13 = _g(v2, v7, v8, v13, m1, m4)
    v3, v4, v9, v14 = _g(v3, v4, v9, v14, m10, m5)
    # round 9: sigma[9]
    v0, v4, v8, v12 = _g(v0, v4, v8, v12, m10, m2)
    v1, v5, v9, v13 = _g(v1, v5, v9, v13, m8, m4)
    v2, v6, v10, v14 = _g(v2, v6, v10, v14, m7, m6)
    v3, v7, v11, v15 = _g(v3, v7, v11, v15, m1, m5)
    v0, v5, v10, v15 = _g(v0, v5, v10, v15, m15, m11)
    v1, v6, v11, v12 = _g(v1, v6, v11, v12, m9, m14)
    v2, v7, v8, v13 = _g(v2, v7, v8, v13, m3, m12)
    v3, v4, v9, v14 = _g(v3, v4, v9, v14, m13, m0)
    # round 10: sigma[0]
    v0, v4, v8, v12 = _g(v0, v4, v8, v12, m0, m1)
    v1, v5, v9, v13 = _g(v1, v5, v9, v13, m2, m3)
    v2, v6, v10, v14 = _g(v2, v6, v10, v14, m4, m5)
    v3, v7, v11, v15 = _g(v3, v7, v11, v15, m6, m7)
    v0, v5, v10, v15 = _g(v0, v5, v10, v15, m8, m9)
    v1, v6, v11, v12 = _g(v1, v6, v11, v12, m10, m11)
    v2, v7, v8, v13 = _g(v2, v7, v8, v13, m12, m13)
    v3, v4, v9, v14 = _g(v3, v4, v9, v14, m14, m15)
    # round 11: sigma[1]
    v0, v4, v8, v12 = _g(v0, v4, v8, v12, m14, m10)
    v1, v5, v9, v13 = _g(v1, v5, v9, v13, m4, m8)
    v2, v6, v10, v14 = _g(v2, v6, v10, v14, m9, m15)
    v3, v7, v11, v15 = _g(v3, v7, v11, v15, m13, m6)
    v0, v5, v10, v15 = _g(v0, v5, v10, v15, m1, m12)
    v1, v6, v11, v12 = _g(v1, v6, v11, v12, m0, m2)
    v2, v7, v8, v13 = _g(v2, v7, v8, v13, m11, m7)
    v3, v4, v9, v14 = _g(v3, v4, v9, v14, m5, m3)
    h[0] ^= v0 ^ v8
    h[1] ^= v1 ^ v9
    h[2] ^= v2 ^ v10
    h[3] ^= v3 ^ v11
    h[4] ^= v4 ^ v12
    h[5] ^= v5 ^ v13
    h[6] ^= v6 ^ v14
    h[7] ^= v7 ^ v15


@njit(cache=True)
def _keyed_states(key_blocks, key_len, digest_size, iv):
    n = key_blocks.shape[0]
    out = np.empty((n, 8), dtype=np.uint64)
    p0 = np.uint64(0x01010000) ^ (np.uint64(key_len) << np.uint64(8)) ^ np.uint64(digest_size)
    for i in range(n):
        h = iv.copy()
        h[0] ^= p0
        _compress(h, key_blocks[i], np.uint64(BLOCK_BYTES), False, iv)
        out[i] = h
    return out


@njit(cache=True)
def _record_tags(states, row, records, src, dst, length, t, iv):
    """Tag of each row of ``records`` (uint8, one record per row): the message is
    the concatenation of ``records[i, src[j]:src[j] + length[j]]`` over ``j``,
    placed at ``dst[j]`` of a zeroed block; compressed from ``states[row[i]]``."""
    n = records.shape[0]
    out = np.empty(n, dtype=np.uint64)
    h = np.empty(8, dtype=np.uint64)
    block = np.zeros(BLOCK_BYTES, dtype=np.uint8)
    m = block.view(np.uint64)  # numba runs on little-endian machines only: words as RFC 7693 reads them
    for i in range(n):
        for j in range(len(src)):
            for b in range(length[j]):
                block[dst[j] + b] = records[i, src[j] + b]
        h[:] = states[row[i]]
        _compress(h, m, t, True, iv)
        out[i] = h[0]
    return out


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
    return _keyed_states(blocks, key_len, digest_size, IV)


def spans(dtype: np.dtype, fields: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Byte spans of ``fields`` in a record of ``dtype``, packed one after the other.

    Returns ``(src, dst, length)``: bytes ``src[j] : src[j] + length[j]`` of a
    record go to ``dst[j]`` of the message (fields adjacent in both are one
    span). The message is what ``np.empty(n, [(f, dtype[f]) for f in
    fields])`` would hold, byte for byte.

    Raises
    ------
    ValueError
        The fields take no byte or more than one block.
    """
    src: list[int] = []
    dst: list[int] = []
    length: list[int] = []
    at = 0
    for f in fields:
        ft, off = dtype.fields[f][:2]
        if length and src[-1] + length[-1] == off:
            length[-1] += ft.itemsize
        else:
            src.append(off)
            dst.append(at)
            length.append(ft.itemsize)
        at += ft.itemsize
    if not 0 < at <= BLOCK_BYTES:  # an empty message would make the key block the final one
        raise ValueError(f"messages must have 1 to {BLOCK_BYTES} bytes, not {at}")
    return np.array(src, np.int64), np.array(dst, np.int64), np.array(length, np.int64)


def record_tags(states: np.ndarray, row: np.ndarray, records: np.ndarray,
                span: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Tags of the records of a structured array, each message gathered by ``span`` (:func:`spans`).

    Record ``i`` is keyed by ``states[row[i]]`` (from :func:`keyed_states` with
    ``digest_size=8``).
    """
    n = len(records)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    src, dst, length = span
    raw = np.ascontiguousarray(records).view(np.uint8).reshape(n, records.dtype.itemsize)
    size = int(length.sum())
    return _record_tags(states, np.ascontiguousarray(row, dtype=np.int64), raw, src, dst, length,
                        np.uint64(BLOCK_BYTES + size), IV)


def tags(states: np.ndarray, row: np.ndarray, raw: bytes, n: int, size: int) -> np.ndarray:
    """Tags (first 8 digest bytes, little-endian) of ``n`` records of ``size`` bytes in ``raw``.

    Record ``i`` is keyed by ``states[row[i]]`` (from :func:`keyed_states` with
    ``digest_size=8``).
    """
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    if not 0 < size <= BLOCK_BYTES:  # an empty message would make the key block the final one
        raise ValueError(f"records must have 1 to {BLOCK_BYTES} bytes, not {size}")
    records = np.frombuffer(raw, dtype=np.uint8, count=n * size).reshape(n, size)
    return _record_tags(states, np.ascontiguousarray(row, dtype=np.int64), records, np.zeros(1, np.int64),
                        np.zeros(1, np.int64), np.array([size], np.int64), np.uint64(BLOCK_BYTES + size), IV)
