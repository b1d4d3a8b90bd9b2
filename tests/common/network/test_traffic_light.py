"""The one DSO traffic light: colours per area, strict thresholds, several intervals."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from simulators.common.network.traffic_light import AMBER, GREEN, RED, traffic_light

LIM = SimpleNamespace(vm_min_pu=0.9, vm_max_pu=1.1, max_loading_percent=100.0,
                      amber_loading_percent=80.0, amber_vm_margin_pu=0.02)
BUS_AREA = np.array([-1, 0, 0, 1, 1])  # bus 0 is in no area
BRANCH_AREA = np.array([-1, 0, 1])


def light(vm, ld):
    return traffic_light(np.asarray(vm, float), np.asarray(ld, float), BUS_AREA, BRANCH_AREA, 2, LIM)


def test_colours_by_hand():
    """Hand-made cases (expected colours by hand from the thresholds in LIM):
    one flag in one area colours only that area."""
    ok_v, ok_l = [1.0] * 5, [10.0] * 3
    assert light(ok_v, ok_l).tolist() == [GREEN, GREEN]
    assert light([1.0, 1.0, 1.09, 1.0, 1.0], ok_l).tolist() == [AMBER, GREEN]   # 1.09 > 1.1 - 0.02
    assert light([1.0, 1.0, 1.0, 0.89, 1.0], ok_l).tolist() == [GREEN, RED]     # below 0.9
    assert light(ok_v, [10.0, 85.0, 101.0]).tolist() == [AMBER, RED]
    assert light([0.5, 1.0, 1.0, 1.0, 1.0], [500.0, 10.0, 10.0]).tolist() == [GREEN, GREEN]  # no area


def test_threshold_values_keep_the_lower_colour():
    """A value exactly at a threshold is allowed: strict comparisons (the
    coordinator's rule; the market's old light had ``>=`` for amber loading)."""
    assert light([1.0] * 5, [10.0, 80.0, 100.0]).tolist() == [GREEN, AMBER]
    assert light([1.0, 1.1, 1.0, 0.9, 1.0], [10.0] * 3).tolist() == [AMBER, AMBER]
    assert light([1.0, 1.08, 1.0, 0.92, 1.0], [10.0] * 3).tolist() == [GREEN, GREEN]


def test_nan_voltage_raises_no_flag_and_intervals_stack():
    vm = np.array([[1.0, np.nan, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.2, 1.0]])
    ld = np.array([[10.0] * 3, [10.0] * 3])
    np.testing.assert_array_equal(light(vm, ld), [[GREEN, GREEN], [GREEN, RED]])


def test_many_areas_equal_the_per_area_loop():
    """Above a few areas the light is computed by one scatter instead of a loop
    over areas; expected: exactly the loop's colours (booleans, no tolerance),
    on random states with NaN voltages, elements in no area and two intervals."""
    from simulators.common.network import traffic_light as tl

    rng = np.random.default_rng(3)
    n_area = tl._FEW_AREAS + 5
    bus_area = rng.integers(-1, n_area, 300)
    branch_area = rng.integers(-1, n_area, 280)
    vm = rng.choice([1.0, 1.09, 0.91, 1.11, 0.89, np.nan], size=(2, 300), p=[0.95, 0.01, 0.01, 0.005, 0.005, 0.02])
    ld = rng.choice([10.0, 85.0, 105.0], size=(2, 280), p=[0.98, 0.015, 0.005])
    got = traffic_light(vm, ld, bus_area, branch_area, n_area, LIM)
    want = np.zeros((2, n_area), np.int8)
    for a in range(n_area):  # the definition, area by area
        bm, lm = bus_area == a, branch_area == a
        red = ((vm[:, bm] > 1.1) | (vm[:, bm] < 0.9)).any(-1) | (ld[:, lm] > 100.0).any(-1)
        amb = ((vm[:, bm] > 1.08) | (vm[:, bm] < 0.92)).any(-1) | (ld[:, lm] > 80.0).any(-1)
        want[:, a] = np.where(red, RED, np.where(amb, AMBER, GREEN))
    assert got.dtype == np.int8 and np.array_equal(got, want)
    assert set(np.unique(got).tolist()) == {GREEN, AMBER, RED}  # every colour exercised
