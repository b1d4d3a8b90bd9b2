"""The ``cosim`` command line.

Exit codes: 0 success; 1 the run failed (also: another run holds the lock on
the same output, the disk is full) or a check found a regression; 2 invalid
scenario or arguments, including an output path that cannot be written (one
line per problem, no traceback), also an existing result at the output path
without ``--force``; 130 stopped by SIGINT or SIGTERM.

Global options go before the sub-command: ``--version``, ``--log-level``
(``-v`` is ``--log-level info``). Third-party log output (mosaik's loguru
records) is disabled with ``logger.disable`` unless the level is ``info`` or
``debug``; handlers a user added to loguru are left alone.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import warnings
from datetime import datetime, timedelta
from pathlib import Path

from .errors import OutputBusy, OutputPathError, RunFailed, RunInterrupted, ScenarioError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

LOG_LEVELS = ("debug", "info", "warning", "error")


class _Parser(argparse.ArgumentParser):
    """argparse that exits with code 2 and one line, never a traceback."""

    def error(self, message):  # noqa: D401 - argparse API
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _err(msg: str) -> None:
    sys.stderr.write(msg.rstrip("\n") + "\n")


# --------------------------------------------------------------------- run
def _default_out(scenario) -> Path:
    """``out/<name>.h5``; a name that would leave ``out/`` is refused."""
    name = scenario.name
    if (not name or name.startswith(".") or any(c in name for c in "/\\\0")
            or len(name.encode()) > 200):
        raise OutputPathError(
            f"name: {name[:80]!r} cannot name the default output file out/<name>.h5 (empty, starts "
            "with '.', holds a path separator or is too long); rename the scenario or give -o")
    return Path("out") / f"{name}.h5"


class _ProgressBar:
    """tqdm bar created on the first completed step (so set-up errors print cleanly)."""

    def __init__(self, scenario) -> None:
        self.scenario = scenario
        self.bar = None

    def update(self, t_s: float, n_steps: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=n_steps, unit="step", dynamic_ncols=True, file=sys.stderr,
                            desc=self.scenario.name, mininterval=0.5)
        self.bar.update(1)
        if self.bar.n % 96 == 0 or self.bar.n == n_steps:
            when = self.scenario.start + timedelta(seconds=t_s)
            self.bar.set_postfix_str(when.strftime("%Y-%m-%d %H:%M"), refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_run(args) -> int:
    from .config import load_scenario
    from .world import RunControl

    try:
        scenario, yaml_text = load_scenario(args.scenario, args.set or [])
        if args.seed is not None:
            scenario, yaml_text = load_scenario(args.scenario, [*(args.set or []), f"seed={args.seed}"])
    except ScenarioError as exc:
        for line in exc.problems:
            _err(f"error: {line}")
        return EXIT_USAGE
    from .recorder import check_output_path

    try:
        out = check_output_path(Path(args.output) if args.output else _default_out(scenario))
    except OutputPathError as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    if out.exists() and not args.force:
        _err(f"error: -o/--output: a result exists at this path; pass --force to replace it or give "
             f"another path; got {str(out)[:200]!r}")
        return EXIT_USAGE

    control = RunControl()
    bar = None if args.quiet else _ProgressBar(scenario)
    control.on_progress = None if bar is None else bar.update

    def _stop(signum, _frame):
        control.stop_requested = True
        control.stop_reason = f"stopped by {signal.Signals(signum).name}"

    # the handler stays until the summary is printed: a signal after the final
    # rename only notes that the (complete) result was already published
    old = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run_and_report(scenario, yaml_text, out, control, bar)
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _run_and_report(scenario, yaml_text, out: Path, control, bar) -> int:
    from .world import run_scenario

    try:
        summary = run_scenario(scenario, yaml_text, out, control)
    except OutputBusy as exc:
        _err(f"run failed: {exc}")
        return EXIT_FAILED
    except OutputPathError as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    except RunInterrupted as exc:
        if bar is not None:
            bar.close()
        _err(f"interrupted: {exc}")
        return 130
    except RunFailed as exc:
        if bar is not None:
            bar.close()
        _err(f"run failed: {exc}")
        if exc.partial_path:
            _err(f"partial output: {exc.partial_path}")
        return EXIT_FAILED
    except ScenarioError as exc:  # problems only detectable with the real net
        if bar is not None:
            bar.close()
        for line in exc.problems:
            _err(f"error: {line}")
        return EXIT_USAGE
    if bar is not None:
        bar.close()
    run_s = summary.wall_time_s - summary.setup_s
    rate = summary.steps / run_s if run_s > 0 else float("inf")
    print(f"{summary.steps} steps in {summary.wall_time_s:.1f} s (set-up {summary.setup_s:.1f} s, "
          f"{rate:.0f} steps/s) -> {summary.path}")
    h = summary.headline
    if h:
        parts = []
        if "vm_min_pu" in h:
            parts.append(f"vm {h['vm_min_pu']:.4f}..{h['vm_max_pu']:.4f} pu")
        if "line_loading_max_percent" in h:
            parts.append(f"max line loading {h['line_loading_max_percent']:.1f} %")
        if "energy_imported_mwh" in h:
            parts.append(f"imported {h['energy_imported_mwh']:.3f} MWh, exported {h['energy_exported_mwh']:.3f} MWh")
        if h.get("pf_not_converged_steps"):
            parts.append(f"{h['pf_not_converged_steps']} steps without power-flow convergence")
        print("; ".join(parts))
    if control.stop_requested:
        _err(f"note: {control.stop_reason} after the result was complete; {summary.path} is complete")
    return EXIT_OK


def cmd_grids(args) -> int:
    from simulators.common.netdata import simbench_codes

    codes = simbench_codes()
    if args.filter:
        codes = [c for c in codes if args.filter.lower() in c.lower()]
    for c in codes:
        print(c)
    return EXIT_OK


def _delegate(target: str):
    """A sub-command implemented in another package as ``main(argv) -> int``."""

    def run(args) -> int:
        module, func = target.split(":")
        import importlib

        return int(getattr(importlib.import_module(module), func)(args.rest))

    return run


#: Sub-commands implemented elsewhere as ``main(argv) -> int``: (name, target, help).
DELEGATED = (
    ("clear", "simulators.market.clear_cli:main", "clear one order book from a CSV file"),
    ("report", "analysis.cli:report_main", "HTML report and figures of result files"),
    ("kpis", "analysis.cli:kpis_main", "print the KPIs of a result file"),
    ("check", "analysis.cli:check_main", "compare KPIs with a baseline; exit 1 on regression"),
    ("export", "analysis.cli:export_main", "export a result to CSV, Parquet or NetCDF"),
    ("sweep", "cosim.sweep:main", "run a parameter sweep on Dask"),
    ("cache", "simulators.common.netcache:main", "show (info) or empty (clear) the parsed-grid cache"),
)


def _version() -> str:
    from . import __version__

    return f"cosim {__version__}"


def _add_global_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--version", action="version", version=_version())
    p.add_argument("--log-level", choices=LOG_LEVELS, default="warning",
                   help="log level of cosim and its libraries (default: warning)")
    p.add_argument("-v", dest="log_level", action="store_const", const="info", help="same as --log-level info")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="cosim", description="Co-simulation testbed for local electricity markets.")
    _add_global_options(p)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run a scenario (default: the built-in scenario)")
    r.add_argument("scenario", nargs="?",
                   help="scenario YAML file or the name of a shipped scenario (e.g. market_lv_rural)")
    r.add_argument("-o", "--output", help="result file (.h5); default out/<name>.h5")
    r.add_argument("--seed", type=int, help="override the scenario seed")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a scenario field by dotted path (repeatable)")
    r.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar: stdout carries only the summary")
    r.add_argument("--force", action="store_true", help="replace an existing result at the output path")
    r.set_defaults(func=cmd_run)

    g = sub.add_parser("grids", help="list the SimBench codes that can be used")
    g.add_argument("filter", nargs="?", help="only codes containing this text")
    g.set_defaults(func=cmd_grids)

    for name, target, text in DELEGATED:
        s = sub.add_parser(name, help=text, add_help=False)
        s.add_argument("rest", nargs=argparse.REMAINDER)
        s.set_defaults(func=_delegate(target))
    return p


def _split_global(argv: list[str]) -> tuple[list[str], list[str]]:
    """Leading global options and the rest (from the sub-command on)."""
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 2 if argv[i] == "--log-level" else 1
    return argv[:i], argv[i:]


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper()), format="%(levelname)s %(name)s: %(message)s")
    try:
        from loguru import logger
    except ImportError:  # pragma: no cover - mosaik depends on loguru
        return
    for name in ("mosaik", "mosaik_api_v3"):
        (logger.enable if level in ("debug", "info") else logger.disable)(name)


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    argv = sys.argv[1:] if argv is None else list(argv)
    head, tail = _split_global(argv)
    targets = {name: target for name, target, _ in DELEGATED}
    if tail and tail[0] in targets:
        # hand the rest over untouched: argparse.REMAINDER would refuse a leading
        # option (`cosim sweep --workers 2 FILE`)
        g = _Parser(prog="cosim", add_help=False)
        _add_global_options(g)
        args = g.parse_args(head)
        args.rest, args.func = tail[1:], _delegate(targets[tail[0]])
    else:
        args = build_parser().parse_args(argv)
    _configure_logging(args.log_level)
    from ._layout import ShadowedPackage, check_not_shadowed

    try:
        check_not_shadowed()
    except ShadowedPackage as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    try:
        return args.func(args)
    except BrokenPipeError:  # e.g. `cosim grids | head`
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
