"""Tests of the aggregator's profile building, disaggregation and delivery."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.common.messages import Kind, empty
from simulators.market.aggregator import (build_profiles, disaggregate, headroom_from_messages,
                                          profile_delivery)


def members(seed, n_h=37, n_t=4):
    rng = np.random.default_rng(seed)
    up = rng.uniform(0, 0.005, (n_h, n_t)) * (rng.random((n_h, n_t)) > 0.2)
    dn = rng.uniform(0, 0.004, (n_h, n_t))
    cost = rng.uniform(20, 200, n_h)
    bus = rng.choice([3, 5, 8], n_h)
    agg = rng.choice([-1, 0, 1], n_h)
    return up, dn, cost, bus, agg


@pytest.mark.parametrize("product", ["srp", "crp", "crp2"])
@pytest.mark.parametrize("seed", range(3))
def test_profiles_never_exceed_member_headroom(product, seed):
    up, dn, cost, bus, agg = members(seed)
    prof, mem = build_profiles(up, dn, cost, bus, agg, product=product, members_per_profile=4)
    m = mem.toarray()
    # each profile = its members' sum, members at one bus and of one aggregator
    assert np.all(prof.up_mw <= m @ up + 1e-15) and np.all(prof.down_mw <= m @ dn + 1e-15)
    for j in range(len(prof)):
        mm = m[j] > 0
        assert mm.sum() <= 4
        assert set(bus[mm]) == {prof.bus[j]} and set(agg[mm]) == {prof.aggregator[j]}
        assert prof.price_eur_per_mwh[j] == cost[mm].max()  # every member covered
    # every aggregated member's headroom is offered once per direction, nothing else
    covered = m.max(axis=0) > 0
    assert np.all(covered[agg >= 0] | ((up + dn).sum(axis=1)[agg >= 0] == 0))
    assert not covered[agg < 0].any()
    np.testing.assert_allclose(prof.up_mw.sum(), up[agg >= 0].sum(), rtol=1e-12)
    np.testing.assert_allclose(prof.down_mw.sum(), dn[agg >= 0].sum(), rtol=1e-12)


def test_disaggregation_within_limits_and_pro_rata():
    up, dn, cost, bus, agg = members(5)
    prof, mem = build_profiles(up, dn, cost, bus, agg, product="crp2", members_per_profile=5)
    rng = np.random.default_rng(0)
    pool_up, pool_dn = mem @ up, mem @ dn
    # activations up to 130 % of the pool: beyond the pool must be shortfall
    act = np.where(rng.random(pool_up.shape) < 0.5, 1.3 * rng.random(pool_up.shape) * pool_up,
                   -1.3 * rng.random(pool_dn.shape) * pool_dn)
    sp_mw, short = disaggregate(act, mem, up, dn)
    assert np.all(sp_mw <= up + 1e-15) and np.all(sp_mw >= -dn - 1e-15)
    # what the members deliver plus the shortfall equals the activation
    np.testing.assert_allclose(mem @ sp_mw + np.sign(act) * short, act, atol=1e-15)
    exp_short = np.where(act > 0, np.maximum(act - pool_up, 0), np.maximum(-act - pool_dn, 0))
    np.testing.assert_allclose(short, exp_short, atol=1e-15)
    # pro rata: a member's share of the profile equals its share of the headroom
    j, t = np.unravel_index(np.argmax(np.abs(act) * (short == 0)), act.shape)
    mm = mem.toarray()[j] > 0
    head = up[mm, t] if act[j, t] > 0 else dn[mm, t]
    np.testing.assert_allclose(np.abs(sp_mw[mm, t]), abs(act[j, t]) * head / head.sum(),
                               rtol=1e-12)


def test_under_delivery_is_recorded():
    up, dn, cost, bus, agg = members(2)
    prof, mem = build_profiles(up, dn, cost, bus, agg, product="srp")
    act = prof.up_mw.copy()  # the upward profile of each exclusive up/down pair
    sp_mw, short = disaggregate(act, mem, up, dn)
    assert np.all(short == 0)
    delivered = sp_mw * 0.7  # every member delivers 70 %
    got, miss = profile_delivery(delivered, mem, act)
    np.testing.assert_allclose(miss, 0.3 * np.abs(act), atol=1e-15)


def test_headroom_from_messages_keeps_latest_and_converts_to_mw():
    m = empty(4)
    m["kind"] = [Kind.FLEX_OFFER, Kind.FLEX_OFFER, Kind.FLEX_OFFER, Kind.BID]
    m["sender"] = [0, 0, 2, 1]
    m["interval_s"] = [900, 900, 1800, 900]
    m["send_ms"] = [1, 2, 1, 1]
    m["quantity_mwh"] = [0.001, 0.002, 0.0005, 9.0]
    m["quantity2_mwh"] = [0.0, 0.0015, 0.0, 9.0]
    m["price_eur_per_mwh"] = [50, 60, 70, 80]
    up, dn, cost = headroom_from_messages(m, 3, 900, 900, 2)
    # 0.002 MWh in 0.25 h = 0.008 MW (the later message of household 0 wins)
    np.testing.assert_allclose(up, [[0.008, 0], [0, 0], [0, 0.002]])
    np.testing.assert_allclose(dn, [[0.006, 0], [0, 0], [0, 0]])
    np.testing.assert_allclose(cost, [60, 0, 70])
