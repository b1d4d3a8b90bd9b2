"""The on-disk grid cache gives back exactly the parsed net, or rebuilds it.

Source of every expectation: the net parsed by ``simbench.get_simbench_net``
itself (compared exactly, no tolerance) and the cache's documented behaviour
(stale, corrupt and crafted entries are ignored and rebuilt, never executed).
"""

from __future__ import annotations

import io
import json
import logging
import math
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest

from simulators.common import netcache

LV = "1-LV-rural1--0-sw"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COSIM_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def small_net():
    """A small pandapower net with object columns mixing str, int, float NaN and None."""
    import pandapower as pp

    net = pp.create_empty_network(name="small")
    b0 = pp.create_bus(net, 0.4, name="b0")
    b1 = pp.create_bus(net, 0.4, name=None)
    pp.create_ext_grid(net, b0)
    pp.create_line_from_parameters(net, b0, b1, 0.1 / 3, 0.642, 0.083, 210.0, 0.142)
    pp.create_load(net, b1, 0.1 / 7, 0.01, name="l")
    net.bus["voltLvl"] = pd.Series([7, 7], index=net.bus.index, dtype=object)  # ints in an object column
    net.bus["subnet"] = pd.Series(["a", float("nan")], index=net.bus.index, dtype=object)
    net.profiles = {"load": pd.DataFrame({"time": ["01.01.2016 00:00", "01.01.2016 00:15"],
                                          "x_pload": [0.1, 1 / 3]})}
    net.std_types["extra"] = {"inf": math.inf, "neg0": -0.0, "list": [1, 2.5, None]}
    return net


class Builder:
    """``build()`` that counts its calls."""

    def __init__(self, net):
        self.net, self.calls = net, 0

    def __call__(self):
        self.calls += 1
        import copy

        return copy.deepcopy(self.net)


def test_simbench_net_from_cache_equals_parsed_exactly(cache):
    """Every table of the cached LV net and its profiles equals the parsed one (exact)."""
    import simbench

    parsed = simbench.get_simbench_net(LV)
    build = Builder(parsed)
    netcache.load_simbench(LV, build)  # cold: parses and stores
    warm = netcache.load_simbench(LV, build)
    assert build.calls == 1, "the second load must come from the cache"
    assert type(warm) is type(parsed) and list(warm) == list(parsed)
    for key, value in parsed.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(warm[key], value, check_exact=True, obj=key)
    assert set(warm.profiles) == set(parsed.profiles)
    for key, value in parsed.profiles.items():
        pd.testing.assert_frame_equal(warm.profiles[key], value, check_exact=True, obj=f"profiles.{key}")
    netcache.assert_same(parsed, warm)  # plus cell types of object columns, dict entries


def test_object_columns_and_special_floats_round_trip(cache, small_net):
    build = Builder(small_net)
    netcache.load_simbench("small", build)
    warm = netcache.load_simbench("small", build)
    assert build.calls == 1
    netcache.assert_same(small_net, warm)
    assert type(warm.bus["voltLvl"].iloc[0]) is int  # not numpy.int64
    assert math.isnan(warm.bus["subnet"].iloc[1]) and warm.bus["name"].iloc[1] is None
    assert math.copysign(1, warm.std_types["extra"]["neg0"]) == -1


def test_off_switch_never_writes(tmp_path, monkeypatch, small_net):
    monkeypatch.setenv("COSIM_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    build = Builder(small_net)
    netcache.load_simbench("small", build)
    netcache.load_simbench("small", build)
    assert build.calls == 2 and netcache.cache_dir() is None
    assert not any(tmp_path.rglob("*"))


def test_corrupt_entry_is_logged_and_rebuilt(cache, small_net, caplog):
    build = Builder(small_net)
    netcache.load_simbench("small", build)
    (entry,) = netcache.entries(cache)
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])  # truncated file
    with caplog.at_level(logging.WARNING, logger=netcache.__name__):
        net = netcache.load_simbench("small", build)
    assert build.calls == 2 and "ignoring" in caplog.text
    netcache.assert_same(small_net, net)
    netcache.load_simbench("small", build)
    assert build.calls == 2, "the rebuilt entry is valid again"
    assert not list(cache.rglob("*.part")), "no temporary file left behind"


def test_stale_entry_is_not_read(cache, small_net, monkeypatch):
    build = Builder(small_net)
    netcache.load_simbench("small", build)
    # a SimBench CSV changed size: the key changes, the old entry is never read
    monkeypatch.setattr(netcache, "source_fingerprint", lambda: [["networks/x/Load.csv", 1, 2]])
    netcache.load_simbench("small", build)
    assert build.calls == 2 and len(netcache.entries(cache)) == 2
    monkeypatch.setattr(netcache, "FORMAT", netcache.FORMAT + 1)
    netcache.load_simbench("small", build)
    assert build.calls == 3


def test_crafted_entry_runs_no_code(cache, small_net, monkeypatch):
    """A manifest naming another container, or a key that does not match, is refused;
    reading never calls pickle."""
    build = Builder(small_net)
    netcache.load_simbench("small", build)
    (entry,) = netcache.entries(cache)
    with zipfile.ZipFile(entry) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    key = json.loads(members["manifest.json"])["key"]

    def boom(*_a, **_k):
        raise AssertionError("pickle used while reading the cache")

    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "load", boom)
    assert type(netcache._unpack(entry.read_bytes(), key)).__name__ == "pandapowerNet"
    for change in ({"container": "os.system"}, {"key": {"what": "other"}}):
        manifest = {**json.loads(members["manifest.json"]), **change}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            for name, data in members.items():
                zf.writestr(name, json.dumps(manifest) if name == "manifest.json" else data)
        with pytest.raises(netcache.CorruptEntry):
            netcache._unpack(buf.getvalue(), key)


