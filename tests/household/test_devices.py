"""Device models against hand calculations, published values and independent solvers."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from simulators.household.battery import battery_step
from simulators.household.ev import ev_bounds
from simulators.household.heatpump import building_step, cop_ashp, heat_to_reach
from simulators.household.pv import pv_active, pv_reactive


def test_battery_energy_balance_and_bounds():
    # Independent reference: a plain-Python loop of the balance equation of the issue.
    rng = np.random.default_rng(3)
    n, dt = 50, 0.25
    e = rng.uniform(0.005, 0.01, n)
    e_min, e_max, pmax = 0.05 * e, 0.95 * e, 0.6 * e
    eta_c, eta_d, sd = 0.95, 0.9, 2.8e-5
    soc = 0.5 * e
    for _ in range(200):
        req = rng.normal(0, 0.01, n)
        p, nxt = battery_step(soc, req, e_min, e_max, pmax, eta_c, eta_d, sd, dt)
        for i in range(n):
            ref = soc[i] * (1 - sd * dt) + eta_c * max(p[i], 0) * dt - max(-p[i], 0) * dt / eta_d
            assert abs(nxt[i] - ref) <= 1e-9
        assert np.all(np.abs(p) <= pmax + 1e-15)
        assert np.all(nxt <= e_max + 1e-12) and np.all(nxt >= e_min - 1e-12)
        soc = nxt


def test_battery_hand_value():
    # 10 kWh battery at 5 kWh, charge 2 kW for 0.25 h, eta_c 0.95, no self-discharge:
    # 0.005 + 0.95*0.002*0.25 = 0.005475 MWh
    p, nxt = battery_step(np.array([0.005]), np.array([0.002]), np.array([0.0]), np.array([0.01]),
                          np.array([0.006]), 0.95, 0.95, 0.0, 0.25)
    assert p[0] == 0.002 and nxt[0] == pytest.approx(0.005475, abs=1e-15)


def test_cop_ruhnau_hand_value():
    # Ruhnau et al. 2019, ASHP radiator: T_out = 0 C -> sink 40 C, dT = 40 K,
    # COP = 6.08 - 0.09*40 + 0.0005*1600 = 3.28; x 0.85 = 2.788
    assert cop_ashp(0.0) == pytest.approx(2.788, abs=1e-12)
    # floor heating, T_out = -10 C: sink 35 C, dT 45 -> 6.08 - 4.05 + 1.0125 = 3.0425
    assert cop_ashp(-10.0, "floor", 1.0) == pytest.approx(3.0425, abs=1e-12)


def test_building_step_vs_ode_solver_and_energy_balance():
    h, c, dt = np.array([200e-6]), np.array([6.9e-3]), 0.25  # MW/K, MWh/K, h
    t0, t_out, q = np.array([19.0]), -5.0, np.array([0.006])
    t1, loss = building_step(t0, t_out, q, h, c, dt)
    sol = solve_ivp(lambda t, y: (h[0] * (t_out - y) + q[0]) / c[0], (0, dt), [t0[0]], rtol=1e-12, atol=1e-12)
    assert t1[0] == pytest.approx(sol.y[0, -1], abs=1e-8)
    # C*dT = Q*dt - loss, to 1e-9 MWh
    assert abs(c[0] * (t1[0] - t0[0]) - (q[0] * dt - loss[0])) < 1e-9
    # heat_to_reach inverts the step exactly
    q_need = heat_to_reach(t0, np.array(21.0), t_out, np.zeros(1), h, c, dt)
    t2, _ = building_step(t0, t_out, q_need, h, c, dt)
    assert t2[0] == pytest.approx(21.0, abs=1e-9)


def test_pv_active_limits():
    p, curt = pv_active(np.array([0.008, 0.004]), np.array([0.007, 0.007]), np.array([0.005, np.inf]))
    # 8 kW clipped to 7 kW by the inverter, then 5 kW cap -> 2 kW curtailed
    assert np.allclose(p, [0.005, 0.004]) and np.allclose(curt, [0.002, 0.0])


def test_reactive_characteristics():
    s = np.array([1.0])
    # fixed cos phi 0.95 under-excited: q = -P*tan(acos 0.95) = -0.5*0.328684 = -0.164342
    assert pv_reactive("fixed_cosphi", np.array([0.5]), s, 0.95)[0] == pytest.approx(-0.164342, abs=1e-6)
    # VDE-AR-N 4105 cos phi(P): P/Pn = 0.5 -> 1; P/Pn = 0.75 -> 0.975; q = -0.75*tan(acos .975) = -0.166667
    assert pv_reactive("cosphi_p", np.array([0.5]), s, 0.95)[0] == 0.0
    assert pv_reactive("cosphi_p", np.array([0.75]), s, 0.95)[0] == pytest.approx(-0.75 * np.tan(np.arccos(0.975)), abs=1e-12)
    # IEEE 1547 cat. B: V = 0.95 -> 0.44*(0.98-0.95)/0.06 = 0.22 pu; V = 1.10 -> -0.44 pu
    # (P = 0.5, S = 1: limit sqrt(1-0.25) = 0.866 does not bind)
    q = pv_reactive("q_u", np.array([0.5, 0.5, 0.5]), np.ones(3), 0.95, np.array([0.95, 1.0, 1.10]))
    assert np.allclose(q, [0.22, 0.0, -0.44], atol=1e-12)
    # apparent-power limit: P = 0.95 S leaves sqrt(1-0.9025) = 0.3122 Mvar
    assert pv_reactive("q_u", np.array([0.95]), s, 0.95, np.array([0.9]))[0] == pytest.approx(np.sqrt(1 - 0.9025))


def test_ev_smart_meets_target_when_feasible():
    # 11 kW charger, need 20 kWh, eta 0.9, 4 h left: smart waits until it must.
    eta, dt, p = 0.9, 0.25, 0.011
    e, target, rem = 0.02, 0.04, 4.0
    total_in = 0.0
    while rem > 1e-9:
        must, _, _ = ev_bounds(np.array([e]), np.array([target]), np.array([0.0]), np.array([p]), eta,
                               np.array([rem]), dt, np.array([True]), "smart")
        e += eta * must[0] * dt
        total_in += must[0] * dt
        rem -= dt
    assert e == pytest.approx(target, abs=1e-9)
    assert total_in == pytest.approx(0.02 / eta, abs=1e-9)
