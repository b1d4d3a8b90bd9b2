"""Benchmark of the analysis path: load, all KPIs, the HTML report.

Run ``python -m analysis.bench [--steps N] [--households N] [--repeat N]``. It
writes one synthetic result file (default: half a year of 15-min steps, 100
households, 40 feeder buses, one ICT message per household and step), then
prints the median wall time of each stage and its ratio to the I/O floor:
reading every dataset of the file with plain h5py in the same process.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import h5py

from analysis.check import compare, read_baseline, write_baseline
from analysis.io import load
from analysis.kpis import kpis
from analysis.report import build_report
from analysis.synthetic import make_result


def _median_s(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _read_all(path: Path) -> None:
    def read(_: str, obj: object) -> None:  # visititems stops at the first non-None return
        if isinstance(obj, h5py.Dataset):
            obj[()]

    with h5py.File(path, "r") as f:
        f.visititems(read)


def main(argv: list[str] | None = None) -> int:
    """Print median times [s] per stage and the ratio to the raw h5py read."""
    parser = argparse.ArgumentParser(prog="python -m analysis.bench")
    parser.add_argument("--steps", type=int, default=17_520)
    parser.add_argument("--households", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = make_result(Path(tmp) / "bench.h5", n_steps=args.steps, n_households=args.households, n_feeder_buses=40)
        size_mb = path.stat().st_size / 1e6
        floor = _median_s(lambda: _read_all(path), args.repeat)
        stages = {
            "load (validate + scan)": lambda: load(path),
            "load + all KPIs": lambda: kpis(load(path)),
            "load + KPIs + check": lambda: compare(kpis(load(path)), read_baseline(base)),
            "report (KPIs + 7 figures)": lambda: build_report([load(path)], Path(tmp) / "report"),
        }
        base = write_baseline(Path(tmp) / "b.json", kpis(load(path)), {"file": path.name})
        print(f"file: {args.steps} steps x {args.households} households, {size_mb:.1f} MB")
        print(f"{'raw h5py read of every dataset':32s} {floor:8.3f} s   1.00 x")
        for name, func in stages.items():
            t = _median_s(func, args.repeat)
            print(f"{name:32s} {t:8.3f} s  {t / floor:5.2f} x")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
