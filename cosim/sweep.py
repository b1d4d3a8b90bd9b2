"""Parameter sweeps on Dask: ``cosim sweep SWEEP.yaml``.

A sweep file names a base scenario and the overrides of each variant, with the
dotted paths of ``cosim run --set``::

    base: ../default.yaml            # relative to the sweep file
    grid:                            # cartesian product
      households.pv.share: [0.0, 0.5, 1.0]
      market.mechanism: [tariff, pay_as_clear]
    variants:                        # explicit list, crossed with the grid
      - {households.policy: market}
    sample: {n: 10, seed: 1, ranges: {households.pv.kwp.value: {low: 4, high: 15}}}
    seeds: [1, 2]                    # crossed with everything else
    timeout_s: 600                   # per variant
    output_dir: out/sweeps/example   # relative to the working directory

The design is the cartesian product of its factors (grid points, sampled
points, explicit variants, seeds); a factor that is absent contributes one
empty override set, so a file with only ``variants`` runs exactly that list.
A key may appear in only one factor.

Every variant is validated with :func:`cosim.config.load_scenario` (exactly
as ``--set``) before anything runs. Each variant then runs as its own child
process (``cosim run BASE --set ... -o ID.h5``) launched by a Dask task, so a
timeout can kill it; the task runs on a :class:`dask.distributed.LocalCluster`
(``--workers N`` processes) or on the scheduler given by ``--scheduler`` (the
workers must see the same file system and Python environment). A variant's id
is the first 16 hex digits of the SHA-256 of the canonical JSON of its
effective scenario, so the same scenario always maps to the same file and
``--resume`` can skip it.

``sweep_index.parquet`` (and ``sweep_index.csv``) in the output directory hold
one row per variant; both are rewritten atomically after every finished
variant. Status values: ``complete``, ``failed``, ``timeout``, ``skipped``
(``--resume`` found a complete result; KPIs are read from it) and
``pending`` (not finished when the sweep stopped).
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import itertools
import json
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import ScenarioError

# cosim.config (and the simulator schemas it imports, ~1.5 s) is imported
# inside the planning functions only: a Dask worker unpickling run_variant
# then starts a variant sooner.

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
INDEX_NAME = "sweep_index"
#: Largest number of variants one sweep file may expand to.
MAX_VARIANTS = 100_000
#: Seconds a timed-out child gets to close its file after SIGTERM before SIGKILL.
KILL_GRACE_S = 10.0
KPI_COLUMNS = ("vm_min_pu", "vm_max_pu", "line_loading_max_percent", "trafo_loading_max_percent",
               "energy_imported_mwh", "energy_exported_mwh", "pf_not_converged_steps")
INDEX_COLUMNS = ("variant_id", "overrides", "seed", "status", "wall_time_s", "output_path",
                 "error", "data_sha256", *KPI_COLUMNS)
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


# ------------------------------------------------------------------ schema
class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"{key!r} is not a dotted scenario path like 'households.pv.share'")
    return key


class SampleRange(_Frozen):
    """A uniform range ``[low, high]`` for one sampled parameter."""

    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self):
        if self.high < self.low:
            raise ValueError(f"high={self.high} < low={self.low}; need low <= high")
        return self


class SampleConfig(_Frozen):
    """``n`` points drawn uniformly from ``ranges`` with ``numpy.random.default_rng(seed)``."""

    n: int = Field(ge=1, le=MAX_VARIANTS)
    seed: int = Field(0, ge=0, le=2**63 - 1)
    ranges: dict[str, SampleRange] = Field(min_length=1)

    @field_validator("ranges")
    @classmethod
    def _keys(cls, v):
        for k in v:
            _check_key(k)
        return v


class SweepConfig(_Frozen):
    """A sweep file (see the module docstring)."""

    base: str = Field(min_length=1, description="base scenario, relative to the sweep file")
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    variants: list[dict[str, Any]] = Field(default_factory=list)
    sample: SampleConfig | None = None
    seeds: list[int] | None = None
    timeout_s: float | None = Field(None, gt=0, le=30 * 86400, allow_inf_nan=False,
                                    description="per-variant wall-time limit [s]")
    output_dir: str | None = Field(None, min_length=1)

    @field_validator("grid")
    @classmethod
    def _grid(cls, v):
        for k, values in v.items():
            _check_key(k)
            if not values:
                raise ValueError(f"{k}: the list of values is empty")
        return v

    @field_validator("variants")
    @classmethod
    def _variants(cls, v):
        for i, d in enumerate(v):
            if not d:
                raise ValueError(f"variant {i} is empty; give at least one dotted.key: value")
            for k in d:
                _check_key(k)
        return v

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v):
        if v is not None:
            if not v:
                raise ValueError("seeds is empty; omit it or give at least one seed")
            bad = [s for s in v if not 0 <= s <= 2**63 - 1]
            if bad:
                raise ValueError(f"seeds {bad} outside [0, 2**63-1]")
        return v

    @model_validator(mode="after")
    def _disjoint_and_small(self):
        factors = {"grid": set(self.grid), "variants": set().union(*map(set, self.variants)),
                   "sample": set(self.sample.ranges) if self.sample else set(),
                   "seeds": {"seed"} if self.seeds else set()}
        names = list(factors)
        for a, b in itertools.combinations(names, 2):
            both = factors[a] & factors[b]
            if both:
                raise ValueError(f"key(s) {sorted(both)} appear in both {a} and {b}; use one")
        n = 1
        for size in (np.prod([len(x) for x in self.grid.values()], dtype=float) if self.grid else 1,
                     len(self.variants) or 1, self.sample.n if self.sample else 1,
                     len(self.seeds) if self.seeds else 1):
            n *= float(size)
        if n > MAX_VARIANTS:
            raise ValueError(f"the sweep expands to {n:.0f} variants; at most {MAX_VARIANTS}")
        return self


# ------------------------------------------------------------------ planning
@dataclass(frozen=True)
class Variant:
    """One validated variant of a sweep."""

    variant_id: str
    overrides: dict
    sets: tuple[str, ...]
    seed: int
    yaml_text: str


def variant_id(yaml_text: str) -> str:
    """Stable id: SHA-256 of the canonical JSON of the effective scenario, 16 hex digits."""
    data = yaml.safe_load(yaml_text)
    canon = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def to_set_item(key: str, value: Any) -> str:
    """``key=value`` for :func:`cosim.config.apply_overrides`, with the value as flow YAML."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    text = yaml.safe_dump(value, default_flow_style=True, width=2**31 - 1, allow_unicode=True)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")].strip()
    if "\n" in text or yaml.safe_load(text) != value:
        raise ValueError(f"{key}: value {value!r} cannot be written as a one-line override")
    return f"{key}={text}"


