"""Digests of ``/series`` and ``/events`` for every shipped scenario.

Refactors must keep results bit-identical. This script runs scenarios and
hashes the raw bytes (plus dtype and shape) of every dataset under
``/series`` and ``/events``, so two code versions can be compared::

    python benchmarks/digests.py write before.json          # on the old code
    python benchmarks/digests.py compare before.json        # on the new code
    python benchmarks/digests.py write d.json -s default -s lv_rural_der

``compare`` re-runs the scenarios listed in the file and prints every dataset
whose digest differs (exit 1), or ``identical`` (exit 0). Options ``--set``
pass overrides to every scenario (e.g. a shorter duration for quick checks;
the same overrides must be used for both sides).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def shipped() -> list[str]:
    """Names of every runnable shipped scenario (``scenarios/*.yaml``)."""
    return sorted(p.stem for p in SCENARIOS.glob("*.yaml"))


def file_digests(path: Path) -> dict[str, str]:
    """sha256 of every dataset under /series and /events, keyed by HDF5 path."""
    out: dict[str, str] = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                data = obj[()]
                h = hashlib.sha256()
                h.update(str(obj.dtype).encode())
                h.update(str(obj.shape).encode())
                h.update(np.ascontiguousarray(data).tobytes() if obj.shape != () else repr(data).encode())
                out[name] = h.hexdigest()

        for group in ("series", "events"):
            if group in f:
                f[group].visititems(lambda n, o, g=group: visit(f"{g}/{n}", o))
        if "time" in f:
            visit("time", f["time"])
    return out


def run_one(name: str, sets: list[str], workdir: Path) -> dict[str, str]:
    out = workdir / f"{name}.h5"
    cmd = [sys.executable, "-m", "cosim.cli", "run", str(SCENARIOS / f"{name}.yaml"),
           "-o", str(out), "--quiet"]
    for s in sets:
        cmd += ["--set", s]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{name}: cosim run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return file_digests(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["write", "compare"])
    ap.add_argument("file", type=Path)
    ap.add_argument("-s", "--scenario", action="append", help="scenario name (default: all shipped)")
    ap.add_argument("--set", action="append", default=[], help="override passed to every run")
    args = ap.parse_args(argv)

    if args.action == "write":
        names = args.scenario or shipped()
        sets = args.set
    else:
        saved = json.loads(args.file.read_text())
        names = args.scenario or sorted(saved["digests"])
        sets = saved.get("sets", [])
    result: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            result[name] = run_one(name, sets, Path(tmp))
    if args.action == "write":
        args.file.write_text(json.dumps({"sets": sets, "digests": result}, indent=1, sort_keys=True))
        print(f"wrote {len(result)} scenarios to {args.file}")
        return 0
    diffs = []
    for name in names:
        old, new = saved["digests"].get(name, {}), result[name]
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                diffs.append(f"{name}: {key}: {'missing' if key not in new else 'new' if key not in old else 'differs'}")
    if diffs:
        print("\n".join(diffs))
        return 1
    print(f"identical ({len(names)} scenarios)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
