"""Chunks encoded outside HDF5 (``encode_chunk``, ``write_direct_chunk``) against HDF5's own filters.

The reference is HDF5 itself: a chunk written through h5py's normal path is
read back raw (``read_direct_chunk``) and inflated; its bytes are the shuffled
chunk HDF5 produced, which :func:`encode_chunk` must reproduce byte for byte
before deflating. Files written with the direct path are read back through
HDF5's filters and must hold exactly the values written (no tolerance: the
path moves bytes, it computes nothing).
"""

from __future__ import annotations

import zlib

import h5py
import numpy as np
import pytest

from cosim import recorder
from cosim.recorder import HDF5Sink, create_events, deflate_engine, direct_chunk_filters, encode_chunk

EVENT_DTYPE = np.dtype([("t_s", "<i8"), ("sender", "<i4"), ("ok", "?"), ("label", "S5"), ("p_mw", "<f8")])


def _events(n: int, rng: np.random.Generator) -> np.ndarray:
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["t_s"] = rng.integers(0, 10**9, n)
    ev["sender"] = rng.integers(-5, 5000, n)
    ev["ok"] = rng.random(n) < 0.5
    ev["label"] = rng.choice([b"a", b"bb", b"ccccc"], n)
    ev["p_mw"] = rng.normal(size=n)
    return ev


@pytest.mark.parametrize("kind", ["float2d", "scalar", "bool", "events"])
@pytest.mark.parametrize("level", [1, 4])
def test_encoded_chunk_inflates_to_the_bytes_hdf5_filters_produce(tmp_path, kind, level):
    rng = np.random.default_rng(3)
    shuffle = kind in ("float2d", "scalar")
    if kind == "float2d":
        data, chunks = rng.normal(size=(16, 37)).round(3), (16, 37)
    elif kind == "scalar":
        data, chunks = rng.normal(size=16), (16,)
    elif kind == "bool":
        data, chunks = rng.random((16, 9)) < 0.3, (16, 9)
    else:
        data, chunks = _events(64, rng), (64,)
    with h5py.File(tmp_path / "ref.h5", "w") as f:
        ds = f.create_dataset("x", data=data, chunks=chunks, compression="gzip", compression_opts=level,
                              shuffle=shuffle)
        assert direct_chunk_filters(ds, data.dtype) == (shuffle, level)
        mask, stored = ds.id.read_direct_chunk((0,) * data.ndim)
    assert mask == 0
    ours = encode_chunk(data, shuffle, level)
    assert zlib.decompress(ours) == zlib.decompress(stored)
    assert ours[0] == 0x78  # a zlib stream header (deflate, 32 KiB window), whichever encoder wrote it


def test_level_one_is_encoded_by_isal_and_other_levels_by_zlib():
    pytest.importorskip("isal")
    assert deflate_engine(1) == "isal"
    assert [deflate_engine(lv) for lv in (0, 2, 3, 6, 9)] == ["zlib"] * 5
    data = np.random.default_rng(0).normal(size=(96, 200))
    # zlib's own encoder at level 4 gives exactly zlib.compress's stream
    assert encode_chunk(data, False, 4) == zlib.compress(data.tobytes(), 4)
    assert encode_chunk(data, False, 1) != zlib.compress(data.tobytes(), 1)  # ISA-L's, not zlib's


def test_datasets_the_encoder_cannot_write_go_through_hdf5(tmp_path):
    with h5py.File(tmp_path / "f.h5", "w") as f:
        plain = f.create_dataset("plain", shape=(0, 3), maxshape=(None, 3), dtype="f8", chunks=(4, 3))
        lzf = f.create_dataset("lzf", shape=(0, 3), maxshape=(None, 3), dtype="f8", chunks=(4, 3), compression="lzf")
        fl = f.create_dataset("fl", shape=(0, 3), maxshape=(None, 3), dtype="f8", chunks=(4, 3), compression="gzip",
                              fletcher32=True)
        contiguous = f.create_dataset("c", shape=(4, 3), dtype="f8")
        gz = f.create_dataset("gz", shape=(0, 3), maxshape=(None, 3), dtype="f8", chunks=(4, 3), compression="gzip",
                              compression_opts=2)
        assert direct_chunk_filters(plain, np.dtype("f8")) is None
        assert direct_chunk_filters(lzf, np.dtype("f8")) is None
        assert direct_chunk_filters(fl, np.dtype("f8")) is None
        assert direct_chunk_filters(contiguous, np.dtype("f8")) is None
        assert direct_chunk_filters(gz, np.dtype("f8")) == (False, 2)
        assert direct_chunk_filters(gz, np.dtype("f4")) is None  # memory and file layouts differ
        packed = np.dtype([("a", "<i4"), ("b", "<f8")])
        ev = create_events(f, "ev", packed, "gzip", 1)
        assert direct_chunk_filters(ev, packed) == (False, 1)
        assert direct_chunk_filters(ev, np.dtype([("a", "<i4"), ("b", "<f8")], align=True)) is None