def expand(sweep: SweepConfig) -> list[dict]:
    """The override dict of every variant (grid x sample x variants x seeds)."""
    factors: list[list[dict]] = []
    if sweep.grid:
        keys = list(sweep.grid)
        factors.append([dict(zip(keys, combo)) for combo in itertools.product(*sweep.grid.values())])
    if sweep.sample is not None:
        rng = np.random.default_rng(sweep.sample.seed)
        keys = sorted(sweep.sample.ranges)
        factors.append([{k: float(rng.uniform(sweep.sample.ranges[k].low, sweep.sample.ranges[k].high))
                         for k in keys} for _ in range(sweep.sample.n)])
    if sweep.variants:
        factors.append([dict(v) for v in sweep.variants])
    if sweep.seeds:
        factors.append([{"seed": s} for s in sweep.seeds])
    out = []
    for combo in itertools.product(*factors):
        merged: dict = {}
        for d in combo:
            merged.update(d)
        out.append(merged)
    return out


@dataclass(frozen=True)
class Plan:
    """A validated sweep: its variants, where they run from and where results go."""

    sweep_path: Path
    base_path: Path
    sweep: SweepConfig
    variants: list[Variant]
    output_dir: Path


def load_sweep(path: str | Path) -> SweepConfig:
    """Read and validate a sweep file; :class:`ScenarioError` lists every problem."""
    from .config import _read_yaml, format_validation_error

    data = _read_yaml(Path(path))
    try:
        return SweepConfig.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(format_validation_error(exc, SweepConfig)) from None
    except RecursionError:
        raise ScenarioError([f"{path}: nesting is too deep"]) from None


