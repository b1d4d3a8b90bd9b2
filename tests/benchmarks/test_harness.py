"""Logic of the benchmark harness (no timings are asserted: speed lives in benchmarks/)."""

from __future__ import annotations

import math

import pytest

from benchmarks import probe, report, run_all, scaling


def test_compare_extrapolates_reference_total():
    # hand calculation: reference fixed costs 4 + 1 + 0.5 = 5.5 s, 10 ms/step over
    # 1,000 cosim steps -> 5.5 + 10 = 15.5 s; cosim 6 ms/step and 7.75 s wall
    cosim = {"ms_per_step": 6.0, "wall_time_s": 7.75}
    ref = {"load_s": 4.0, "warmup_s": 1.0, "setup_s": 0.5, "ms_per_step": 10.0, "steps": 100}
    c = run_all.compare(cosim, ref, 1000)
    assert c["ref_total_extrapolated"] is True
    assert c["ref_total_s"] == pytest.approx(15.5, rel=1e-12)
    assert c["ratio_per_step"] == pytest.approx(0.6, rel=1e-12)
    assert c["ratio_total"] == pytest.approx(0.5, rel=1e-12)
    assert c["speedup_total"] == pytest.approx(2.0, rel=1e-12)


def test_judge_flags_only_ratios_beyond_tolerance():
    cur = {"a": {"steps": 192, "cosim_ms_per_step": 8.0, "reference_ms_per_step": 10.0, "ratio_per_step": 0.8},
           "b": {"steps": 16, "cosim_ms_per_step": 100.0, "reference_ms_per_step": 50.0, "ratio_per_step": 2.0}}
    # limits 1.5 x baseline: a 0.6 -> 0.9 (0.8 passes), b 1.2 -> 1.8 (2.0 fails)
    ok, lines = run_all.judge(cur, {"a": 0.6, "b": 1.2}, 1.5)
    assert not ok
    assert lines[1].endswith("ok") and lines[2].endswith("REGRESSION")
    ok, _ = run_all.judge(cur, {"a": 0.6, "b": 1.4}, 1.5)  # b limit 2.1
    assert ok


def test_splice_keeps_hand_written_text():
    old = "head\n<!-- s -->\nold body\n<!-- e -->\ntail\n"
    new = report.splice(old, "new body\n", "<!-- s -->", "<!-- e -->")
    assert new == "head\n<!-- s -->\nnew body\n<!-- e -->\ntail\n"
    assert report.splice("", "x\n", "<!-- s -->", "<!-- e -->").endswith("<!-- s -->\nx\n<!-- e -->\n")


def test_exponent_recovers_power_law():
    # t = 3 n^0.75 exactly: the log-log least-squares slope is 0.75
    n = [10, 100, 1000, 9000]
    assert scaling.exponent(n, [3 * x**0.75 for x in n]) == pytest.approx(0.75, abs=1e-9)
    assert math.isnan(scaling.exponent([5], [1.0]))
    assert scaling.complexity(1.0) == "~linear"


class _Adapter:
    def step(self, time, inputs, max_advance=None):
        return time + 1

    def get_data(self, outputs):
        return {}


def test_probe_counts_calls_and_restores_methods():
    target = {"dummy": f"{__name__}:_Adapter"}
    original = _Adapter.step
    hooked = []
    with probe.Probe(target, on_first_step=lambda: hooked.append(1)) as p:
        a = _Adapter()
        assert a.step(1, {}) == 2 and a.step(2, {}) == 3
        a.get_data({})
    assert _Adapter.step is original
    assert hooked == [1]
    assert p.calls[("dummy", "step")] == 2 and p.calls[("dummy", "get_data")] == 1
    rec = probe.summarise(p, steps=2, wall_s=3.0, setup_s=1.0)
    assert rec["run_s"] == pytest.approx(2.0) and rec["simulator_steps_per_step"] == pytest.approx(1.0)
    # run 2 s over 2 steps = 1,000 ms/step, of which the adapters took a few microseconds
    assert rec["mosaik_ms_per_step"] == pytest.approx(1e3 - rec["adapters_ms_per_step"], rel=1e-12)


def test_startup_section_reports_ratios():
    # hand calculation: cold 12 s / warm 0.5 s = 24.0x; run 6 s over bare imports 4 s = 1.50x
    st = {"load_avg_1min_before": 1.0, "load_avg_1min_after": 2.0,
          "grid_load": {"1-LV-rural1--0-sw": {"cold_s": 12.0, "warm_s": 0.5, "off_s": 11.0,
                                              "cold_over_warm": 24.0, "off_over_warm": 22.0}},
          "process": {"bare_imports": 4.0, "help": 0.2, "grids": 0.8, "run_default": 6.0,
                      "run_default_cache_off": 15.0, "help_over_bare": 0.05, "grids_over_bare": 0.2,
                      "run_default_over_bare": 1.5, "run_default_cache_off_over_bare": 3.75}}
    text = "\n".join(report._startup({"startup": st}))
    assert "| `1-LV-rural1--0-sw` | 12.00 | 0.50 | 11.00 | 24.0x | 22.0x | - |" in text
    assert "| `cosim run` (default scenario) | 6.00 | 1.50x | nan | nanx |" in text
    assert report._startup({}) == []
