"""Same scenario + seed -> bit-identical /series and /events.

Across runs, across ``--workers`` values, and between ``cosim run`` and
``cosim sweep``. The base scenario (data/base.yaml) draws household sizes,
ICT latencies/losses and market clearing from the seed, so nondeterminism
anywhere in those paths would show up. The reference is the byte content
of the datasets read with h5py (helpers.assert_same_data), independent of
cosim.sweep.dataset_digest, which is checked against it as well.
"""

from __future__ import annotations

import pytest

from cosim.sweep import dataset_digest

from .helpers import BASE, assert_same_data, cosim, datasets, read_index, write_sweep


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("repro")
    sweep = write_sweep(tmp / "s.yaml", f"base: {BASE}\nseeds: [1, 2]\ntimeout_s: 600\n")
    out = {}
    for workers in ("1", "2"):
        proc = cosim("sweep", str(sweep), "--workers", workers, "-o", str(tmp / f"w{workers}"), "-q")
        assert proc.returncode == 0, proc.stderr
        out[workers] = read_index(tmp / f"w{workers}").set_index("variant_id")
    single = tmp / "single.h5"
    proc = cosim("run", str(BASE), "--set", "seed=1", "-o", str(single), "-q")
    assert proc.returncode == 0, proc.stderr
    out["run"] = single
    return out


def test_workers_1_and_2_give_identical_datasets(runs):
    w1, w2 = runs["1"], runs["2"]
    assert sorted(w1.index) == sorted(w2.index) and len(w1) == 2
    assert (w1["status"] == "complete").all() and (w2["status"] == "complete").all()
    for vid in w1.index:
        assert_same_data(w1.loc[vid, "output_path"], w2.loc[vid, "output_path"])
        assert w1.loc[vid, "data_sha256"] == w2.loc[vid, "data_sha256"]


def test_cosim_run_equals_the_sweep_variant(runs):
    w1 = runs["1"]
    vid = w1.index[w1["seed"] == 1][0]
    assert_same_data(runs["run"], w1.loc[vid, "output_path"])
    assert dataset_digest(runs["run"]) == w1.loc[vid, "data_sha256"]


def test_a_different_seed_gives_different_data(runs):
    # the comparison above could not fail if the seed did not matter
    w1 = runs["1"]
    a, b = (datasets(p) for p in w1["output_path"])
    assert any(a[k].tobytes() != b[k].tobytes() for k in a)
    assert w1["data_sha256"].nunique() == 2
    assert {"events/messages", "series/household/pv_p_mw"} <= set(a)