def plan_sweep(path: str | Path, output_dir: str | Path | None = None) -> Plan:
    """Validate a sweep file and every variant it expands to (nothing runs)."""
    from .config import load_raw, load_scenario

    path = Path(path)
    sweep = load_sweep(path)
    base = Path(sweep.base)
    base = (path.parent / base if not base.is_absolute() else base).resolve()
    load_raw(base)  # a missing or broken base is reported once, not once per variant
    problems: list[str] = []
    variants: list[Variant] = []
    seen: set[str] = set()
    for i, overrides in enumerate(expand(sweep)):
        if len(problems) > 200:
            problems.append("... (more problems not shown)")
            break
        label = json.dumps(overrides, default=str)
        try:
            sets = tuple(to_set_item(k, v) for k, v in overrides.items())
            scenario, yaml_text = load_scenario(base, list(sets))
        except ValueError as exc:  # ScenarioError is a ValueError
            lines = exc.problems if isinstance(exc, ScenarioError) else [str(exc)]
            problems += [f"{line} (variant {i}: {label})" for line in lines]
            continue
        vid = variant_id(yaml_text)
        if vid in seen:
            log.warning("variant %d %s duplicates an earlier variant; it runs once", i, label)
            continue
        seen.add(vid)
        variants.append(Variant(vid, overrides, sets, scenario.seed, yaml_text))
    if problems:
        raise ScenarioError(problems)
    out = Path(output_dir or sweep.output_dir or Path("out") / "sweeps" / path.stem)
    return Plan(path, base, sweep, variants, out)


# ------------------------------------------------------------------ results
def result_status(path: str | Path) -> str | None:
    """The ``status`` root attribute of a result file, or None if unreadable."""
    import h5py

    try:
        with h5py.File(path, "r", locking=False) as f:
            s = f.attrs.get("status")
    except (OSError, KeyError):
        return None
    return s.decode() if isinstance(s, bytes) else (None if s is None else str(s))


def dataset_digest(path: str | Path, groups: tuple[str, ...] = ("time", "series", "events", "static")) -> str:
    """SHA-256 over name, dtype, shape and bytes of every dataset under ``groups``.

    Root attributes (wall time, package versions) are not part of it, so two
    runs of the same scenario and seed must give the same digest.
    """
    import h5py

    h = hashlib.sha256()
    with h5py.File(path, "r", locking=False) as f:
        names: list[str] = []
        for g in groups:
            if g not in f:
                continue
            if isinstance(f[g], h5py.Dataset):
                names.append(g)
            else:
                f[g].visititems(lambda n, o, g=g: names.append(f"{g}/{n}") if isinstance(o, h5py.Dataset) else None)
        for name in sorted(names):
            arr = f[name][()]
            h.update(name.encode() + b"\0" + str(arr.dtype).encode() + b"\0" + str(arr.shape).encode() + b"\0")
            h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def headline_kpis(path: str | Path) -> dict:
    """Headline KPIs of a result file (NaN when the series is absent).

    min/max ``vm_pu`` over all buses and steps [pu], max line and trafo
    loading [%], energy imported/exported at the external grid [MWh] (sum over
    ext_grids per step, positive = import, times the step length), steps
    without power-flow convergence.
    """
    import h5py

    out = {k: float("nan") for k in KPI_COLUMNS}
    with h5py.File(path, "r", locking=False) as f, np.errstate(all="ignore"):
        g = f.get("series/grid")
        if g is None or f["time"].shape[0] == 0:
            return out
        step_h = float(f.attrs["step_s"]) / 3600.0

        def _max(name):
            return float(np.nanmax(g[name][()])) if name in g and g[name].size else float("nan")

        if "vm_pu" in g and g["vm_pu"].size:
            vm = g["vm_pu"][()]
            out["vm_min_pu"], out["vm_max_pu"] = float(np.nanmin(vm)), float(np.nanmax(vm))
        out["line_loading_max_percent"] = _max("line_loading_percent")
        out["trafo_loading_max_percent"] = _max("trafo_loading_percent")
        if "ext_grid_p_mw" in g:
            p = g["ext_grid_p_mw"][()]
            p = np.nansum(p, axis=1) if p.ndim == 2 else p
            out["energy_imported_mwh"] = float(np.sum(np.clip(p, 0, None)) * step_h)
            out["energy_exported_mwh"] = float(np.sum(np.clip(-p, 0, None)) * step_h)
        if "pf_converged" in g:
            out["pf_not_converged_steps"] = float(np.sum(~g["pf_converged"][()]))
    return out