def test_value_without_exact_format_is_not_cached(cache, small_net, caplog):
    import copy

    net = copy.deepcopy(small_net)
    net.std_types["extra"]["np"] = np.float64(1.5)  # a numpy scalar has no exact JSON form here
    build = Builder(net)
    with caplog.at_level(logging.WARNING, logger=netcache.__name__):
        out = netcache.load_simbench("odd", build)
    assert out.std_types["extra"]["np"] == 1.5 and "not cached" in caplog.text
    assert netcache.entries(cache) == []


def test_codes_cached(cache):
    calls = []
    codes = netcache.load_codes(lambda: calls.append(1) or ["a", "b"])
    assert netcache.load_codes(lambda: calls.append(1) or ["x"]) == codes == ("a", "b")
    assert len(calls) == 1


def test_info_and_clear(cache, small_net, capsys):
    netcache.load_simbench("small", Builder(small_net))
    assert netcache.main(["info"]) == 0 and "1 files" in capsys.readouterr().out
    assert netcache.main(["clear"]) == 0 and netcache.entries(cache) == []
    assert netcache.main(["bogus"]) == 2


def test_table_of_only_object_columns_keeps_its_rows(cache):
    """A non-empty table whose columns are all text (the district grid has one) round-trips."""
    import pandapower as pp

    net = pp.create_empty_network()
    net["notes"] = pd.DataFrame({"a": ["x", None, "z"]}, index=pd.Index([3, 5, 9]))
    net["ranged"] = pd.DataFrame({"b": ["u", "v"]})  # RangeIndex
    build = Builder(net)
    netcache.load_simbench("texts", build)
    warm = netcache.load_simbench("texts", build)
    assert build.calls == 1
    netcache.assert_same(net, warm)


def test_grids_answers_from_cache_without_pandapower(cache):
    """`cosim grids` on a warm code list imports neither simbench, pandapower nor pandas."""
    import os
    import subprocess
    import sys

    netcache.load_codes(lambda: ["9-TEST-code--0-sw"])  # the key of the installed simbench
    code = ("import sys; from cosim.cli import main; main(['grids']); "
            "print(sorted(m for m in ('simbench', 'pandapower', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "COSIM_CACHE_DIR": str(cache)}).stdout.split("\n")
    assert out[0] == "9-TEST-code--0-sw" and out[1] == "[]"


# ------------------------------------------------------------------ derived arrays
def _arrays():
    rng = np.random.default_rng(3)  # distinct values incl. negative zero and NaN, exact bytes checked
    return {"a": np.r_[rng.normal(size=1000), -0.0, np.nan], "b": np.arange(7, dtype=np.int32),
            "s": np.array(["x", "yz"])}


def test_arrays_round_trip_bit_for_bit_and_are_read_not_rebuilt(cache):
    calls = []

    def build():
        calls.append(1)
        return _arrays()

    first = netcache.load_arrays("toy", {"p": 1}, build)
    second = netcache.load_arrays("toy", {"p": 1}, build)
    assert calls == [1]  # the second call read the entry
    for k, v in _arrays().items():
        assert second[k].dtype == v.dtype and second[k].tobytes() == v.tobytes() == first[k].tobytes()
    netcache.load_arrays("toy", {"p": 2}, build)  # another key: built again
    assert calls == [1, 1]


def test_arrays_entry_damaged_or_foreign_is_rebuilt(cache, caplog):
    netcache.load_arrays("toy", {"p": 1}, _arrays)
    (path,) = [p for p in netcache.entries() if p.suffix == ".npz"]
    path.write_bytes(b"not a zip")
    with caplog.at_level(logging.WARNING):
        out = netcache.load_arrays("toy", {"p": 1}, _arrays)
    assert "ignoring" in caplog.text and out["a"].tobytes() == _arrays()["a"].tobytes()
    # an entry of another key copied under this name is refused by the stored key
    other = netcache.load_arrays("toy", {"p": 9}, lambda: {"a": np.zeros(3)})
    (path9,) = [p for p in netcache.entries() if p.suffix == ".npz" and p != path]
    path.write_bytes(path9.read_bytes())
    assert netcache.load_arrays("toy", {"p": 1}, _arrays)["a"].tobytes() == _arrays()["a"].tobytes()
    assert other["a"].shape == (3,)


def test_arrays_entry_with_a_pickled_object_runs_no_code(cache):
    netcache.load_arrays("toy", {"p": 1}, _arrays)
    (path,) = [p for p in netcache.entries() if p.suffix == ".npz"]
    buf = io.BytesIO()
    np.savez(buf, __key__=np.array("x"), a=np.array([object()], dtype=object))  # needs pickle to read
    path.write_bytes(buf.getvalue())
    out = netcache.load_arrays("toy", {"p": 1}, _arrays)  # refused (allow_pickle=False), rebuilt
    assert out["a"].dtype == np.float64


def test_solar_position_from_cache_equals_pvlib(cache):
    """Reference: pvlib's SPA called directly at the same times (exact)."""
    import pvlib

    from simulators.household import weather

    weather._solar_position.cache_clear()
    weather._solar_position(48.1, 11.6, 520.0)  # builds the entry
    weather._solar_position.cache_clear()
    got = weather._solar_position(48.1, 11.6, 520.0)  # read from disk
    ref = pvlib.location.Location(48.1, 11.6, altitude=520.0).get_solarposition(weather.row_times_utc())
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert any(p.name.startswith("solar-position-") for p in netcache.entries())
