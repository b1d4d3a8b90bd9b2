"""Entry points behind ``cosim report``, ``cosim kpis`` and ``cosim check``.

Each ``*_main(argv) -> int`` parses its own arguments and returns the exit
code: 0 success / pass, 1 regression (check only), 2 bad input (one-line
message on stderr, no traceback). The ``cosim`` console script dispatches to
them with the arguments after the sub-command.

A result whose ``status`` is not ``complete`` (a running, interrupted or
failed run) is refused with exit code 2 unless ``--allow-partial`` is given;
then each such file is named in a ``warning:`` line on stderr. Files that are
not readable or not consistent (row counts, ``step_s <= 0``, a ``start``
that is not a date, a corrupt HDF5 structure) are always refused.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from analysis.check import compare, format_table, read_baseline, write_baseline
from analysis.errors import AnalysisError
from analysis.io import Result, load, require_complete
from analysis.kpis import kpis
from analysis.report import build_report

EXIT_OK, EXIT_REGRESSION, EXIT_BAD_INPUT = 0, 1, 2


def _guard(prog: str, body: Callable[[argparse.Namespace], int], parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    """Parse, run, and turn input errors into exit code 2 with a one-line message."""
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its usage message
        return EXIT_OK if exc.code in (0, None) else EXIT_BAD_INPUT
    try:
        return body(args)
    except AnalysisError as exc:
        print(f"{prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, RuntimeError, KeyError, ValueError, TypeError, IndexError) as exc:
        # h5py / pandas errors while reading datasets lazily: a damaged file
        detail = " ".join(str(exc).split())[:200]
        print(f"{prog}: error: cannot read the result ({type(exc).__name__}: {detail})", file=sys.stderr)
        return EXIT_BAD_INPUT


def _allow_partial_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-partial", action="store_true",
                        help="accept result files whose status is not 'complete' (flagged on stderr)")


def _load(path: str, allow_partial: bool, prog: str) -> Result:
    """Load a result; refuse an unfinished run unless ``allow_partial`` (then warn)."""
    result = load(path)
    if allow_partial:
        if result.attrs.get("status") != "complete":
            print(f"{prog}: warning: {result.path}: status is {result.attrs.get('status')!r}, not 'complete' "
                  f"({result.n_steps} steps recorded); its KPIs are not those of the full scenario",
                  file=sys.stderr)
    else:
        require_complete(result)
    return result


def report_main(argv: Sequence[str] | None = None) -> int:
    """``cosim report RESULT.h5 [RESULT2.h5 ...] [-o DIR] [--tariff-baseline T.h5]``."""
    parser = argparse.ArgumentParser(prog="cosim report", description="HTML report with KPIs and figures of one or several runs")
    parser.add_argument("results", nargs="+", help="result files (.h5); several are overlaid")
    parser.add_argument("-o", "--out", default="report", help="output directory (default: ./report)")
    parser.add_argument("--tariff-baseline", help="result of the same households under the retail tariff (bill KPIs)")
    _allow_partial_option(parser)

    def body(args: argparse.Namespace) -> int:
        out = Path(args.out)
        if out.exists() and not out.is_dir():
            raise AnalysisError(f"-o/--out: {out} exists and is not a folder; give a folder for the report")
        runs = [_load(p, args.allow_partial, "cosim report") for p in args.results]
        tariff = _load(args.tariff_baseline, args.allow_partial, "cosim report") if args.tariff_baseline else None
        page = build_report(runs, out, tariff)
        print(f"report written to {page}")
        return EXIT_OK

    return _guard("cosim report", body, parser, argv)


def kpis_main(argv: Sequence[str] | None = None) -> int:
    """``cosim kpis RESULT.h5 [--json] [--tariff-baseline T.h5]``."""
    parser = argparse.ArgumentParser(prog="cosim kpis", description="print the KPIs of a run")
    parser.add_argument("result", help="result file (.h5)")
    parser.add_argument("--json", action="store_true", help="print JSON (null = not applicable / undefined)")
    parser.add_argument("--tariff-baseline", help="result of the same households under the retail tariff (bill KPIs)")
    _allow_partial_option(parser)

    def body(args: argparse.Namespace) -> int:
        tariff = _load(args.tariff_baseline, args.allow_partial, "cosim kpis") if args.tariff_baseline else None
        values = kpis(_load(args.result, args.allow_partial, "cosim kpis"), tariff)
        if args.json:
            doc = {
                name: {
                    "value": kv.value if kv.applicable and math.isfinite(kv.value) else None,
                    "unit": kv.unit,
                    "applicable": kv.applicable,
                    "description": kv.description,
                }
                for name, kv in values.items()
            }
            print(json.dumps(doc, indent=2))
            return EXIT_OK
        width = max(len(n) for n in values)
        for name, kv in values.items():
            shown = "n/a" if not kv.applicable else ("undefined" if not math.isfinite(kv.value) else f"{kv.value:.6g}")
            print(f"{name:<{width}}  {shown:>12}  {kv.unit:<11}  {kv.description}")
        return EXIT_OK

    return _guard("cosim kpis", body, parser, argv)


def resolve_baseline(given: str) -> str:
    """A baseline file, or the shipped baseline of that name (``--baseline market_lv_rural``)."""
    path = Path(given)
    if path.exists() or path.parent != Path("."):
        return given
    from cosim._layout import shipped_dir

    shipped = shipped_dir("baselines") / (path.name if path.suffix == ".json" else f"{path.name}.json")
    return str(shipped) if shipped.is_file() else given


def _scenarios_differ(result: Result, baseline: str) -> str:
    """A sentence when the result and the baseline come from different scenarios, else ``""``.

    Compares ``scenario_sha256`` of the result with the one the baseline
    records in ``source`` (older baselines without it are not judged).
    """
    try:
        source = json.loads(Path(baseline).read_text()).get("source", {})
    except (OSError, ValueError, AttributeError):
        return ""
    theirs = str(source.get("scenario_sha256", "") if isinstance(source, dict) else "")
    ours = str(result.attrs.get("scenario_sha256", ""))
    if not theirs or not ours or theirs == ours:
        return ""
    return (f"the scenarios differ: {result.path.name} was run from scenario sha256 {ours[:12]}... "
            f"({result.attrs.get('scenario_name', '?')}), the baseline from {theirs[:12]}... "
            f"({source.get('scenario_name') or source.get('file', '?')}); KPI differences compare two scenarios, not a regression")


def check_main(argv: Sequence[str] | None = None) -> int:
    """``cosim check RESULT.h5 --baseline BASELINE.json [--write-baseline]``."""
    parser = argparse.ArgumentParser(prog="cosim check", description="compare the KPIs of a run with a stored baseline")
    parser.add_argument("result", help="result file (.h5)")
    parser.add_argument("--baseline", required=True,
                        help="baseline JSON file, or the name of a shipped baseline (default, market_lv_rural)")
    parser.add_argument("--write-baseline", action="store_true", help="create or update the baseline from this run (keeps tolerances)")
    _allow_partial_option(parser)

    def body(args: argparse.Namespace) -> int:
        result = _load(args.result, args.allow_partial, "cosim check")
        values = kpis(result)
        if args.write_baseline:
            source = {"file": result.path.name, "scenario_sha256": str(result.attrs.get("scenario_sha256", "")),
                      "scenario_name": str(result.attrs.get("scenario_name", "")),
                      "cosim_version": str(result.attrs.get("cosim_version", ""))}
            path = write_baseline(args.baseline, values, source)
            print(f"baseline written to {path} ({len(values)} KPIs)")
            return EXIT_OK
        baseline = resolve_baseline(args.baseline)
        rows = compare(values, read_baseline(baseline))
        differ = _scenarios_differ(result, baseline)
        if differ:
            print(f"cosim check: warning: {differ}", file=sys.stderr)
        print(format_table(rows))
        failed = [r.name for r in rows if r.failed]
        if failed and differ:
            print(f"DIFFERENT SCENARIO: {len(failed)} KPI(s) outside the baseline's tolerance "
                  f"({', '.join(failed)}); the scenarios differ, so this is not a regression of the same run")
            return EXIT_REGRESSION
        if failed:
            print(f"REGRESSION in {len(failed)} KPI(s): {', '.join(failed)}")
            return EXIT_REGRESSION
        print(f"pass: {len(rows)} KPIs within tolerance")
        return EXIT_OK

    return _guard("cosim check", body, parser, argv)


def export_main(argv: Sequence[str] | None = None) -> int:
    """``cosim export RESULT.h5 --format csv|parquet|netcdf --out DIR``."""
    from analysis.export import FORMATS, export

    parser = argparse.ArgumentParser(prog="cosim export",
                                     description="export a result to CSV, Parquet or NetCDF (docs/results.md)")
    parser.add_argument("result", help="result file (.h5)")
    parser.add_argument("--format", required=True, choices=FORMATS, help="output format")
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    _allow_partial_option(parser)

    def body(args: argparse.Namespace) -> int:
        files = export(_load(args.result, args.allow_partial, "cosim export"), args.out, args.format)
        print(f"{len(files)} files written to {args.out}")
        return EXIT_OK

    return _guard("cosim export", body, parser, argv)


if __name__ == "__main__":  # pragma: no cover - manual use: python -m analysis.cli check ...
    commands = {"report": report_main, "kpis": kpis_main, "check": check_main, "export": export_main}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(f"usage: python -m analysis.cli {{{','.join(commands)}}} ...", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(commands[sys.argv[1]](sys.argv[2:]))