def write_index(rows: list[dict], output_dir: Path) -> Path:
    """Write ``sweep_index.parquet`` and ``.csv`` atomically (tmp file + ``os.replace``)."""
    import pandas as pd

    df = pd.DataFrame(rows, columns=list(INDEX_COLUMNS))
    target = output_dir / f"{INDEX_NAME}.parquet"
    for suffix, writer in ((".parquet", lambda p: df.to_parquet(p, index=False)),
                           (".csv", lambda p: df.to_csv(p, index=False))):
        final = output_dir / f"{INDEX_NAME}{suffix}"
        tmp = final.with_name(f".{final.name}.tmp")
        writer(tmp)
        os.replace(tmp, final)
    return target


def _row(v: Variant, out: Path, status: str, wall: float = float("nan"), error: str = "") -> dict:
    row = {"variant_id": v.variant_id, "overrides": json.dumps(v.overrides, sort_keys=True, default=str),
           "seed": v.seed, "status": status, "wall_time_s": wall, "output_path": str(out),
           "error": error, "data_sha256": ""}
    row.update({k: float("nan") for k in KPI_COLUMNS})
    if status in ("complete", "skipped"):
        row.update(headline_kpis(out))
        row["data_sha256"] = dataset_digest(out)
        if status == "skipped":
            import h5py

            with h5py.File(out, "r", locking=False) as f:
                row["wall_time_s"] = float(f.attrs.get("wall_time_s", float("nan")))
    return row


# ------------------------------------------------------------------ worker side
def run_variant(base: str, sets: list[str], out: str, timeout_s: float | None = None,
                cwd: str | None = None) -> dict:
    """Run one variant as a child process; runs inside a Dask task.

    The child is ``python -m cosim.sweep`` (a thin wrapper around ``cosim run``
    that dies with its parent). On timeout it gets SIGTERM (it then closes its
    partial file), and SIGKILL after :data:`KILL_GRACE_S`.

    Returns
    -------
    dict
        ``status`` (complete/failed/timeout), ``wall_time_s`` [s], ``error``.
    """
    cmd = [sys.executable, "-m", "cosim.sweep", str(os.getpid()), "run", base, "-o", out, "-q"]
    for s in sets:
        cmd += ["--set", s]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            cwd=cwd if cwd and os.path.isdir(cwd) else None)
    status = None
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        status = "timeout"
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    except BaseException:  # the task was cancelled: never leave the child behind
        proc.kill()
        proc.wait()
        raise
    wall = time.perf_counter() - t0
    if status == "timeout":
        return {"status": "timeout", "wall_time_s": wall, "error": f"timed out after {timeout_s:g} s"}
    if proc.returncode == 0:
        return {"status": "complete", "wall_time_s": wall, "error": ""}
    return {"status": "failed", "wall_time_s": wall, "error": _child_error(out, err, proc.returncode)}


def _child_error(out: str, stderr: str, rc: int) -> str:
    """The error of a failed child: the partial file's ``error`` attr, else stderr."""
    import h5py

    partial = out + ".partial"
    if os.path.exists(partial):
        try:
            with h5py.File(partial, "r", locking=False) as f:
                e = f.attrs.get("error", "")
            e = e.decode() if isinstance(e, bytes) else str(e)
            if e:
                return e
        except OSError:
            pass
    lines = [ln for ln in (stderr or "").splitlines() if ln.strip()]
    picked = [ln for ln in lines if ln.startswith(("error:", "run failed:", "interrupted:"))]
    text = " | ".join(picked or lines[-3:])
    return text or f"exit code {rc}"


_PR_SET_PDEATHSIG = 1


