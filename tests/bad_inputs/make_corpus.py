"""Regenerate the bad-input corpus in this folder: ``python tests/bad_inputs/make_corpus.py``.

The files are committed; this script documents how the binary and
non-UTF-8 ones were made and keeps the corpus reproducible. Scenario files
are ``s_*``, sweep files ``sw_*``; each must make ``cosim run`` /
``cosim sweep`` exit 2 with one ``error:`` line per problem.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
OK = 'grid: {simbench: 1-LV-rural1--0-sw}\nduration: 2h\n'
BASE = "base: ../../scenarios/default.yaml\n"

TEXT: dict[str, str] = {
    # --- files that are not a scenario at all
    "s_empty.yaml": "",
    "s_only_comment.yaml": "# a scenario with nothing in it\n",
    "s_top_level_list.yaml": "- grid\n- households\n",
    "s_top_level_scalar.yaml": "42\n",
    # --- YAML syntax
    "s_yaml_bad_indent.yaml": "grid:\n  simbench: 1-LV-rural1--0-sw\n   duration: 2h\n",
    "s_yaml_unclosed_flow.yaml": "grid: {simbench: 1-LV-rural1--0-sw\nduration: 2h\n",
    "s_yaml_tab_indent.yaml": "grid:\n\tsimbench: 1-LV-rural1--0-sw\n",
    "s_yaml_unclosed_quote.yaml": 'name: "open\ngrid: {simbench: 1-LV-rural1--0-sw}\n',
    "s_yaml_undefined_alias.yaml": "grid: *nowhere\n",
    # --- tags that try to construct Python objects
    "s_python_object_apply.yaml": OK + 'name: !!python/object/apply:os.system ["echo owned"]\n',
    "s_python_name.yaml": OK + "seed: !!python/name:os.system\n",
    "s_python_object_new.yaml": "!!python/object/new:subprocess.Popen [[echo, owned]]\n",
    # --- unknown keys, top level and nested
    "s_unknown_top_key.yaml": OK + "gird: {simbench: 1-LV-rural1--0-sw}\n",
    "s_missing_grid.yaml": "name: no-grid\nduration: 2h\n",
    "s_households_unknown_key.yaml": OK + "households: {pv: {share: 0.5, colour: red}}\n",
    "s_households_unknown_section.yaml": OK + "households: {fridge: {share: 1.0}}\n",
    "s_market_unknown_key.yaml": OK + "market: {mechanism: pay_as_clear, fee_eur: 3}\n",
    "s_market_tariff_unknown_key.yaml": OK + "market: {tariff: {retail_ct_per_kwh: 30}}\n",
    "s_ict_unknown_key.yaml": OK + "ict: {wormhole: true}\n",
    "s_ict_per_message_burst.yaml": OK + "ict: {technologies: {nb_plc: 1.0}, overrides: {nb_plc: {p_bg: 0.1}}}\n",
    "s_weather_file_missing.yaml": OK + "households: {weather: {file: no/such/site.epw, format: epw}}\n",
    "s_weather_format_unknown.yaml": OK + "households: {weather: {file: x.csv, format: trj}}\n",
    "s_coordinator_unknown_key.yaml": OK + "coordinator: {scheme: local, magic: 1}\n",
    "s_coordinator_dso_unknown_key.yaml": OK + "coordinator: {dso: {vm_max: 1.1}}\n",
    "s_output_unknown_sim.yaml": OK + "output: {series: {weather: all}}\n",
    # --- wrong types
    "s_seed_string.yaml": OK + "seed: forty-two\n",
    "s_grid_is_string.yaml": "grid: 1-LV-rural1--0-sw\n",
    "s_grid_both_sources.yaml": "grid: {simbench: 1-LV-rural1--0-sw, pandapower_json: net.json}\n",
    "s_unknown_simbench_code.yaml": "grid: {simbench: 9-XX-nowhere--0-sw}\n",
    "s_households_is_string.yaml": OK + "households: lots\n",
    "s_pv_share_is_list.yaml": OK + "households: {pv: {share: [0.5]}}\n",
    "s_market_mechanism_unknown.yaml": OK + "market: {mechanism: barter}\n",
    "s_households_policy_unknown.yaml": OK + "households: {policy: magic}\n",
    # --- user code named in a scenario (module:function), and extra simulators
    "s_market_mechanism_no_module.yaml": OK + "market: {mechanism: 'no_such_pkg_xyz.clearing:clear'}\n",
    "s_market_mechanism_bad_signature.yaml": OK + "market: {mechanism: 'math:sqrt'}\n",
    "s_households_policy_not_callable.yaml": OK + "households: {policy: 'math:pi'}\n",
    "s_tso_source_unknown.yaml": OK + "coordinator: {tso: {source: nrv}}\n",
    "s_simulators_two_starters.yaml": OK + ("simulators: [{name: x, cmd: 'run %(addr)s', connect: "
                                            "'localhost:5678', models: [{model: A}]}]\n"),
    "s_simulators_not_a_simulator.yaml": OK + "simulators: [{name: x, python: 'json:JSONEncoder', models: [{model: A}]}]\n",
    "s_simulators_peer_missing.yaml": OK + ("simulators: [{name: x, connect: 'localhost:5678', models: [{model: A}], "
                                            "connections: [{from: market.price_eur_per_mwh, to: price}]}]\n"),
    "s_start_garbage.yaml": OK + "start: yesterday\n",
    # --- out-of-range values
    "s_seed_negative.yaml": OK + "seed: -1\n",
    "s_pv_share_above_one.yaml": OK + "households: {pv: {share: 1.5}}\n",
    "s_pv_share_nan.yaml": OK + "households: {pv: {share: .nan}}\n",
    "s_battery_soc_order.yaml": OK + "households: {battery: {soc_min_frac: 0.9, soc_init_frac: 0.5}}\n",
    "s_market_voltage_band.yaml": OK + "market: {voltage_band_pu: [1.2, 0.8]}\n",
    "s_output_chunk_zero.yaml": OK + "output: {chunk_steps: 0}\n",
    "s_step_not_divisor.yaml": OK + "step: 7min\n",
    "s_duration_negative.yaml": "grid: {simbench: 1-LV-rural1--0-sw}\nduration: -1d\n",
    "s_duration_unknown_unit.yaml": "grid: {simbench: 1-LV-rural1--0-sw}\nduration: 2 fortnights\n",
    "s_start_outside_year.yaml": OK + "start: 2019-01-01T00:00:00\n",
    "s_start_off_boundary.yaml": OK + "start: 2016-06-01T00:07:00\n",
    "s_runs_past_year_end.yaml": "grid: {simbench: 1-LV-rural1--0-sw}\nstart: 2016-12-31T00:00:00\nduration: 7d\n",
    "s_several_problems.yaml": "grid: {simbench: 1-LV-rural1--0-sw}\nseed: -3\nstep: 7min\nhouseholds: {pv: {share: 2}}\n",
    # --- huge numbers
    "s_seed_1e30.yaml": OK + "seed: 1000000000000000000000000000000\n",
    "s_seed_1e400.yaml": OK + "seed: 1.0e+400\n",
    "s_duration_million_years.yaml": "grid: {simbench: 1-LV-rural1--0-sw}\nduration: 365000000d\n",
    "s_duration_1e400.yaml": "grid: {simbench: 1-LV-rural1--0-sw}\nduration: 1.0e+400\n",
    "s_chunk_steps_huge.yaml": OK + "output: {chunk_steps: 99999999999999999999999}\n",
    # --- extends
    "s_extends_cycle_a.yaml": "extends: s_extends_cycle_b.yaml\n" + OK,
    "s_extends_cycle_b.yaml": "extends: s_extends_cycle_a.yaml\n",
    "s_extends_self.yaml": "extends: s_extends_self.yaml\n" + OK,
    "s_extends_missing.yaml": "extends: does_not_exist.yaml\n" + OK,
    "s_extends_not_string.yaml": "extends: [a.yaml, b.yaml]\n" + OK,
    "s_extends_directory.yaml": "extends: .\n" + OK,
    # --- NaN / infinity in numeric fields of every section (one schema-wide setting)
    "s_pv_kwp_nan.yaml": OK + "households: {pv: {share: 0.5, kwp: {dist: fixed, value: .nan}}}\n",
    "s_pv_kwp_inf.yaml": OK + "households: {pv: {share: 0.5, kwp: {dist: fixed, value: .inf}}}\n",
    "s_tariff_retail_inf.yaml": OK + "market: {tariff: {retail_eur_per_mwh: .inf}}\n",
    "s_dlmp_import_price_nan.yaml": OK + "market: {mechanism: dlmp, dlmp_import_price_eur_per_mwh: .nan}\n",
    "s_ict_share_nan.yaml": OK + "ict: {technologies: {lte: .nan}}\n",
    "s_ict_forged_price_inf.yaml": OK + "ict: {forged: [{at_s: 60, count: 1, price_eur_per_mwh: -.inf}]}\n",
    "s_coordinator_band_nan.yaml": OK + "coordinator: {shared_balancing: {pcc_band_mw: .nan}}\n",
    # --- keys written twice (plain YAML silently keeps the last)
    "s_duplicate_top_key.yaml": OK + "seed: 1\nseed: 2\n",
    "s_duplicate_nested_key.yaml": OK + "households: {pv: {share: 0.2, share: 0.9}}\n",
    # --- authentication key file
    "s_auth_key_file_missing.yaml": OK + "auth_key_file: does_not_exist.key\n",
    # --- structure bombs
    "s_deep_nesting_flow.yaml": OK + "description: " + "[" * 20000 + "]" * 20000 + "\n",
    "s_deep_nesting_mapping.yaml": OK + "description: " + "{a: " * 300 + "1" + "}" * 300 + "\n",
    "s_alias_bomb.yaml": OK + "".join(
        f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 10) + "]\n" if i else "x0: &x0 [lol, lol, lol]\n"
        for i in range(9)
    ) + "description: *x8\n",
    # --- sweep files
    "sw_empty.yaml": "",
    "sw_missing_base.yaml": "grid: {seed: [1, 2]}\n",
    "sw_base_not_found.yaml": "base: nowhere.yaml\ngrid: {seed: [1, 2]}\n",
    "sw_unknown_key.yaml": BASE + "grids: {seed: [1, 2]}\n",
    "sw_grid_not_list.yaml": BASE + "grid: {seed: 3}\n",
    "sw_grid_empty_list.yaml": BASE + "grid: {seed: []}\n",
    "sw_bad_override_value.yaml": BASE + "grid: {households.pv.share: [0.5, 2.0]}\n",
    "sw_unknown_override_key.yaml": BASE + "variants: [{gird.simbench: 1-LV-rural1--0-sw}]\n",
    "sw_bad_dotted_key.yaml": BASE + "grid: {'households..pv': [1]}\n",
    "sw_timeout_negative.yaml": BASE + "grid: {seed: [1]}\ntimeout_s: -5\n",
    "sw_sample_bad_range.yaml": BASE + "sample: {n: 3, seed: 1, ranges: {households.pv.share: {low: 0.9, high: 0.1}}}\n",
    "sw_seeds_huge.yaml": BASE + "seeds: [1000000000000000000000000000000]\n",
    "sw_key_in_two_factors.yaml": BASE + "grid: {seed: [1, 2]}\nseeds: [3]\n",
    "sw_too_many_variants.yaml": BASE + "grid:\n  seed: [" + ", ".join(map(str, range(400))) + "]\n"
    "  households.pv.share: [" + ", ".join(str(i / 400) for i in range(400)) + "]\n",
    "sw_python_tag.yaml": BASE + "grid: !!python/object/apply:os.system [echo owned]\n",
    "sw_variants_not_list.yaml": BASE + "variants: {seed: 1}\n",
    "sw_base_cycle.yaml": "base: s_extends_cycle_a.yaml\nseeds: [1]\n",
    "sw_top_level_list.yaml": "- base\n- grid\n",
    # a variant valid on its own but impossible on the grid: batteries only in PV homes,
    # more battery homes than PV homes (found with the net, before anything runs)
    "sw_battery_needs_pv.yaml": BASE + "variants: [{households.pv.share: 0.2, households.battery.share: 0.6, "
    "households.battery.requires_pv: true}]\n",
}


def main() -> None:
    for name, text in TEXT.items():
        (HERE / name).write_text(text, encoding="utf-8")
    rng = np.random.default_rng(20160601)
    (HERE / "s_binary_garbage.yaml").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (HERE / "sw_binary_garbage.yaml").write_bytes(rng.integers(0, 256, 512, dtype=np.uint8).tobytes())
    (HERE / "s_utf16.yaml").write_bytes(("\ufeff" + OK + "name: Szenario München\n").encode("utf-16-le"))
    (HERE / "s_latin1.yaml").write_bytes((OK + "name: Szenario München\n").encode("latin-1"))
    (HERE / "s_nul_bytes.yaml").write_bytes((OK + "name: a\x00b\n").encode())


if __name__ == "__main__":
    main()
