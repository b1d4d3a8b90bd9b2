"""Series datasets use only filters built into HDF5 and give back the exact values.

Source: the recorder's documented choice (gzip level 1 plus byte shuffle for
multi-byte series, measured in benchmarks/bench_recorder.py); exactness is
checked byte for byte (no tolerance).
"""

from __future__ import annotations

import h5py
import numpy as np

from cosim.recorder import create_series

BUILT_IN = {"gzip", "lzf", "shuffle"}  # decoded by every HDF5 without plugins


def test_float_series_shuffled_bool_not_and_values_exact(tmp_path):
    rng = np.random.default_rng(4)
    floats = rng.lognormal(0.0, 1.0, (10, 7))
    flags = floats > 1.0
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        for name, data, dtype in (("p_mw", floats, np.float64), ("flag", flags, np.bool_)):
            ds = create_series(f, "sim", name, (7,), dtype, "MW", range(7), 4, "gzip", 1)
            ds.resize(len(data), axis=0)
            ds[:] = data
    with h5py.File(path, "r") as f:
        p, flag = f["series/sim/p_mw"], f["series/sim/flag"]
        assert p.shuffle and p.compression == "gzip" and p.compression_opts == 1
        assert not flag.shuffle
        assert set(p._filters) <= BUILT_IN and set(flag._filters) <= BUILT_IN
        assert p[()].tobytes() == floats.tobytes() and np.array_equal(flag[()], flags)


def test_no_compression_means_no_filters(tmp_path):
    with h5py.File(tmp_path / "y.h5", "w") as f:
        ds = create_series(f, "sim", "v", (3,), np.float64, "", range(3), 4, None, 1)
        assert ds.compression is None and not ds.shuffle