def _child_main(argv: list[str]) -> int:
    """Child entry point: die with the Dask worker, then behave as ``cosim ...``."""
    parent = int(argv[0])
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the timeout still kills the child
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        return EXIT_INTERRUPTED
    from .cli import main as cli_main

    return cli_main(argv[1:])


# ------------------------------------------------------------------ driver
class _Parser(argparse.ArgumentParser):
    def error(self, message):  # noqa: D401 - argparse API
        self.exit(EXIT_USAGE, f"error: {self.prog}: {message}\n")


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if not 1 <= n <= 1024:
        raise argparse.ArgumentTypeError(f"expected an integer in [1, 1024], got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="cosim sweep", description="Run a parameter sweep on Dask.")
    p.add_argument("sweep", help="sweep YAML file")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (default: a LocalCluster)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="LocalCluster worker processes (default: CPU count)")
    p.add_argument("--resume", action="store_true", help="skip variants whose complete result exists")
    p.add_argument("-o", "--output-dir", help="output directory (default: the sweep file's output_dir)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def _client(args):
    from dask.distributed import Client, LocalCluster

    for name in ("distributed", "dask"):  # the CLI owns the console: only errors
        logging.getLogger(name).setLevel(logging.ERROR)
    if args.scheduler:
        return Client(args.scheduler, timeout="30s"), None
    n = args.workers or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _initial_rows(plan: Plan, resume: bool) -> tuple[list[dict], list[int]]:
    rows, todo = [], []
    for i, v in enumerate(plan.variants):
        out = plan.output_dir / f"{v.variant_id}.h5"
        if resume and out.exists() and result_status(out) == "complete":
            rows.append(_row(v, out, "skipped"))
        else:
            rows.append(_row(v, out, "pending"))
            todo.append(i)
    return rows, todo


def main(argv: list[str] | None = None) -> int:
    """``cosim sweep``; returns 0 (all complete), 1 (some failed/timed out), 2 (bad input), 130."""
    args = build_parser().parse_args(argv)
    try:
        plan = plan_sweep(args.sweep, args.output_dir)
    except ScenarioError as exc:
        for line in exc.problems:
            sys.stderr.write(f"error: {line}\n")
        return EXIT_USAGE
    try:
        plan.output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        sys.stderr.write(f"error: output_dir {str(plan.output_dir)!r}: {exc.strerror}\n")
        return EXIT_USAGE
    rows, todo = _initial_rows(plan, args.resume)
    index = write_index(rows, plan.output_dir)
    stop = {"signal": None}

    def _stop(signum, _frame):
        stop["signal"] = signal.Signals(signum).name

    old = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        counts = _execute(plan, args, rows, todo, stop)
    except (OSError, TimeoutError) as exc:  # scheduler unreachable, cluster could not start
        where = f"--scheduler {args.scheduler}" if args.scheduler else "LocalCluster"
        sys.stderr.write(f"error: {where}: {type(exc).__name__}: {exc}\n")
        return EXIT_FAILED
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    print(f"{len(rows)} variants: " + ", ".join(f"{n} {k}" for k, n in counts.items() if n) + f" -> {index}")
    if stop["signal"]:
        sys.stderr.write(f"interrupted: stopped by {stop['signal']}; rerun with --resume to finish\n")
        return EXIT_INTERRUPTED
    return EXIT_FAILED if counts["failed"] or counts["timeout"] else EXIT_OK


def _execute(plan: Plan, args, rows: list[dict], todo: list[int], stop: dict) -> dict:
    """Submit the pending variants and record each as it finishes."""
    counts = {s: 0 for s in ("complete", "failed", "timeout", "skipped", "pending")}
    for r in rows:
        counts[r["status"]] += 1
    if not todo:
        return counts
    client, cluster = _client(args)
    bar = None
    if not args.quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="variant", file=sys.stderr, desc="sweep", dynamic_ncols=True)
    done_q: queue.Queue = queue.Queue()
    futures = {}
    try:
        for i in todo:
            v = plan.variants[i]
            fut = client.submit(run_variant, str(plan.base_path), list(v.sets),
                                str((plan.output_dir / f"{v.variant_id}.h5").resolve()),
                                plan.sweep.timeout_s, os.getcwd(), key=f"cosim-variant-{v.variant_id}",
                                pure=False)
            fut.add_done_callback(lambda f, i=i: done_q.put((i, f)))
            futures[i] = fut
        remaining = set(todo)
        while remaining and not stop["signal"]:
            try:
                i, fut = done_q.get(timeout=0.2)
            except queue.Empty:
                continue
            remaining.discard(i)
            rows[i] = _finished_row(plan.variants[i], rows[i], fut)
            counts["pending"] -= 1
            counts[rows[i]["status"]] += 1
            write_index(rows, plan.output_dir)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(failed=counts["failed"] + counts["timeout"], refresh=False)
    finally:
        if bar is not None:
            bar.close()
        for fut in futures.values():
            if not fut.done():
                fut.cancel()
        client.close(timeout=10)
        if cluster is not None:
            cluster.close(timeout=20)
        write_index(rows, plan.output_dir)
    return counts


