"""Direct load control and emergency demand response (simulators.household.programmes).

Event rules are checked against hand-worked schedules; compliance against the
binomial distribution of the seeded draw.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulators.common.tariffs import TariffConfig
from simulators.household import HouseholdModel, HouseholdsConfig
from simulators.household.programmes import DirectLoadControl, EmergencyDemandResponse
from simulators.household.schema import DlcConfig, EmergencyDrConfig

HP = {"heat_pump": {"share": 1.0}, "ev": {"share": 1.0}}


def _active_steps(cfg: dict, n_steps: int, step_s: int = 900, price=0.0, vm=None):
    dlc = DirectLoadControl(DlcConfig.model_validate(cfg), 1, np.random.default_rng(0), "2016-01-11T00:00:00")
    vm = np.ones(1) if vm is None else vm
    return [k for k in range(n_steps) if (dlc.update(k * step_s, price, vm), dlc.active[0])[1]]


def test_dlc_hours_duration_rearm_and_daily_count():
    # hours 1, 3, 5 with events of at most 2 h and 2 a day (15-min steps):
    # 01:00-02:00 (trigger clears at 02:00), 03:00-04:00, 05:00 refused (2 events today);
    # next day (step 96 = 00:00) 01:00 and 03:00 again -> steps 4-7, 12-15, 100-103, 108-111
    cfg = {"trigger": {"hours": [1, 3, 5]}, "max_duration_s": 7200, "max_events_per_day": 2}
    expect = [*range(4, 8), *range(12, 16), *range(100, 104), *range(108, 112)]
    assert _active_steps(cfg, 192) == expect


def test_dlc_event_ends_at_max_duration_and_needs_the_trigger_to_clear():
    # trigger 01:00-04:00 (hours 1, 2, 3), max 1 h: active 01:00-02:00 only; the trigger
    # holds on to 04:00, so no second event although 3 a day are allowed
    cfg = {"trigger": {"hours": [1, 2, 3]}, "max_duration_s": 3600, "max_events_per_day": 3}
    assert _active_steps(cfg, 96) == [4, 5, 6, 7]


def test_dlc_voltage_trigger_acts_per_home():
    dlc = DirectLoadControl(DlcConfig(trigger={"vm_pu_below": 0.95}), 3, np.random.default_rng(0),
                            "2016-01-11T00:00:00")
    dlc.update(0, 0.0, np.array([0.96, 0.949, 0.90]))
    assert dlc.active.tolist() == [False, True, True]
    hp, ev = dlc.limit(np.full(3, 4e-3), np.full(3, 11e-3), np.full(3, 3e-3), np.full(3, 11e-3))
    # limit_frac 0.5 (default): min(4, 0.5 x 3) kW = 1.5 kW, min(11, 0.5 x 11) = 5.5 kW where active
    assert hp == pytest.approx([4e-3, 1.5e-3, 1.5e-3]) and ev == pytest.approx([11e-3, 5.5e-3, 5.5e-3])


def test_dlc_price_trigger_follows_the_critical_peak_event(rural_net):
    # critical-peak event day 2016-01-11, 17-21 h at 1000 EUR/MWh; trigger at 500 with
    # events of at most 2 h: the heat pumps are off 17:00-19:00 (15-min steps 68-75)
    tariff = TariffConfig(kind="cpp", cpp_event_days=("2016-01-11",))
    cfg = HouseholdsConfig.model_validate(dict(HP, dlc={"devices": ["heat_pump"], "limit_frac": 0.0,
                                                        "trigger": {"price_eur_per_mwh": 500.0},
                                                        "payment_eur_per_event": 3.0}))
    m = HouseholdModel(rural_net, cfg, "2016-01-11T00:00:00", 900, 96, 1, tariff)
    outs = [m.step(k)[0] for k in range(96)]
    active = np.array([o["dlc_active"] for o in outs])
    assert np.flatnonzero(active.any(axis=1)).tolist() == list(range(68, 76))
    hp = np.array([o["hp_p_mw"] for o in outs])
    assert np.all(hp[68:76] == 0.0)
    # rebound: the first step after the event draws more than the last one before it
    assert hp[76].sum() > hp[67].sum()
    # reduction = the setpoint power the HEMS wanted in the event steps; one event each
    red = np.array([o["dr_reduction_mw"] for o in outs])
    assert red[68:76].sum() > 0 and red[:68].sum() == 0 and red[76:].sum() == 0
    assert outs[-1]["dr_payment_eur"] == pytest.approx(3.0 * m.dlc.enrolled)


def test_programmes_off_keep_results_and_outputs(rural_net):
    """Configured but never triggered: the same series (the draws come after all others)."""
    base = HouseholdModel(rural_net, HouseholdsConfig.model_validate(HP), "2016-01-11T00:00:00", 900, 8, 3)
    cfg = HouseholdsConfig.model_validate(dict(HP, dlc={"trigger": {"price_eur_per_mwh": 1e6}}))
    with_dlc = HouseholdModel(rural_net, cfg, "2016-01-11T00:00:00", 900, 8, 3)
    for k in range(8):
        a, b = base.step(k)[0], with_dlc.step(k)[0]
        assert "dlc_active" not in a and "dr_payment_eur" not in a
        np.testing.assert_array_equal(a["p_mw"], b["p_mw"])
        assert b["dlc_active"].sum() == 0 and b["dr_reduction_mw"].sum() == 0


def test_emergency_compliance_share_is_binomial(rural_net):
    # 60 one-step events x n homes, compliance 0.7 drawn per event and home: the complied
    # share of the N = 60 n requests lies within 4 binomial standard deviations
    # sqrt(0.7 x 0.3 / N) of 0.7 (fails by chance with probability < 1e-4)
    events = [{"start": f"2016-01-11T{h:02d}:{mm:02d}:00", "duration_s": 900, "reduction_frac": 0.5}
              for h in range(15) for mm in (0, 15, 30, 45)][:60]
    cfg = HouseholdsConfig.model_validate(dict(HP, emergency_dr={"events": events, "compliance_rate": 0.7,
                                                                 "payment_eur_per_mwh": 100.0,
                                                                 "baseline": "own_decision"}))
    m = HouseholdModel(rural_net, cfg, "2016-01-11T00:00:00", 900, 64, 5)
    outs = [m.step(k)[0] for k in range(64)]
    req = np.array([o["edr_requested"] for o in outs])
    ok = np.array([o["edr_complied"] for o in outs])
    n_req = req.sum()
    assert n_req == 60 * m.pop.n and req[60:].sum() == 0
    share = ok.sum() / n_req
    assert abs(share - 0.7) <= 4 * np.sqrt(0.7 * 0.3 / n_req)
    # payment = 100 EUR/MWh x reduction energy (hand rule of the programme), tolerance round-off
    red_mwh = np.array([o["dr_reduction_mw"] for o in outs]).sum(axis=0) * 0.25
    np.testing.assert_allclose(outs[-1]["dr_payment_eur"], 100.0 * red_mwh, rtol=1e-9, atol=1e-12)
    # non-compliers shed nothing
    red = np.array([o["dr_reduction_mw"] for o in outs])
    assert np.all(red[(req == 1) & (ok == 0)] == 0.0)


def test_emergency_payment_against_the_meter_before_baseline(rural_net):
    """Hand rule (NAESB meter before / meter after): baseline = mean metered import of the hour
    before the request; paid = price x sum over request steps of max(0, baseline - import) x dt,
    complying homes only. Tolerance: round-off of the sums."""
    events = [{"start": "2016-01-11T17:00:00", "duration_s": 7200, "reduction_frac": 0.8}]
    cfg = HouseholdsConfig.model_validate(dict(HP, emergency_dr={"events": events, "compliance_rate": 0.6,
                                                                 "payment_eur_per_mwh": 200.0}))
    m = HouseholdModel(rural_net, cfg, "2016-01-11T00:00:00", 900, 80, 3)
    outs = [m.step(k)[0] for k in range(80)]
    imp = np.maximum(np.array([o["p_mw"] for o in outs]), 0.0)
    req = np.array([o["edr_requested"] for o in outs]) > 0
    ok = np.array([o["edr_complied"] for o in outs]) > 0
    assert np.flatnonzero(req.any(axis=1)).tolist() == list(range(68, 76))  # 17:00-19:00
    base = imp[64:68].mean(axis=0)  # the four 15-min steps of 16:00-17:00
    red = np.where(ok[68:76], np.maximum(base - imp[68:76], 0.0), 0.0)
    got = np.array([o["edr_metered_reduction_mw"] for o in outs])
    np.testing.assert_allclose(got[68:76], red, rtol=0, atol=1e-12)
    assert np.all(got[:68] == 0.0) and np.all(got[76:] == 0.0)
    np.testing.assert_allclose(outs[-1]["dr_payment_eur"], 200.0 * red.sum(axis=0) * 0.25, rtol=1e-12, atol=1e-12)
    assert red.sum() > 0 and ok[68].sum() < m.pop.n  # some homes shed, some did not comply
    # the metered reduction is below the own-decision figure (a curtailed heat pump asks for more)
    assert got.sum() < np.array([o["dr_reduction_mw"] for o in outs]).sum()


def test_emergency_reduce_cuts_consumption_not_injection():
    hp, ev, bat = EmergencyDemandResponse.reduce(np.array([0.5, 0.0]), np.array([2.0, 2.0]),
                                                 np.array([10.0, -5.0]), np.array([3.0, -3.0]))
    # halved where frac 0.5; V2G discharge and battery discharge untouched
    assert hp.tolist() == [1.0, 2.0] and ev.tolist() == [5.0, -5.0] and bat.tolist() == [1.5, -3.0]


@pytest.mark.parametrize("bad, where", [
    ({"dlc": {"trigger": {}}}, "households.dlc.trigger"),
    ({"dlc": {"trigger": {"hours": [24]}}}, "hours"),
    ({"dlc": {"limit_frac": 1.5, "trigger": {"hours": [1]}}}, "limit_frac"),
    ({"emergency_dr": {"events": []}}, "events"),
    ({"emergency_dr": {"events": [{"start": "soon", "duration_s": 60, "reduction_frac": 0.5}]}}, "start"),
])
def test_bad_programme_input_is_rejected(bad, where):
    with pytest.raises(ValueError, match=where.split(".")[-1]):
        HouseholdsConfig.model_validate(bad)


def test_dlc_on_ev_chargers_shifts_the_charge_after_the_event(rural_net):
    """Uncontrolled EVs blocked 20-22 h: what they would have charged in the event is charged
    after it (the target is still reached before departure), the two-day energy is the same
    (energy balance of the EV model, tolerance round-off)."""
    def run(extra):
        cfg = HouseholdsConfig.model_validate({"ev": {"share": 1.0, "mode": "uncontrolled"}, **extra})
        m = HouseholdModel(rural_net, cfg, "2016-01-12T00:00:00", 900, 192, 4)
        outs = [m.step(k)[0] for k in range(192)]
        return np.array([o["ev_p_mw"] for o in outs]) * 0.25, outs[-1]

    e0, last0 = run({})
    e1, last1 = run({"dlc": {"devices": ["ev"], "limit_frac": 0.0, "trigger": {"hours": [20, 21]}}})
    event, after = slice(80, 88), slice(88, 96)  # 20:00-22:00 and 22:00-24:00 on day 1
    assert e0[event].sum() > 0 and e1[event].sum() == 0.0
    assert e1[after].sum() == pytest.approx(e0[after].sum() + e0[event].sum(), rel=1e-9)
    assert e1.sum() == pytest.approx(e0.sum(), rel=1e-9)
    assert last1["ev_unmet_mwh"].sum() == last0["ev_unmet_mwh"].sum() == 0.0
