"""Tests of the pure ICT model: distributions, loss, bursts, outages, queues, seeds."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simulators.common.messages import DSO, MARKET, Kind, Status, empty
from simulators.ict.model import IctNetwork, assign_technologies, fifo_departure_us


def _msgs(n, sender, send_ms=0, receiver=MARKET, size=400, kind=Kind.BID):
    m = empty(n)
    m["msg_id"] = np.arange(n)
    m["sender"] = sender
    m["receiver"] = receiver
    m["send_ms"] = send_ms
    m["size_bytes"] = size
    m["kind"] = kind
    return m


def _net(cfg, n=1000, feeder=None, seed=1, horizon_ms=1e9):
    feeder = np.zeros(n, dtype=np.int64) if feeder is None else feeder
    return IctNetwork(cfg, feeder, seed, horizon_ms)


def test_latency_matches_configured_lognormal_ks():
    # Reference: the configured distribution itself, lognorm(s=0.5, loc=5, scale=35-5),
    # per TechnologyParams' docstring. Infinite bandwidth so only latency is seen.
    cfg = {"technologies": {"lte": 1.0},
           "overrides": {"lte": {"bad_share": 0.0, "loss_good": 0.0, "bandwidth_kbps": None}}}
    net = _net(cfg, n=5000)
    out = net.transmit(_msgs(5000, np.arange(5000)))
    assert np.all(out["status"] == Status.DELIVERED)
    # arrival is ceil()'d to whole ms. P(ceil(L) <= k) = F(k) at every integer k, and
    # L' = arrival - U (U ~ U[0,1), fixed seed) has the CDF that interpolates F linearly between
    # integers; its distance from F is < 1e-3 here (density <= 0.03/ms), far below the
    # KS critical distance 1.63/sqrt(5000) = 0.023 at the 1 % level.
    u = np.random.default_rng(7).random(5000)
    lat = out["arrival_ms"] - u
    d = stats.kstest(lat, stats.lognorm(s=0.5, loc=5.0, scale=30.0).cdf)
    assert d.pvalue > 0.01, d
    # the test can fail: a wrong median (40 ms instead of 35) is rejected
    d_wrong = stats.kstest(lat, stats.lognorm(s=0.5, loc=5.0, scale=35.0).cdf)
    assert d_wrong.pvalue < 0.01


def test_bernoulli_loss_within_binomial_ci():
    # bad_share = 0 -> independent loss with loss_good = 0.05; 99.9 % Clopper-Pearson CI (scipy).
    cfg = {"technologies": {"dsl": 1.0},
           "overrides": {"dsl": {"bad_share": 0.0, "loss_good": 0.05, "bandwidth_kbps": None}}}
    n = 20000
    net = _net(cfg, n=n)
    out = net.transmit(_msgs(n, np.arange(n)))
    k = int((out["status"] == Status.LOST).sum())
    ci = stats.binomtest(k, n, 0.05).proportion_ci(confidence_level=0.999)
    assert ci.low <= 0.05 <= ci.high, (k, ci)
    assert np.all(out["arrival_ms"][out["status"] == Status.LOST] == -1)


def _lost_runs_s(burst_s, share, gap_s, horizon_s, nh=200, batch_s=100.0):
    """Durations [s] of uncensored runs of lost messages, each household sending every ``gap_s``."""
    cfg = {"technologies": {"fiber": 1.0},
           "overrides": {"fiber": {"bad_share": share, "burst_mean_s": burst_s, "loss_good": 0.0,
                                   "loss_bad": 1.0, "bandwidth_kbps": None}}}
    net = _net(cfg, n=nh, seed=3)
    times_ms = np.arange(0.0, horizon_s, gap_s) * 1e3
    k = len(times_ms)
    lost = np.zeros((k, nh), dtype=bool)
    per = max(1, int(round(batch_s / gap_s)))
    for a in range(0, k, per):  # several sends per household per batch, batches in time order
        t = times_ms[a:a + per]
        m = _msgs(len(t) * nh, np.tile(np.arange(nh), len(t)), send_ms=np.repeat(t, nh).astype(np.int64))
        lost[a:a + per] = (net.transmit(m)["status"] == Status.LOST).reshape(len(t), nh)
    runs = []
    for h in range(nh):
        x = np.r_[0, lost[:, h].astype(int), 0]
        starts, ends = np.flatnonzero(np.diff(x) == 1), np.flatnonzero(np.diff(x) == -1)
        keep = (starts > 0) & (ends < k)  # drop runs touching the ends (censored)
        runs.extend((ends - starts)[keep])
    return np.asarray(runs) * gap_s, lost


@pytest.mark.parametrize("gap_s", [1.0, 5.0])
def test_gilbert_elliott_burst_duration_in_seconds_independent_of_message_rate(gap_s):
    # Continuous-time chain, mean bad duration 30 s, bad share 0.2 (so k = 1/(30*0.8) per s).
    # Sampled every gap_s, a lost run ends with P(bad->good within gap) = (1-pi)(1-exp(-k gap))
    # (exact two-state transition probability), so the mean run lasts gap/that [s]: hand
    # calculation 30.6 s at 1 s and 33.1 s at 5 s. A per-message chain with the same
    # burst in messages would give 5x the seconds at the 5 s gap.
    # Tolerance: ~2,000 runs (200 homes x 1,500 s x 0.2/30 per s), sd of a run ~ mean,
    # standard error ~ 0.7 s; +-3 s is > 4 sigma.
    burst, share = 30.0, 0.2
    runs_s, lost = _lost_runs_s(burst, share, gap_s, horizon_s=1500.0)
    p_end = (1 - share) * (1 - np.exp(-gap_s / (burst * (1 - share))))
    assert len(runs_s) > 1000
    assert abs(runs_s.mean() - gap_s / p_end) < 3.0, (runs_s.mean(), gap_s / p_end)
    assert abs(runs_s.mean() - burst) < 4.0  # close to the configured 30 s at either rate
    # stationary loss = bad_share = 0.2; +-0.02 (correlated draws, ~2,000 bursts)
    assert abs(lost.mean() - share) < 0.02


def test_gilbert_elliott_transition_probability_hand_values():
    from simulators.ict.model import ge_bad_probability
    # hand calculation: pi = 0.2, burst 30 s -> k = 1/24 per s; after 24 s exp(-1) = 0.3679
    p = ge_bad_probability(np.array([True, False, True]), np.array([24e3, 24e3, 0.0]),
                           np.full(3, 0.2), np.full(3, 30e3))
    assert np.allclose(p, [0.2 + 0.8 * np.exp(-1), 0.2 - 0.2 * np.exp(-1), 1.0], atol=1e-12)


def _ge_lost_loop(net, rng, hh, send_ms):
    """Reference: the chains advanced rank by rank (every household's 1st message, then 2nd, ...),
    one uniform per message of a rank in (household, send) order, then one loss uniform per message."""
    from simulators.ict.model import ge_bad_probability
    order = np.lexsort((np.arange(len(hh)), send_ms, hh))
    hs, ts = hh[order], send_ms[order].astype(float)
    rank = np.zeros(len(hs), dtype=int)
    for i in range(1, len(hs)):
        rank[i] = rank[i - 1] + 1 if hs[i] == hs[i - 1] else 0
    t = net.tech[hs]
    bad_msg = np.zeros(len(hs), dtype=bool)
    for r in range(rank.max() + 1):
        sel = np.flatnonzero(rank == r)
        u = rng.random(len(sel))
        for j, i in enumerate(sel):
            h = hs[i]
            dt = max(ts[i] - net._ge_t_ms[h], 0.0)
            p = ge_bad_probability(np.array([net._bad[h]]), np.array([dt]), net._bad_share[t[i:i + 1]],
                                   net._burst_ms[t[i:i + 1]])[0]
            net._bad[h] = bad_msg[i] = u[j] < p
            net._ge_t_ms[h] = max(net._ge_t_ms[h], ts[i])
    lost = np.empty(len(hs), dtype=bool)
    lost[order] = rng.random(len(hs)) < np.where(bad_msg, net._loss_b[t], net._loss_g[t])
    return lost


def test_gilbert_elliott_vectorised_chain_equals_the_message_by_message_loop():
    # independent reference: the chain stepped one message at a time in plain Python with the
    # same uniforms; equal bit for bit (losses and the carried state over three batches)
    import copy
    cfg = {"technologies": {"lte": 0.5, "nb_plc": 0.5},
           "overrides": {"lte": {"bad_share": 0.4, "burst_mean_s": 2.0, "loss_good": 0.1, "loss_bad": 0.7},
                         "nb_plc": {"bad_share": 0.2, "burst_mean_s": 0.5, "loss_good": 0.0, "loss_bad": 0.9}}}
    net, ref = _net(cfg, n=40, seed=7), _net(cfg, n=40, seed=7)
    rng = np.random.default_rng(11)
    for batch in range(3):
        n = 500
        hh = rng.integers(0, 40, n).astype(np.int64)  # ~12 messages per household, ties in send time
        send = (batch * 20_000 + rng.integers(0, 8_000, n) // 250 * 250).astype(np.int64)
        want = _ge_lost_loop(ref, copy.deepcopy(net._rng_loss), hh, send)
        got = net._ge_lost(hh, send)
        assert np.array_equal(got, want)
        assert np.array_equal(net._bad, ref._bad) and np.array_equal(net._ge_t_ms, ref._ge_t_ms)
        assert 0 < got.sum() < n  # both outcomes occur


def test_per_message_chain_parameters_are_rejected_with_a_hint():
    from simulators.ict.errors import IctConfigError
    with pytest.raises((IctConfigError, ValueError), match="burst_mean_s"):
        _net({"technologies": {"lte": 1.0}, "overrides": {"lte": {"p_bg": 0.1}}}, n=2)


def test_outage_window_drops_exactly_the_messages_in_it():
    # feeder 1 down in [10 s, 20 s); households 0..9 on feeder 0, 10..19 on feeder 1.
    cfg = {"technologies": {"ideal": 1.0},
           "outages": [{"feeders": [1], "start_s": 10, "end_s": 20}]}
    feeder = np.repeat([0, 1], 10)
    net = _net(cfg, n=20, feeder=feeder)
    t = np.arange(0, 30_000, 500)  # every 0.5 s, incl. 10000 (in) and 20000 (out)
    m = _msgs(len(t) * 20, np.tile(np.arange(20), len(t)), send_ms=np.repeat(t, 20))
    out = net.transmit(m)
    expect = (feeder[m["sender"]] == 1) & (m["send_ms"] >= 10_000) & (m["send_ms"] < 20_000)
    assert np.array_equal(out["status"] == Status.DROPPED_OUTAGE, expect)
    assert np.all(out["status"][~expect] == Status.DELIVERED)
    assert np.array_equal(out["arrival_ms"][~expect], m["send_ms"][~expect])  # ideal


def test_technology_scoped_outage_spares_other_technologies():
    cfg = {"technologies": {"ideal": 0.5, "fiber": 0.5},
           "overrides": {"fiber": {"bad_share": 0.0, "loss_good": 0.0}},
           "outages": [{"feeders": "all", "start_s": 0, "end_s": 1, "technologies": ["fiber"]}]}
    net = _net(cfg, n=100)
    out = net.transmit(_msgs(100, np.arange(100), send_ms=500))
    is_fiber = net.tech == net.tech_names.index("fiber")
    assert np.array_equal(out["status"] == Status.DROPPED_OUTAGE, is_fiber)


def test_shared_medium_burst_queues_by_serialisation_delay():
    # nb_plc with 32 kbit/s, no latency spread: 400 B -> 400*8/32 = 100 ms per message (hand calc).
    # 5 households on one feeder sending at t=0: FIFO -> arrivals 10+100, 10+200, ..., 10+500 ms
    # (latency fixed at min = median = 10 ms). One message alone: 110 ms.
    cfg = {"technologies": {"nb_plc": 1.0},
           "overrides": {"nb_plc": {"bandwidth_kbps": 32.0, "latency_min_ms": 10.0,
                                    "latency_median_ms": 10.0, "latency_sigma": 0.0,
                                    "bad_share": 0.0, "loss_good": 0.0}}}
    single = _net(cfg, n=5).transmit(_msgs(1, 0))
    assert single["arrival_ms"][0] == 110
    burst = _net(cfg, n=5).transmit(_msgs(5, np.arange(5)))
    assert np.array_equal(np.sort(burst["arrival_ms"]), [110, 210, 310, 410, 510])
    # a dedicated medium (same rate, shared_medium false) does not queue across households
    cfg["overrides"]["nb_plc"]["shared_medium"] = False
    ded = _net(cfg, n=5).transmit(_msgs(5, np.arange(5)))
    assert np.all(ded["arrival_ms"] == 110)


def test_shared_medium_queue_carries_over_between_batches():
    # batch 1 at t=0 (3 msgs, 100 ms each) keeps the medium busy until 300 ms;
    # a message sent at t=150 departs at 300+100 = 400 ms (hand calc).
    cfg = {"technologies": {"nb_plc": 1.0},
           "overrides": {"nb_plc": {"bandwidth_kbps": 32.0, "latency_min_ms": 0.0,
                                    "latency_median_ms": 0.0, "bad_share": 0.0, "loss_good": 0.0}}}
    net = _net(cfg, n=4, feeder=np.zeros(4, dtype=np.int64))
    net.transmit(_msgs(3, np.arange(3)))
    out = net.transmit(_msgs(1, 3, send_ms=150))
    assert out["arrival_ms"][0] == 400


def test_fifo_departure_matches_loop():
    # independent reference: the Lindley recursion as a plain Python loop
    rng = np.random.default_rng(3)
    n = 300
    q = np.sort(rng.integers(0, 7, n))
    s = np.zeros(n, dtype=np.int64)
    for g in range(7):
        m = q == g
        s[m] = np.sort(rng.integers(0, 5000, m.sum()))
    x = rng.integers(1, 400, n)
    busy = rng.integers(0, 3000, 7)
    ref, b = np.zeros(n, dtype=np.int64), busy.copy()
    for i in range(n):
        b[q[i]] = max(s[i], b[q[i]]) + x[i]
        ref[i] = b[q[i]]
    assert np.array_equal(fifo_departure_us(q, s, x, busy), ref)


def test_same_seed_identical_log_and_different_seed_differs():
    cfg = {"technologies": {"lte": 0.5, "nb_plc": 0.5}}
    feeder = np.arange(200) % 4
    m = _msgs(200, np.arange(200))
    a = _net(cfg, n=200, feeder=feeder, seed=5).transmit(m)
    b = _net(cfg, n=200, feeder=feeder, seed=5).transmit(m)
    c = _net(cfg, n=200, feeder=feeder, seed=6).transmit(m)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_ideal_is_identity_on_time():
    net = _net({"technologies": {"ideal": 1.0}}, n=50)
    m = _msgs(50, np.arange(50), send_ms=np.arange(50) * 7)
    out = net.transmit(m)
    assert np.array_equal(out["arrival_ms"], m["send_ms"])
    assert np.all(out["status"] == Status.DELIVERED)


def test_technology_shares_exact_counts():
    t = assign_technologies({"fiber": 0.3, "lte": 0.7}, 1001, np.random.default_rng(0))
    # largest remainder: 300.3 -> 300, 700.7 -> 701
    assert np.bincount(t).tolist() == [300, 701]


def test_random_link_outages_match_mtbf_mttr_unavailability():
    # unavailability = MTTR/(MTBF+MTTR) = 1/(9+1) = 0.1 (renewal theory); 2000 links, 1000 h.
    # Tolerance +-0.01: sd of the fraction over 2000 independent links is ~0.003.
    cfg = {"technologies": {"ideal": 1.0}, "overrides": {"ideal": {"mtbf_h": 9.0, "mttr_h": 1.0}}}
    n = 2000
    net = _net(cfg, n=n, horizon_ms=1000 * 3.6e6)
    out = net.transmit(_msgs(n, np.arange(n), send_ms=500 * 3_600_000))
    frac = float((out["status"] == Status.DROPPED_OUTAGE).mean())
    assert abs(frac - 0.1) < 0.01, frac


def test_dos_raises_latency_and_loss_only_at_its_endpoint_and_window():
    cfg = {"technologies": {"ideal": 1.0},
           "dos": [{"endpoint": "market", "start_s": 0, "end_s": 10, "extra_latency_ms": 200,
                    "loss": 0.5}]}
    net = _net(cfg, n=4000)
    m = _msgs(4000, np.arange(4000), send_ms=1000, receiver=np.where(np.arange(4000) < 2000, MARKET, DSO))
    out = net.transmit(m)
    mk, ds = out[:2000], out[2000:]
    assert np.all(ds["arrival_ms"] == 1000)
    lost = (mk["status"] == Status.LOST).mean()
    assert abs(lost - 0.5) < 0.05  # binomial sd 0.011
    delay = mk["arrival_ms"][mk["status"] == Status.DELIVERED] - 1000
    assert abs(delay.mean() - 200) < 20  # exponential mean 200, sd of mean ~6.3 ms (n~1000)
    late = net.transmit(_msgs(10, np.arange(10), send_ms=20_000))
    assert np.all(late["arrival_ms"] == 20_000)


def test_forged_injection_uses_existing_senders_and_invalid_tags():
    cfg = {"technologies": {"ideal": 1.0}, "forged": [{"at_s": 5, "count": 30, "kind": "offer"}]}
    net = _net(cfg, n=10)
    assert net.next_forged_ms() == 5000
    assert len(net.forged_due(4999)) == 0
    f = net.forged_due(5000)
    assert len(f) == 30 and net.next_forged_ms() is None
    assert np.all((f["sender"] >= 0) & (f["sender"] < 10))
    assert np.all(f["kind"] == Kind.OFFER) and np.all(f["receiver"] == MARKET)
    assert np.all(f["tag"] != 0) and len(np.unique(f["msg_id"])) == 30
    out = net.transmit(f, via_access=np.zeros(30, dtype=bool))
    assert np.all(out["arrival_ms"] == 5000)


def test_order_deadline_marks_late():
    cfg = {"technologies": {"fiber": 1.0}, "order_deadline_s": 300,
           "overrides": {"fiber": {"latency_min_ms": 50, "latency_median_ms": 50, "bad_share": 0.0,
                                   "loss_good": 0.0, "bandwidth_kbps": None}}}
    net = _net(cfg, n=2)
    m = _msgs(2, [0, 1], send_ms=[599_900, 599_960])
    m["interval_s"] = 900  # deadline at (900-300) s = 600,000 ms
    out = net.transmit(m)
    assert out["arrival_ms"].tolist() == [599_950, 600_010]
    assert out["status"].tolist() == [Status.DELIVERED, Status.LATE]


def test_unknown_household_id_is_rejected():
    from simulators.ict.errors import IctInputError

    with pytest.raises(IctInputError, match="n_households"):
        _net({"technologies": {"ideal": 1.0}}, n=3).transmit(_msgs(1, 3))
