"""Direct load control in a coupled run: the heat pump load drops in the event, then rebounds.

Grid + households on a January weekday, every home with a heat pump, HEMS
``none`` (heat pumps hold their setpoint). DLC blocks the heat pumps
(``limit_frac: 0``) in the event hours 17-19 h. Expectations (properties of
the 1R1C building model, no external figure): the recorded heat pump load is
zero in the event and the rebound peak (KPI ``dr_rebound_peak_mw``: the largest
aggregate household import in the hour after the event) is higher than the
aggregate import of the run without DLC in the same hour by more than the
power-flow and round-off tolerance (here 10 %: the blocked homes must reheat
a building that cooled for 2 h).
"""

from __future__ import annotations

import h5py
import pytest
import numpy as np

from analysis import kpis, load
from cosim.cli import main
from cosim.config import load_scenario
from cosim.world import run_scenario

BASE = ["households.heat_pump={share: 1.0}", "start=2016-01-12T00:00:00", "duration=1d"]
DLC = "households.dlc={devices: [heat_pump], limit_frac: 0, trigger: {hours: [17, 18]}, payment_eur_per_event: 2}"


def _run(tmp_path, name, extra):
    sc, text = load_scenario(None, [*BASE, *extra])
    path = tmp_path / f"{name}.h5"
    run_scenario(sc, text, path)
    return path


def test_dlc_lowers_heat_pump_load_and_rebounds(tmp_path):
    base = _run(tmp_path, "base", [])
    dlc = _run(tmp_path, "dlc", [DLC])
    with h5py.File(base) as f0, h5py.File(dlc) as f1:
        hp0, hp1 = f0["series/household/hp_p_mw"][()], f1["series/household/hp_p_mw"][()]
        p0 = f0["series/household/p_mw"][()].sum(axis=1)
        active = f1["series/household/dlc_active"][()]
        assert "dlc_active" not in f0["series/household"]
    event = slice(17 * 4, 19 * 4)
    assert np.flatnonzero(active.any(axis=1)).tolist() == list(range(17 * 4, 19 * 4))
    assert hp0[event].sum() > 0 and np.all(hp1[event] == 0.0)
    values = kpis(load(dlc))
    after = p0[19 * 4:20 * 4].max()
    assert values["dr_rebound_peak_mw"].value > 1.10 * after
    assert values["dr_events"].value == 1.0
    assert values["dr_energy_shifted_mwh"].value > 0
    n_homes = hp1.shape[1]
    assert values["dr_payments_eur"].value == 2.0 * n_homes  # every home enrolled, one event each
    # the payment is a credit beside the energy bill: net = bill - 2 EUR per home (one event each)
    assert values["household_net_bill_mean_eur"].value == pytest.approx(values["household_bill_mean_eur"].value - 2.0,
                                                                        rel=0, abs=1e-9)


@pytest.mark.parametrize("bad, field", [
    ("households.dlc={trigger: {}}", "households.dlc.trigger"),
    ("households.dlc={trigger: {vm_pu_below: -1}}", "households.dlc.trigger.vm_pu_below"),
    ("households.emergency_dr={events: [{start: noon, duration_s: 60, reduction_frac: 0.5}]}",
     "households.emergency_dr.events.0.start"),
    ("households.emergency_dr={events: [{start: '2016-01-12T17:00:00', duration_s: 60, reduction_frac: 0.5}], "
     "compliance_rate: 1.2}", "households.emergency_dr.compliance_rate"),
])
def test_bad_programme_input_is_one_line_exit_2(tmp_path, capsys, bad, field):
    out = tmp_path / "x.h5"
    assert main(["run", "-q", "-o", str(out), "--set", "duration=15min", "--set", bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {field}: ") and "; got " in err[0], err
    assert not out.exists()
