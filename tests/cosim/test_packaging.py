"""The wheel installs only ``cosim`` and runs from a folder with its own ``analysis/``.

Builds the wheel with ``pip wheel``, installs it into a temporary venv whose
dependencies come from the running environment (a ``.pth`` line, so nothing is
downloaded but the build backend), and runs it from a directory holding decoy
``analysis/`` and ``simulators/`` packages that raise when imported: any
top-level import left in the installed code fails the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: the installed copy must not see this checkout (the test run's own PYTHONPATH)
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp / "dist")],
                           capture_output=True, text=True)
    if build.returncode != 0:
        pytest.skip(f"cannot build the wheel here (build backend unavailable?): {build.stderr[-300:]}")
    wheel = next((tmp / "dist").glob("*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    vpy = venv / "bin" / "python"
    purelib = subprocess.run([str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, env=CLEAN_ENV).stdout.strip()
    # the dependencies of the running environment, but not its copy of cosim
    Path(purelib, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(vpy), "install", "--no-deps", "--force-reinstall",
                    "-q", str(wheel)], check=True, capture_output=True, env=CLEAN_ENV)
    work = tmp / "user"
    for name in ("analysis", "simulators"):
        (work / name).mkdir(parents=True)
        (work / name / "__init__.py").write_text(f"raise ImportError('decoy {name} imported')\n")
    return {"wheel": wheel, "venv": venv, "python": vpy, "work": work}


def test_wheel_has_only_cosim_at_top_level_and_ships_scenarios(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"cosim"}
    for needed in ("cosim/scenarios/market_lv_rural.yaml", "cosim/scenarios/default.yaml",
                   "cosim/baselines/default.json", "cosim/analysis/io.py", "cosim/simulators/grid/mosaik.py"):
        assert needed in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_every_installed_module_imports_beside_a_users_analysis_folder(installed):
    code = ("import importlib, pkgutil, cosim, sys\n"
            "bad = []\n"
            "for m in pkgutil.walk_packages(cosim.__path__, 'cosim.'):\n"
            "    if m.name.endswith('__main__'): continue\n"
            "    try: importlib.import_module(m.name)\n"
            "    except ImportError as e: bad.append(f'{m.name}: {e}')\n"
            "assert 'analysis' not in sys.modules and 'simulators' not in sys.modules, sorted(sys.modules)[:5]\n"
            "print('\\n'.join(bad))\n")
    out = subprocess.run([str(installed["python"]), "-c", code], cwd=installed["work"], capture_output=True, text=True,
                         env=CLEAN_ENV)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == ""


def test_shipped_scenario_runs_by_name_and_reads_back(installed):
    cli = installed["venv"] / "bin" / "cosim"
    version = subprocess.run([str(cli), "--version"], capture_output=True, text=True, cwd=installed["work"], env=CLEAN_ENV)
    assert version.returncode == 0 and version.stdout.startswith("cosim ")
    run = subprocess.run([str(cli), "run", "default", "--set", "duration=30min", "-o", "r.h5", "-q"],
                         capture_output=True, text=True, cwd=installed["work"], env=CLEAN_ENV)
    assert run.returncode == 0, run.stderr[-2000:]
    read = subprocess.run([str(installed["python"]), "-c",
                           "import cosim.analysis as a; r = a.load('r.h5'); print(r.n_steps, a.__file__)"],
                          capture_output=True, text=True, cwd=installed["work"], env=CLEAN_ENV)
    assert read.returncode == 0, read.stderr[-2000:]
    steps, origin = read.stdout.split()
    assert steps == "2"  # 30 min at the default 15-min step (scenarios/default.yaml)
    assert str(installed["venv"]) in origin
