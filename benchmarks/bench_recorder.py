"""Recorder compression settings compared on real-shaped data: write time, size, read time.

Two workloads, each written exactly as the recorder writes (growable
datasets, one ``resize`` + slice write per ``chunk_steps`` rows, HDF5 1.8
format) with every candidate setting, then read back (whole datasets and one
entity's column) and checked bit-identical against the input:

- ``district``: one day (96 rows) of the 8,767-wide household series of
  ``1-MVLV-semiurb-all-0-sw`` (SimBench load profiles x nominal power of
  every load: the shape and the repetition of the recorded ``p_mw``), the
  same with a seeded log-normal factor per value (homes whose devices make
  every series distinct; an assumption, not a recorded run), and the same
  width of bool flags;
- ``lv``: every ``/series`` dataset of a result file (``--lv FILE``, e.g. a
  ``cosim run`` of the default scenario), as recorded.

Usage::

    python benchmarks/bench_recorder.py [--lv out/default.h5] [--repeat 3] [--json OUT]

Only codecs built into every h5py (gzip, lzf, shuffle) are candidates: the
files must stay readable with plain h5py, without filter plugins.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: (label, compression, level, shuffle, max chunk bytes or None for full rows); compression
#: ``recorder``: written by ``cosim.recorder.HDF5Sink`` itself (gzip at ``level`` plus
#: shuffle, chunks encoded on its encoder threads: ISA-L for level 1, zlib otherwise)
CANDIDATES = [
    ("none", None, None, False, None),
    ("recorder: gzip1+shuffle (ISA-L, threads)", "recorder", 1, True, None),
    ("recorder: gzip4+shuffle (zlib, threads)", "recorder", 4, True, None),
    ("gzip1", "gzip", 1, False, None),
    ("gzip1+shuffle", "gzip", 1, True, None),
    ("gzip4+shuffle", "gzip", 4, True, None),
    ("gzip6+shuffle", "gzip", 6, True, None),
    ("lzf", "lzf", None, False, None),
    ("lzf+shuffle", "lzf", None, True, None),
    ("gzip1, 1 MiB chunks", "gzip", 1, False, 2**20),
    ("gzip1+shuffle, 1 MiB chunks", "gzip", 1, True, 2**20),
    ("lzf+shuffle, 1 MiB chunks", "lzf", None, True, 2**20),
]
CHUNK_STEPS = 96


def district_series() -> dict[str, np.ndarray]:
    """One winter day of per-load ``p_mw`` of the district grid, and bool flags of its width."""
    from simulators.common.netdata import element_profiles, load_net, profile_row

    net = load_net({"simbench": "1-MVLV-semiurb-all-0-sw"})
    row = profile_row("2016-01-12T00:00:00")
    p = element_profiles(net, "load", "p_mw").values(slice(row, row + CHUNK_STEPS))
    flags = p > np.median(p)
    # assumption: devices and HEMS make every home's series distinct; modelled as a seeded
    # log-normal factor per value (sigma 0.1), so no two columns repeat as bare profiles do
    noisy = p * np.random.default_rng(16).lognormal(0.0, 0.1, p.shape)
    return {"household/p_mw": np.ascontiguousarray(p), "household/p_mw_distinct": noisy,
            "household/flag": np.ascontiguousarray(flags)}


def lv_series(path: Path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path, "r") as f:
        f["series"].visititems(lambda n, o: out.__setitem__(n, np.ascontiguousarray(o[()]))
                               if isinstance(o, h5py.Dataset) else None)
    return out


def _chunks(shape: tuple[int, ...], itemsize: int, max_bytes: int | None) -> tuple[int, ...]:
    if max_bytes is None or len(shape) < 2:
        return (CHUNK_STEPS, *shape[1:])
    cols = max(1, min(shape[1], max_bytes // (CHUNK_STEPS * itemsize)))
    return (CHUNK_STEPS, cols, *shape[2:])


def write(path: Path, data: dict[str, np.ndarray], comp, level, shuffle: bool, max_bytes) -> float:
    if comp == "recorder":
        return write_with_sink(path, data, level)
    t0 = time.perf_counter()
    with h5py.File(path, "w", libver=("v108", "v108"), locking=False) as f:
        dsets = {}
        for name, arr in data.items():
            kw = {"compression": comp, "shuffle": shuffle} if comp else {}
            if comp == "gzip":
                kw["compression_opts"] = level
            dsets[name] = f.create_dataset(name, shape=(0, *arr.shape[1:]), maxshape=(None, *arr.shape[1:]),
                                           dtype=arr.dtype, chunks=_chunks(arr.shape, arr.dtype.itemsize,
                                                                           max_bytes), **kw)
        n = max(len(a) for a in data.values())
        for start in range(0, n, CHUNK_STEPS):  # the recorder's flush: resize + one slice write
            for name, arr in data.items():
                part = arr[start:start + CHUNK_STEPS]
                ds = dsets[name]
                ds.resize(start + len(part), axis=0)
                ds[start:start + len(part)] = part
    return time.perf_counter() - t0


def write_with_sink(path: Path, data: dict[str, np.ndarray], level: int) -> float:
    """Write ``data`` row by row through the recorder (``/series/<name>``), closing included."""
    from cosim.recorder import HDF5Sink

    path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    sink = HDF5Sink(path, {}, chunk_steps=CHUNK_STEPS, compression="gzip", compression_level=level,
                    reserve_bytes=0)
    n = max(len(a) for a in data.values())
    for t in range(n):
        for name, arr in data.items():
            sim, attr = name.split("/")
            sink.record(sim, attr, arr[t])
        sink.end_row(t)
    sink.close("complete")
    return time.perf_counter() - t0


def read(path: Path, data: dict[str, np.ndarray]) -> tuple[float, float]:
    t0 = time.perf_counter()
    with h5py.File(path, "r") as f:
        prefix = "series/" if "series" in f else ""
        for name, arr in data.items():
            back = f[prefix + name][()]
            if back.dtype != arr.dtype or back.tobytes() != np.ascontiguousarray(arr).tobytes():
                raise AssertionError(f"{name}: read-back differs")
    t_all = time.perf_counter() - t0
    t0 = time.perf_counter()
    with h5py.File(path, "r") as f:
        for name, arr in data.items():
            if arr.ndim >= 2:
                f[prefix + name][:, arr.shape[1] // 2]
    return t_all, time.perf_counter() - t0


def run(workload: str, data: dict[str, np.ndarray], repeat: int) -> list[dict]:
    raw = sum(a.nbytes for a in data.values())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, comp, level, shuffle, max_bytes in CANDIDATES:
            path = Path(tmp) / "x.h5"
            w = r = c = float("inf")
            for _ in range(repeat):
                w = min(w, write(path, data, comp, level, shuffle, max_bytes))
                ra, rc = read(path, data)
                r, c = min(r, ra), min(c, rc)
            size = os.path.getsize(path)
            rows.append({"workload": workload, "setting": label, "write_s": w, "read_s": r, "read_column_s": c,
                         "size_mb": size / 1e6, "ratio": raw / size})
            print(f"{workload:8s} {label:30s} write {w * 1e3:8.1f} ms  read {r * 1e3:7.1f} ms  "
                  f"column {c * 1e3:6.1f} ms  {size / 1e6:7.2f} MB  ({raw / size:5.1f}x)", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lv", type=Path, help="result file whose /series to rewrite")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    rows = run("district", district_series(), args.repeat)
    if args.lv:
        rows += run("lv", lv_series(args.lv), args.repeat)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
