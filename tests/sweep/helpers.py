"""Helpers for the sweep tests: run the CLI as a subprocess, read results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

DATA = Path(__file__).parent / "data"
BASE = DATA / "base.yaml"
DEFAULT = Path(__file__).parents[2] / "scenarios" / "default.yaml"


def cosim(*args: str, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Run ``cosim ARGS`` in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "cosim.cli", *args], capture_output=True, text=True,
                          timeout=timeout, **kw)


def read_index(out_dir: Path) -> pd.DataFrame:
    return pd.read_parquet(out_dir / "sweep_index.parquet")


def datasets(path: Path) -> dict[str, np.ndarray]:
    """Every dataset under /series and /events, by name (independent of cosim.sweep)."""
    out = {}
    with h5py.File(path, "r") as f:
        for group in ("series", "events"):
            if group in f:
                f[group].visititems(
                    lambda n, o, g=group: out.__setitem__(f"{g}/{n}", o[()]) if isinstance(o, h5py.Dataset) else None)
    return out


def assert_same_data(a: Path, b: Path) -> None:
    """Bit-identical /series and /events (NaN equal to NaN, byte for byte)."""
    da, db = datasets(a), datasets(b)
    assert sorted(da) == sorted(db)
    for name in da:
        assert da[name].dtype == db[name].dtype, name
        assert da[name].shape == db[name].shape, name
        assert da[name].tobytes() == db[name].tobytes(), f"{name} differs between {a} and {b}"


def write_sweep(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
