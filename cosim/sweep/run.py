"""Running a planned sweep on Dask, one child process per variant.

Each variant runs as its own child process, ``python -P -m cosim.sweep PARENT
run BASE --set ... -o ID.h5`` (a thin wrapper around ``cosim run`` that dies
with its parent), launched by a Dask task so a timeout can kill it. The task
runs on a :class:`dask.distributed.LocalCluster` (``--workers N`` processes,
bound to the loopback interface, no HTTP server) or on the scheduler given by
``--scheduler``.

Import path of a child
----------------------
A child runs in the sweep's working directory (relative paths in a scenario
keep their meaning) but never imports from it: ``-P`` keeps the working
directory off ``sys.path``, and empty ``PYTHONPATH`` entries (which also
mean the working directory) are dropped. What remains is the interpreter's
own path (standard library, site-packages, ``.pth`` files of an installed or
editable package) plus the ``PYTHONPATH`` entries the user set on purpose,
made absolute, so a development checkout on ``PYTHONPATH`` still wins as it
does in the parent.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import queue
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..errors import ScenarioError
from .index import STATUSES, index_row, result_status, write_index

# cosim.config (and the simulator schemas it imports, ~1.5 s) is imported by
# the planner only: a Dask worker unpickling run_variant then starts a variant sooner.

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: Seconds a timed-out child gets to close its file after SIGTERM before SIGKILL.
KILL_GRACE_S = 10.0
#: Dask settings of the local cluster: no HTTP routes on the scheduler or the workers.
LOCAL_DASK_CONFIG = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}
_PR_SET_PDEATHSIG = 1


# ------------------------------------------------------------------ worker side
def child_command(parent_pid: int, argv: list[str]) -> list[str]:
    """The command of a child: ``python -P -m cosim.sweep PARENT ARGV`` (see module docstring)."""
    return [sys.executable, "-P", "-m", "cosim.sweep", str(parent_pid), *argv]


def child_env(environ: dict[str, str], cwd: str | None) -> dict[str, str]:
    """The environment of a child: ``environ`` with empty ``PYTHONPATH`` entries dropped.

    Relative entries are made absolute against ``cwd`` (where the child runs),
    which is what the interpreter would do; they stay because the user set them.
    """
    env = dict(environ)
    entries = [e for e in env.get("PYTHONPATH", "").split(os.pathsep) if e.strip()]
    base = cwd or os.getcwd()
    entries = [e if os.path.isabs(e) else os.path.normpath(os.path.join(base, e)) for e in entries]
    if entries:
        env["PYTHONPATH"] = os.pathsep.join(entries)
    else:
        env.pop("PYTHONPATH", None)
    return env


def run_variant(base: str, sets: list[str], out: str, timeout_s: float | None = None,
                cwd: str | None = None) -> dict:
    """Run one variant as a child process; runs inside a Dask task.

    On timeout the child gets SIGTERM (it then closes its partial file), and
    SIGKILL after :data:`KILL_GRACE_S`.

    Returns
    -------
    dict
        ``status`` (complete/failed/timeout), ``wall_time_s`` [s], ``error``.
    """
    argv = ["run", base, "-o", out, "-q"]
    for s in sets:
        argv += ["--set", s]
    cwd = cwd if cwd and os.path.isdir(cwd) else None
    t0 = time.perf_counter()
    proc = subprocess.Popen(child_command(os.getpid(), argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, cwd=cwd, env=child_env(dict(os.environ), cwd))
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


def child_main(argv: list[str]) -> int:
    """Child entry point: die with the Dask worker, then behave as ``cosim ...``."""
    parent = int(argv[0])
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the timeout still kills the child
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        return EXIT_INTERRUPTED
    from ..cli import main as cli_main

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
    """The ``cosim sweep`` argument parser (exit 2 and one ``error:`` line on bad arguments)."""
    p = _Parser(prog="cosim sweep", description="Run a parameter sweep on Dask.")
    p.add_argument("sweep", help="sweep YAML file")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tls://host:8786 (default: a LocalCluster on loopback)")
    p.add_argument("--workers", type=_positive_int, default=None,
                   help="LocalCluster worker processes (default: CPU count)")
    p.add_argument("--resume", action="store_true", help="skip variants whose complete result exists")
    p.add_argument("-o", "--output-dir", help="output directory (default: the sweep file's output_dir)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def _stop_http_server(dask_scheduler=None, dask_worker=None) -> None:
    """Close the HTTP listener Dask opens on every scheduler and worker.

    Dask starts it even with the dashboard off (it serves health and metrics
    routes); a local sweep needs none of it. Runs on the server's event loop.
    """
    server = getattr(dask_scheduler or dask_worker, "http_server", None)
    if server is not None:
        server.stop()


def _client(args):
    """A Dask client: on ``--scheduler``, else on a LocalCluster with no HTTP listener."""
    import dask
    from dask.distributed import Client, LocalCluster

    for name in ("distributed", "dask"):  # the CLI owns the console: only errors
        logging.getLogger(name).setLevel(logging.ERROR)
    if args.scheduler:  # security (TLS) comes from the Dask configuration, see the README
        return Client(args.scheduler, timeout="30s"), None
    n = args.workers or os.cpu_count() or 1
    with dask.config.set(LOCAL_DASK_CONFIG):
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, worker_dashboard_address=None,
                               scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    try:
        client.run_on_scheduler(_stop_http_server)
        client.run(_stop_http_server)
    except Exception:
        client.close()
        cluster.close()
        raise
    return client, cluster


def _initial_rows(plan, resume: bool) -> tuple[list[dict], list[int]]:
    rows, todo = [], []
    for i, v in enumerate(plan.variants):
        out = plan.output_dir / f"{v.variant_id}.h5"
        if resume and out.exists() and result_status(out) == "complete":
            rows.append(index_row(v, out, "skipped"))
        else:
            rows.append(index_row(v, out, "pending"))
            todo.append(i)
    return rows, todo


def main(argv: list[str] | None = None) -> int:
    """``cosim sweep``; returns 0 (all complete), 1 (some failed/timed out), 2 (bad input), 130."""
    from .plan import plan_sweep

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


def _execute(plan, args, rows: list[dict], todo: list[int], stop: dict) -> dict:
    """Submit the pending variants and record each as it finishes."""
    counts = {s: 0 for s in STATUSES}
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
        # a variant can finish between the stop signal and the shutdown: its result file is
        # complete although its row is still pending; record it, so index and files agree
        for i in todo:
            out = Path(rows[i]["output_path"])
            if rows[i]["status"] == "pending" and out.exists() and result_status(out) == "complete":
                rows[i] = index_row(plan.variants[i], out, "complete")
                counts["pending"] -= 1
                counts["complete"] += 1
        write_index(rows, plan.output_dir)
    return counts


def _finished_row(v, row: dict, fut) -> dict:
    out = Path(row["output_path"])
    try:
        res = fut.result()
    except Exception as exc:  # noqa: BLE001 - a dead worker is a failed variant, not a crash
        return index_row(v, out, "failed", error=f"{type(exc).__name__}: {exc}")
    if res["status"] == "complete" and result_status(out) != "complete":
        return index_row(v, out, "failed", res["wall_time_s"], "child exited 0 but the result is not complete")
    return index_row(v, out, res["status"], res["wall_time_s"], res["error"])
