"""Start-up costs: the parsed-grid cache (cold vs warm) and whole-process start times.

Each figure is one fresh child process (the fastest of ``--repeat``), so the
per-process caches and the OS's warm import files are what a sweep variant
or a user at a terminal sees:

- ``grid_load``: ``load_net`` of each grid in a child, with an empty cache
  directory (cold: SimBench CSV parse + write of the entry), again with the
  same directory (warm), and with the cache off (parse only); pandapower is
  imported before the clock starts, so the figure is the load alone; wall
  and CPU seconds of the process (CPU time is what a shared, loaded machine
  does not inflate);
- ``process``: wall and CPU time (``getrusage`` of the children) of ``python -m cosim --help``, ``cosim grids``
  (warm code list) and the default ``cosim run`` (warm cache) as whole
  processes, against a bare ``import pandapower, mosaik, h5py, numpy,
  pandas`` (the issue's reference for target (c)).

Usage::

    python benchmarks/bench_startup.py [--grids CODE ...] [--repeat 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

GRIDS = ("1-LV-rural1--0-sw", "1-MV-rural--0-sw", "1-MVLV-semiurb-all-0-sw")
BARE_IMPORTS = "import pandapower, mosaik, h5py, numpy, pandas"

_LOAD = """
import json, sys, time, warnings
warnings.simplefilter("ignore")
import pandapower  # imported before the clock: the figure is the load alone
from simulators.common.netdata import load_net
t0, c0 = time.perf_counter(), time.process_time()
net = load_net({"simbench": sys.argv[1]})
print(json.dumps({"load_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "n_bus": len(net.bus)}))
"""


def _env(cache: str | None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
    env["COSIM_CACHE_DIR"] = cache if cache is not None else "off"
    return env


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _timed(cmd: list[str], env: dict, cpu: list | None = None) -> tuple[float, str]:
    """Wall seconds and stdout of ``cmd``; its CPU seconds appended to ``cpu``."""
    t0, c0 = time.perf_counter(), _children_cpu_s()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if cpu is not None:
        cpu.append(_children_cpu_s() - c0)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-500:]}")
    return wall, proc.stdout


def grid_load(code: str, repeat: int) -> dict:
    """Cold, warm and uncached ``load_net`` seconds of ``code`` (fastest of ``repeat``)."""
    out = {k: float("inf") for k in ("cold_s", "warm_s", "cold_cpu_s", "warm_cpu_s")}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as cache:
            for key, c in (("cold", cache), ("warm", cache)):
                _, text = _timed([sys.executable, "-c", _LOAD, code], _env(c))
                rec = json.loads(text)
                out[f"{key}_s"] = min(out[f"{key}_s"], rec["load_s"])
                out[f"{key}_cpu_s"] = min(out[f"{key}_cpu_s"], rec["cpu_s"])
    _, text = _timed([sys.executable, "-c", _LOAD, code], _env(None))
    rec = json.loads(text)
    out["off_s"], out["off_cpu_s"] = rec["load_s"], rec["cpu_s"]
    out["cold_over_warm"] = out["cold_s"] / out["warm_s"]
    out["off_over_warm"] = out["off_s"] / out["warm_s"]
    return out


def process_times(repeat: int) -> dict:
    """Whole-process wall seconds (fastest of ``repeat``) with a warm cache."""
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(str(Path(tmp) / "cache"))
        out_h5 = str(Path(tmp) / "default.h5")
        cmds = {
            "bare_imports": [sys.executable, "-c", BARE_IMPORTS],
            "help": [sys.executable, "-m", "cosim", "--help"],
            "grids": [sys.executable, "-m", "cosim", "grids"],
            # --force: every repeat writes the same path (without it the second run is refused)
            "run_default": [sys.executable, "-m", "cosim", "run", "-q", "--force", "-o", out_h5],
        }
        _timed(cmds["run_default"], env)  # fills the cache (grid, code list)
        res, cpu = {}, {}
        for k, c in cmds.items():
            cpu[k] = []
            res[k] = min(_timed(c, env, cpu[k])[0] for _ in range(repeat))
        cpu["run_default_cache_off"] = []
        res["run_default_cache_off"] = min(_timed(cmds["run_default"], _env(None), cpu["run_default_cache_off"])[0]
                                           for _ in range(repeat))
    keys = ("help", "grids", "run_default", "run_default_cache_off")
    res.update({f"{k}_cpu_s": min(v) for k, v in cpu.items()})
    res.update({f"{k}_over_bare": res[k] / res["bare_imports"] for k in keys})
    res.update({f"{k}_cpu_over_bare": res[f"{k}_cpu_s"] / res["bare_imports_cpu_s"] for k in keys})
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--grids", nargs="*", default=list(GRIDS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    rec: dict = {"grid_load": {}, "load_avg_1min_before": os.getloadavg()[0]}
    for code in args.grids:
        g = rec["grid_load"][code] = grid_load(code, args.repeat)
        print(f"{code:28s} cold {g['cold_s']:6.2f} s  warm {g['warm_s']:5.2f} s  cache off {g['off_s']:6.2f} s  "
              f"(cold/warm {g['cold_over_warm']:.1f}x); CPU cold {g['cold_cpu_s']:.2f} s, warm "
              f"{g['warm_cpu_s']:.2f} s, off {g['off_cpu_s']:.2f} s", flush=True)
    p = rec["process"] = process_times(args.repeat)
    print(f"bare imports {p['bare_imports']:.2f} s; --help {p['help']:.2f} s; grids {p['grids']:.2f} s; "
          f"default run {p['run_default']:.2f} s ({p['run_default_over_bare']:.2f}x bare), "
          f"cache off {p['run_default_cache_off']:.2f} s ({p['run_default_cache_off_over_bare']:.2f}x); CPU: "
          f"bare {p['bare_imports_cpu_s']:.2f} s, default run {p['run_default_cpu_s']:.2f} s "
          f"({p['run_default_cpu_over_bare']:.2f}x), cache off {p['run_default_cache_off_cpu_s']:.2f} s "
          f"({p['run_default_cache_off_cpu_over_bare']:.2f}x)")
    rec["load_avg_1min_after"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(rec, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