def _finished_row(v: Variant, row: dict, fut) -> dict:
    out = Path(row["output_path"])
    try:
        res = fut.result()
    except Exception as exc:  # noqa: BLE001 - a dead worker is a failed variant, not a crash
        return _row(v, out, "failed", error=f"{type(exc).__name__}: {exc}")
    if res["status"] == "complete" and result_status(out) != "complete":
        return _row(v, out, "failed", res["wall_time_s"], "child exited 0 but the result is not complete")
    return _row(v, out, res["status"], res["wall_time_s"], res["error"])


# ------------------------------------------------------------------ analysis
def hosting_capacity(index_df, share_key: str = "households.pv.share", design_key: str = "market.mechanism",
                     vm_max_pu: float = 1.1, loading_max_percent: float = 100.0):
    """PV hosting capacity per design from a sweep index.

    A variant violates when ``vm_max_pu`` exceeds ``vm_max_pu`` [pu] (EN 50160
    upper band, 1.1 pu) or a line or trafo loading exceeds
    ``loading_max_percent`` [%]. Only rows with status complete or skipped
    count; with several seeds a share violates if any seed does.

    Returns
    -------
    pandas.DataFrame
        One row per design value: ``design``, ``first_violation_share`` (the
        smallest share tested that violates; NaN if none), ``violation``
        (``voltage``, ``loading`` or both), ``hosting_capacity_share`` (the
        largest share tested below the first violation; NaN if the smallest
        share already violates), ``max_share_tested``, ``n_variants``.
    """
    import pandas as pd

    df = index_df[index_df["status"].isin(["complete", "skipped"])].copy()
    ov = df["overrides"].map(json.loads)
    df["_share"] = ov.map(lambda d: d.get(share_key)).astype(float)
    df["_design"] = ov.map(lambda d: d.get(design_key))
    lines = df["line_loading_max_percent"].fillna(-np.inf)
    trafos = df.get("trafo_loading_max_percent", pd.Series(-np.inf, index=df.index)).fillna(-np.inf)
    df["_v"] = df["vm_max_pu"] > vm_max_pu
    df["_l"] = (lines > loading_max_percent) | (trafos > loading_max_percent)
    out = []
    for design, g in df.dropna(subset=["_share"]).groupby("_design", dropna=False, sort=True):
        per = g.groupby("_share")[["_v", "_l"]].any().sort_index()
        bad = per[per["_v"] | per["_l"]]
        first = float(bad.index[0]) if len(bad) else float("nan")
        kind = ""
        if len(bad):
            kind = "+".join(n for n, c in (("voltage", "_v"), ("loading", "_l")) if bad.iloc[0][c])
        below = per.index[per.index < first] if len(bad) else per.index
        out.append({"design": design, "first_violation_share": first, "violation": kind,
                    "hosting_capacity_share": float(below.max()) if len(below) else float("nan"),
                    "max_share_tested": float(per.index.max()), "n_variants": len(g)})
    return pd.DataFrame(out, columns=["design", "first_violation_share", "violation",
                                      "hosting_capacity_share", "max_share_tested", "n_variants"])


if __name__ == "__main__":  # the child of run_variant: ``python -m cosim.sweep PARENT_PID run ...``
    sys.exit(_child_main(sys.argv[1:]))
