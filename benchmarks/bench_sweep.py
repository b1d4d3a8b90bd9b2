"""Sweep speed-up on Dask and the per-variant cost of starting on a worker.

Runs 8 one-day variants of the default scenario (seeds 1..8, grid only,
1-LV-rural1) with ``cosim sweep --workers 1`` and ``--workers 2`` and prints:

* the wall time of each sweep and the speed-up ratio (target >= 1.7 on 2 cores);
* the Dask LocalCluster start-up time (measured alone, in this process);
* worker utilisation: sum of the children's wall times / (workers x sweep
  wall); other processes competing for the CPUs lower the speed-up but not this;
* per variant: the child's wall time (index ``wall_time_s``), the simulation
  itself (the result file's ``wall_time_s`` root attribute, measured inside
  ``run_scenario``) and their difference, the overhead of starting a variant on
  a worker (process start, imports, scenario validation, file rename).

Usage: ``python benchmarks/bench_sweep.py [--variants 8] [--duration 1d]``.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "default.yaml"


def _sweep(tmp: Path, workers: int, n: int, duration: str) -> tuple[float, pd.DataFrame]:
    sweep = tmp / f"bench_w{workers}.yaml"
    seeds = ", ".join(str(s) for s in range(1, n + 1))
    sweep.write_text(f"base: {DEFAULT}\nvariants: [{{duration: {duration}}}]\nseeds: [{seeds}]\n")
    out = tmp / f"w{workers}"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "cosim.cli", "sweep", str(sweep), "--workers", str(workers),
                           "-o", str(out), "-q"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"sweep failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return wall, pd.read_parquet(out / "sweep_index.parquet")


def _cluster_start_s(workers: int) -> float:
    from dask.distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    client.wait_for_workers(workers)
    dt = time.perf_counter() - t0
    client.close()
    cluster.close()
    return dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=8)
    ap.add_argument("--duration", default="1d")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        load = os.getloadavg()[0]
        cluster = {w: _cluster_start_s(w) for w in (1, 2)}
        res = {w: _sweep(tmp, w, args.variants, args.duration) for w in (1, 2)}
        print(f"{args.variants} variants x {args.duration} (default scenario, grid only); "
              f"load average before: {load:.2f} on {os.cpu_count()} CPUs")
        for w, (wall, idx) in res.items():
            assert (idx["status"] == "complete").all()
            child = idx["wall_time_s"].to_numpy()
            sim = []
            for p in idx["output_path"]:
                with h5py.File(p, "r") as f:
                    sim.append(float(f.attrs["wall_time_s"]))
            over = [c - s for c, s in zip(child, sim)]
            busy = sum(child) / (w * wall)  # 1.0 = the workers never waited for the driver
            print(f"--workers {w}: sweep wall {wall:6.1f} s | LocalCluster start {cluster[w]:4.1f} s | "
                  f"per variant: child median {statistics.median(child):5.2f} s, simulation median "
                  f"{statistics.median(sim):5.2f} s, start-up overhead median {statistics.median(over):5.2f} s | "
                  f"worker utilisation {busy:.2f}")
        w1, w2 = res[1][0], res[2][0]
        print(f"speed-up --workers 2 vs 1: {w1 / w2:.2f}x (target >= 1.7x)")
        same = (res[1][1].set_index("variant_id")["data_sha256"]
                == res[2][1].set_index("variant_id")["data_sha256"]).all()
        print(f"identical datasets across --workers: {bool(same)}")


if __name__ == "__main__":
    main()
