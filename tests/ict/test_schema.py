"""Bad ict: sections give errors naming the field, the bad value and what is allowed."""

from __future__ import annotations

import pytest

from simulators.ict.errors import IctConfigError
from simulators.ict.presets import PRESETS, resolve
from simulators.ict.schema import TECHNOLOGY_NAMES, parse_config


@pytest.mark.parametrize(
    "section, needles",
    [
        ({"technologies": {"wifi": 1.0}}, ["ict.technologies", "wifi", "allowed"]),
        ({"technologies": {"fiber": 0.3, "lte": 0.6}}, ["ict.technologies", "sum to 1"]),
        ({"overrides": {"lte": {"latency_median_ms": -5}}}, ["latency_median_ms", "-5"]),
        ({"overrides": {"lte": {"loss_good": 1.5}}}, ["loss_good", "1.5"]),
        ({"backhaul": {"loss": -0.1}}, ["ict.backhaul.loss"]),
        ({"outages": [{"feeders": [1], "start_s": 10, "end_s": 20},
                      {"feeders": [1, 2], "start_s": 15, "end_s": 30}]}, ["outages", "overlap", "merge"]),
        ({"outages": [{"feeders": "all", "start_s": 10, "end_s": 5}]}, ["outages", "end_s"]),
        ({"dos": [{"endpoint": "bank", "start_s": 0, "end_s": 1, "extra_latency_ms": 1}]}, ["dos", "endpoint"]),
        ({"speed": 3}, ["ict.speed", "Extra inputs"]),
    ],
)
def test_bad_sections_name_the_field(section, needles):
    with pytest.raises(IctConfigError) as exc:
        parse_config(section)
    for n in needles:
        assert n in str(exc.value), (n, str(exc.value))


def test_non_overlapping_or_disjoint_outages_are_fine():
    cfg = parse_config({"outages": [{"feeders": [1], "start_s": 10, "end_s": 20},
                                    {"feeders": [1], "start_s": 20, "end_s": 30},
                                    {"feeders": [2], "start_s": 15, "end_s": 25}]})
    assert len(cfg.outages) == 3


def test_override_inconsistent_with_preset_is_named():
    # lte preset min is 5 ms; a median of 3 ms is below it
    cfg = parse_config({"technologies": {"lte": 1.0}, "overrides": {"lte": {"latency_median_ms": 3}}})
    with pytest.raises(IctConfigError, match="ict.overrides.lte"):
        resolve(cfg)


def test_every_technology_has_a_preset_and_shares_tolerance():
    assert set(PRESETS) == set(TECHNOLOGY_NAMES)
    parse_config({"technologies": {"fiber": 0.1, "dsl": 0.2, "lte": 0.7 + 5e-10}})
    ideal = PRESETS["ideal"]
    assert ideal.latency_median_ms == 0 and ideal.mean_loss == 0 and ideal.bandwidth_kbps is None


def test_partial_override_survives_the_json_round_trip_to_the_simulator():
    """The ICT section reaches the simulator as ``model_dump(mode="json")``, in which the override's
    unset fields are explicit nulls; they keep the preset, the one field given replaces it."""
    cfg = parse_config({"technologies": {"nb_plc": 1.0}, "overrides": {"nb_plc": {"bandwidth_kbps": 4.0}}})
    again = parse_config(cfg.model_dump(mode="json"))
    for c in (cfg, again):
        got = resolve(c)["nb_plc"]
        assert got.bandwidth_kbps == 4.0
        assert got.model_dump(exclude={"bandwidth_kbps"}) == PRESETS["nb_plc"].model_dump(exclude={"bandwidth_kbps"})
    # an explicit null is a value where the preset field allows one (no bandwidth limit)
    # and survives the dump; unset fields stay the preset's
    cfg = parse_config({"technologies": {"nb_plc": 1.0}, "overrides": {"nb_plc": {"bandwidth_kbps": None}}})
    for c in (cfg, parse_config(cfg.model_dump(mode="json"))):
        got = resolve(c)["nb_plc"]
        assert PRESETS["nb_plc"].bandwidth_kbps is not None and got.bandwidth_kbps is None
        assert got.mtbf_h == PRESETS["nb_plc"].mtbf_h and got.latency_median_ms == PRESETS["nb_plc"].latency_median_ms
