"""Shared fixtures: SimBench nets are slow to build, so share them per session."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings

import pytest

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)


@pytest.fixture(scope="session", autouse=True)
def _private_grid_cache():
    """The parsed-grid cache of this test session: never the user's (``~/.cache/cosim``).

    Set in ``os.environ`` so that ``cosim run`` subprocesses share it.
    """
    old = os.environ.get("COSIM_CACHE_DIR")
    path = tempfile.mkdtemp(prefix="cosim-test-cache-")
    os.environ["COSIM_CACHE_DIR"] = path
    yield path
    if old is None:
        os.environ.pop("COSIM_CACHE_DIR", None)
    else:
        os.environ["COSIM_CACHE_DIR"] = old
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def lv_rural_net():
    from simulators.common.netdata import load_net

    return load_net({"simbench": "1-LV-rural1--0-sw"})

try:  # property tests: reproducible examples in CI, fresh exploration locally
    import os

    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        settings.load_profile("ci")
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    pass


@pytest.fixture
def user_code(tmp_path, monkeypatch):
    """``tests/plugins/usermech.py`` copied outside the repository and importable as ``usermech``,
    as a module of a user's own project would be."""
    import shutil
    import sys
    from pathlib import Path

    folder = tmp_path / "user_project"
    folder.mkdir()
    shutil.copy(Path(__file__).parent / "plugins" / "usermech.py", folder / "usermech.py")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "usermech", raising=False)
    yield folder
    sys.modules.pop("usermech", None)


#: Test modules that run scenarios, sweeps, notebooks or a CLI subprocess per case (seconds to
#: minutes each on 2 cores): every test in them is marked ``slow``. ``make test-fast`` runs
#: ``-m "not slow"``; single slow tests elsewhere carry ``@pytest.mark.slow`` themselves.
SLOW_MODULES = frozenset({
    "analysis/test_analysis_ci_workflow.py", "analysis/test_analysis_notebooks.py",
    "analysis/test_analysis_screenshot.py", "analysis/test_analysis_shipped_scenario.py",
    "bad_inputs/test_bad_inputs.py", "bad_inputs/test_cli_corpus.py", "bad_inputs/test_grid_json.py",
    "bad_inputs/test_sweep_cases.py",
    "coordinator/test_schemes_recorded.py",
    "cosim/test_auth_secret.py", "cosim/test_conservation.py", "cosim/test_dso_grid_state.py",
    "cosim/test_cli_hygiene.py", "cosim/test_cpp_response.py", "cosim/test_dlc_rebound.py",
    "cosim/test_dso_models.py", "cosim/test_hems_fallback.py", "cosim/test_ledger_binding.py",
    "cosim/test_market_lv_congested.py", "cosim/test_mosaik_warnings.py", "cosim/test_packaging.py",
    "cosim/test_step_count.py",
    "analysis/test_analysis_compare.py",
    "cosim/test_integration.py", "cosim/test_interrupt.py", "cosim/test_one_tariff.py",
    "cosim/test_outputs.py", "cosim/test_recorder.py", "cosim/test_regression_baselines.py",
    "grid/test_grid_vs_pandapower.py",
    "market/test_flex_integration.py",
    "sweep/test_child.py", "sweep/test_faults.py", "sweep/test_reproducible.py", "sweep/test_sweep_faults.py",
})


def pytest_collection_modifyitems(config, items):
    from pathlib import Path

    here = Path(__file__).parent
    for item in items:
        try:
            rel = Path(item.fspath).relative_to(here).as_posix()
        except ValueError:
            continue
        if rel in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
