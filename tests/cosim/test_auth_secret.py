"""Order authentication uses a secret that is not in the result file.

* The master secret comes from the operating system (or a key file), not from
  the seed that every result stores: an order signed with the seed-derived
  key of the old set-up does not verify.
* Same seed, different secret: identical ``/series`` and ``/events``.
* The ``ict.forged`` attack builds orders for the interval the market gates
  next, and every forged and every replayed order is rejected by
  authentication and none is cleared: the trades and the grid series equal
  those of the run without attack.
"""

from __future__ import annotations

import secrets

import h5py
import numpy as np
import pytest

from cosim.config import load_scenario
from cosim.world import master_secret, run_scenario, split_seeds
from simulators.common import messages as msgs
from simulators.common.auth import AuthKeyError, KeyRing, SeenIds, read_key_file, verify
from simulators.ict.model import target_interval_s

BASE = ["duration=3h", "start=2016-06-06T09:00:00", "ict.technologies={ideal: 1.0}"]
SCENARIO = "scenarios/market_lv_rural.yaml"
#: ICT injections: 40 forged bids and 25 offers, at times inside three different intervals
ICT_FORGED = "ict.forged=[{at_s: 60, count: 40}, {at_s: 3000, count: 25, kind: offer}, {at_s: 5500, count: 10}]"
MARKET_ATTACK = "market.attack={forged_orders_per_interval: 7, replayed_orders_per_interval: 5}"


def _datasets(path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and name.startswith(("series/", "events/")):
                out[name] = obj[()]
        f.visititems(visit)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("auth")
    out = {}
    for name, extra in (("clean", []), ("clean2", []), ("ict_forged", [ICT_FORGED]),
                        ("market_attack", [MARKET_ATTACK])):
        sc, text = load_scenario(SCENARIO, [*BASE, *extra])
        out[name] = _datasets(run_scenario(sc, text, d / f"{name}.h5").path)
    return out


def test_secret_is_random_not_from_seed():
    sc, _ = load_scenario(SCENARIO, BASE)
    a, b = master_secret(sc), master_secret(sc)
    assert len(a) == 32 and a != b
    old = KeyRing(split_seeds(sc.seed)["auth"])  # the seed-derived set-up anyone with the result can rebuild
    book = msgs.empty(3)
    book["msg_id"] = [1, 2, 3]
    book["sender"] = [0, 1, 2]
    book["interval_s"] = 900
    old.sign(book)
    forged, _ = verify(book, KeyRing(a), SeenIds())
    assert forged.all()


def test_key_file(tmp_path):
    key = tmp_path / "run.key"
    key.write_text(secrets.token_hex(32) + "\n")
    sc, _ = load_scenario(SCENARIO, [*BASE, f"auth_key_file={key}"])
    assert master_secret(sc) == bytes.fromhex(key.read_text().strip()) == read_key_file(key)
    short = tmp_path / "short.key"
    short.write_text("abcd")
    with pytest.raises(AuthKeyError, match="2 bytes"):
        read_key_file(short)


def test_same_seed_same_results_whatever_the_secret(runs):
    a, b = runs["clean"], runs["clean2"]
    assert a.keys() == b.keys() and any(k.startswith("events/trades") for k in a)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_target_interval():
    # gate closure 300 s before each 900 s interval: offset 600 s in the previous interval
    assert target_interval_s(60, 900, [600]) == 900
    assert target_interval_s(600, 900, [600]) == 900  # exactly at gate closure of interval 1
    assert target_interval_s(601, 900, [600]) == 1800


def _total(d, attr):
    return int(np.nansum(d[f"series/market/{attr}"]))


def test_ict_forged_orders_reach_authentication_and_are_all_rejected(runs):
    clean, att = runs["clean"], runs["ict_forged"]
    log = att["events/messages"]
    forged_delivered = int((log["forged"] & (log["arrival_ms"] >= 0)).sum())
    assert forged_delivered == 75  # every injection is delivered by ideal ICT
    # all of them are judged by authentication, none is counted late
    assert _total(att, "orders_rejected_auth") - _total(clean, "orders_rejected_auth") == forged_delivered
    assert _total(att, "orders_late") == _total(clean, "orders_late")
    # none cleared: trades and the grid are those of the run without attack
    np.testing.assert_array_equal(att["events/trades"], clean["events/trades"])
    for k in clean:
        if k.startswith("series/grid/"):
            np.testing.assert_array_equal(att[k], clean[k], err_msg=k)


def test_market_forged_and_replayed_orders_are_all_rejected(runs):
    clean, att = runs["clean"], runs["market_attack"]
    rejected = att["series/market/orders_rejected_auth"].astype(int)
    accepted = (att["series/market/orders_received"] - rejected - att["series/market/orders_invalid"]).astype(int)
    gated = att["series/market/orders_received"] > 0
    # per gate: 7 forged + min(5, orders accepted at the previous gate) replayed (market/operator.py _attacks)
    prev = np.r_[0, accepted[:-1]]
    expected = np.where(gated, 7 + np.minimum(5, prev), 0)
    np.testing.assert_array_equal(rejected, expected)
    assert (np.minimum(5, prev)[gated] > 0).any()  # replays did happen
    np.testing.assert_array_equal(att["events/trades"], clean["events/trades"])