def _write(path, chunk, level, compression="gzip", *, steps=23, flush_at=(), events_per_step=(0, 300)):
    """Write ``steps`` rows of a 2-D, a scalar and a late bool series, plus events; return what was written."""
    rng = np.random.default_rng(11)
    sink = HDF5Sink(path, {"seed": 1}, chunk_steps=chunk, compression=compression, compression_level=level)
    rows, scal, flags, events = [], [], [], []
    for t in range(steps):
        row = rng.normal(size=41).round(4)
        sink.record("grid", "vm_pu", row)
        sink.record("market", "price", float(t) * 0.5)
        rows.append(row)
        scal.append(t * 0.5)
        if t >= 5:
            flag = rng.random(6) < 0.5
            sink.record("grid", "flag", flag)
            flags.append(flag)
        else:
            flags.append(np.zeros(6, bool))
        ev = _events(int(rng.integers(*events_per_step)), rng)
        sink.append_events("orders", ev)
        events.append(ev)
        sink.end_row(t * 900)
        if t in flush_at:
            sink.flush()
    sink.close("complete")
    return np.array(rows), np.array(scal), np.array(flags), np.concatenate(events)


@pytest.mark.parametrize("level", [1, 3])
@pytest.mark.parametrize("flush_at", [(), (6,), (2, 9, 10)])
def test_files_written_with_encoded_chunks_hold_every_value(tmp_path, level, flush_at, monkeypatch):
    calls = []
    real = recorder.encode_chunk
    monkeypatch.setattr(recorder, "encode_chunk", lambda *a: calls.append(a) or real(*a))
    # chunk 8 over 23 rows: two full chunks and an edge chunk; events of up to 300 records
    # against 4,096-record chunks: heads, padded tails and whole chunks
    rows, scal, flags, events = _write(tmp_path / "r.h5", 8, level, flush_at=flush_at,
                                       events_per_step=(0, 900))
    assert calls, "no chunk went through encode_chunk"
    with h5py.File(tmp_path / "r.h5") as f:
        assert f.attrs["status"] == "complete"
        np.testing.assert_array_equal(f["series/grid/vm_pu"][()], rows)
        np.testing.assert_array_equal(f["series/market/price"][()], scal)
        np.testing.assert_array_equal(f["series/grid/flag"][()], flags)  # late: False before step 5
        got = f["events/orders"][()]
        assert got.dtype == EVENT_DTYPE and got.tobytes() == events.tobytes()
        ds = f["series/grid/vm_pu"]
        if not flush_at:  # every chunk started a block: all three were encoded outside HDF5
            for start in (0, 8, 16):
                stored = ds.id.read_direct_chunk((start, 0))[1]
                block = np.zeros((8, 41))
                block[:len(rows[start:start + 8])] = rows[start:start + 8]
                assert stored == encode_chunk(block, True, level)


def test_the_same_values_as_hdf5s_own_filters_and_as_no_compression(tmp_path):
    ours = _write(tmp_path / "a.h5", 5, 1, events_per_step=(0, 2000))
    ref = _write(tmp_path / "b.h5", 5, 1, compression=None, events_per_step=(0, 2000))
    for x, y in zip(ours, ref, strict=True):
        assert x.tobytes() == y.tobytes()
    with h5py.File(tmp_path / "a.h5") as fa, h5py.File(tmp_path / "b.h5") as fb:
        for name in ("series/grid/vm_pu", "series/market/price", "series/grid/flag", "events/orders"):
            assert fa[name][()].tobytes() == fb[name][()].tobytes(), name
        assert fa["series/grid/vm_pu"].compression == "gzip" and fa["series/grid/vm_pu"].shuffle


def test_pieces_of_parts_are_the_slices_of_the_joined_records():
    from cosim.recorder import _pieces

    rng = np.random.default_rng(5)
    for _ in range(200):
        parts = [np.arange(k) + 1000 * j for j, k in enumerate(rng.integers(0, 7, rng.integers(1, 6)))]
        joined = np.concatenate(parts)
        ends = np.cumsum([len(p) for p in parts])
        a = int(rng.integers(0, len(joined) + 1))
        b = int(rng.integers(a, len(joined) + 1))
        got = _pieces(parts, ends, a, b)
        np.testing.assert_array_equal(np.concatenate([np.empty(0, int), *got]), joined[a:b])


@pytest.mark.parametrize("shuffle", [True, False])
def test_an_edge_chunk_is_encoded_as_its_rows_followed_by_zero_bytes(shuffle):
    rng = np.random.default_rng(2)
    chunk = rng.normal(size=(12, 7))
    padded = chunk.copy()
    padded[5:] = 0.0
    chunk[5:] = np.nan  # whatever the buffer holds beyond the rows is not stored
    assert zlib.decompress(encode_chunk(chunk, shuffle, 3, rows=5)) == \
        zlib.decompress(encode_chunk(padded, shuffle, 3))


def test_a_dataset_with_a_nonzero_fill_value_goes_through_hdf5(tmp_path):
    with h5py.File(tmp_path / "f.h5", "w") as f:
        ds = f.create_dataset("x", shape=(0, 3), maxshape=(None, 3), dtype="f8", chunks=(4, 3),
                              compression="gzip", fillvalue=np.nan)
        assert direct_chunk_filters(ds, np.dtype("f8")) is None
