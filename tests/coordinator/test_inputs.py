"""Bad configuration, TSO CSV and AR(1), adapter (the linear model itself is tested in
tests/common/network/test_radial.py)."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest
from pydantic import ValidationError

from simulators.common import messages as msg
from simulators.coordinator import AreaError, Coordinator, CoordinatorConfig, build_linear_grid
from simulators.coordinator.mosaik import CoordinatorSim
from simulators.coordinator.tso import ar1_needs

from tests.coordinator.coord_case import STEP_S, make_net, offers


def test_unknown_scheme_names_field():
    with pytest.raises(ValidationError) as e:
        CoordinatorConfig(scheme="federated")
    assert "scheme" in str(e.value) and "centralized" in str(e.value)


def test_unknown_field_rejected():
    with pytest.raises(ValidationError, match="activation_lead"):
        CoordinatorConfig(activation_lead=3)


@pytest.mark.parametrize("text, needle", [
    ("time,need_mw,price_eur_per_mwh\n0,1.0,50\n900,,50\n", "'need_mw' line 3"),
    ("time,need_mw,price_eur_per_mwh\n0,1.0,50\n900,1.0,50\n2700,1.0,50\n", "'time' line 4: gap"),
    ("time,need,price_eur_per_mwh\n0,1.0,50\n", "missing ['need_mw']"),
    ("time,need_mw,price_eur_per_mwh\n2016-01-01T00:00,1,50\nbad,1,50\n", "'time' line 3"),
])
def test_bad_tso_csv_names_file_field_and_line(tmp_path, text, needle):
    f = tmp_path / "tso.csv"
    f.write_text(text)
    with pytest.raises(ValidationError) as e:
        CoordinatorConfig(tso={"source": "csv", "csv_path": str(f)})
    assert needle in str(e.value) and str(f) in str(e.value)


def test_tso_csv_is_used_per_interval(tmp_path):
    f = tmp_path / "tso.csv"
    f.write_text("time,need_mw,price_eur_per_mwh\n2016-06-01T00:00:00,0.1,40\n2016-06-01T00:15:00,-0.2,60\n"
                 "2016-06-01T00:30:00,0.3,80\n")
    cfg = CoordinatorConfig(tso={"source": "csv", "csv_path": str(f)})
    c = Coordinator(cfg, make_net(), "2016-06-01T00:00:00", STEP_S, 3, 0)
    np.testing.assert_allclose(c.tso_need_mw, [0.1, -0.2, 0.3])  # the CSV rows, one per interval
    np.testing.assert_allclose(c.tso_price, [40, 60, 80])


def test_tso_csv_not_covering_run_is_an_error(tmp_path):
    f = tmp_path / "tso.csv"
    f.write_text("time,need_mw,price_eur_per_mwh\n0,0.1,40\n900,0.1,40\n")
    cfg = CoordinatorConfig(tso={"source": "csv", "csv_path": str(f)})
    with pytest.raises(ValueError, match="covers"):
        Coordinator(cfg, make_net(), "2016-06-01T00:00:00", STEP_S, 10, 0)


def test_area_matching_no_trafo_names_field():
    with pytest.raises(AreaError, match=r"coordinator.areas: \[7\]"):
        build_linear_grid(make_net(), [7])


def test_ar1_moments():
    # Stationary AR(1): std = sigma, lag-1 autocorrelation = phi (definition); n = 40,000 gives
    # standard errors ~0.005 (phi) and ~0.6 % (std); tolerances 0.02 and 3 %.
    x = ar1_needs(np.random.default_rng(3), 40_000, 900, mean_mw=0.0, sigma_mw=500.0, phi_15min=0.7)
    assert np.std(x) == pytest.approx(500.0, rel=0.03)
    assert np.corrcoef(x[:-1], x[1:])[0, 1] == pytest.approx(0.7, abs=0.02)
    same = ar1_needs(np.random.default_rng(3), 10, 900, mean_mw=0.0, sigma_mw=500.0, phi_15min=0.7)
    np.testing.assert_array_equal(same, x[:10])  # same seed, same series


def test_adapter_self_steps_and_emits_activations(tmp_path):
    net = make_net()
    path = tmp_path / "net.json"
    pp.to_json(net, str(path))
    sim = CoordinatorSim()
    sim.init("Coord-0", 0.001, config={"scheme": "centralized", "tso": {"area_share": 0.0}},
             grid={"pandapower_json": str(path)}, start="2016-06-01T00:00:00", step_s=STEP_S, n_steps=3, seed=0)
    sim.model.tso_need_mw[:] = 0.03
    assert sim.create(1, "Coordinator")[0]["eid"] == "Coordinator"
    o = offers(1, [3, 3], [0.02, 0.02], [0, 0], [10, 20])
    nxt = sim.step(0, {"Coordinator": {"messages_in": {"ICT-0.ict": o},
                                       "bus_p_mw": {"HH-0.hh": np.array([0, 0, 0.04, 0.04])}}}, 10**9)
    assert nxt == (STEP_S - 120) * 1000  # T_1 - activation_lead_s in ms
    nxt = sim.step(nxt, {}, 10**9)
    assert nxt == (2 * STEP_S - 120) * 1000
    d = sim.get_data({"Coordinator": ["messages_out", "tso_need_met_mw", "events_activations", "traffic_light"]})
    m = d["Coordinator"]["messages_out"]
    assert list(m["side"]) == [-1, -1] and list(m["receiver"]) == [0, 1]
    assert d["Coordinator"]["tso_need_met_mw"] == pytest.approx(0.03)
    assert len(d["Coordinator"]["events_activations"]) == 2
    # non-persistent: sent once, and nothing when there is nothing new
    assert "messages_out" not in sim.get_data({"Coordinator": ["messages_out"]})["Coordinator"]
    assert set(sim.series_meta()) >= {"tso_need_mw", "traffic_light", "double_activations"}
    assert list(sim.static_tables()["areas"]["area"]) == ["trafo 0"]
