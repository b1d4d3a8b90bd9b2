"""Result files for the notebooks: real runs first, a labelled synthetic stand-in last.

Order of lookup for :func:`results`:

1. the environment variable (one path, or several separated by ``os.pathsep``);
2. the default files of the shipped scenarios under the repository root (found
   from the working directory upwards), e.g. ``out/market_lv_congested.h5``
   as written by ``cosim run scenarios/market_lv_congested.yaml``;
3. if neither exists but the repository's scenarios are there: short real runs
   (2-3 h) of the same shipped scenarios (:data:`SHORT_RUNS`), made into the
   notebook's work folder, with a banner naming the command for the full runs;
4. only outside a repository checkout: synthetic files from
   :mod:`analysis.synthetic`, with a banner that says they are not results.
"""

from __future__ import annotations

import os
from pathlib import Path

from .synthetic import make_result

#: Short real runs standing in for a missing default file: pattern -> [(file stem,
#: scenario, overrides)]. Same scenarios and seeds as the full runs, shorter windows.
_CONGESTED = ["start=2016-07-23T10:00:00", "duration=2h"]
_ICT = ["start=2016-06-06T05:00:00", "duration=3h"]
SHORT_RUNS: dict[str, list[tuple[str, str, list[str]]]] = {
    "out/market_lv_congested.h5": [("market_lv_congested", "scenarios/market_lv_congested.yaml", _CONGESTED)],
    "out/compare/design/*_ac_check_ideal.h5": [
        (f"{m}_ac_check_ideal", "scenarios/market_lv_congested.yaml",
         [*_CONGESTED, f"market.mechanism={m}", "market.dso_check=ac_check",
          "ict={technologies: {ideal: 1.0}, order_deadline_s: 300}"]) for m in ("pay_as_clear", "pay_as_bid")],
    "out/compare/ict/feeder_outage.h5": [("feeder_outage", "scenarios/ict_feeder_outage.yaml", _ICT)],
    "out/compare/ict/*.h5": [(n, f"scenarios/ict_{n}.yaml", _ICT) for n in ("ideal", "lte", "nb_plc", "feeder_outage")],
}

SHORT_BANNER = ("NO RESULT OF A FULL RUN FOUND (looked for {where}).\n"
                "Studying SHORT REAL RUNS of the same shipped scenarios ({which}); for the full runs use:  {make}")

BANNER = ("NO RESULT OF A REAL RUN FOUND (looked for {where}).\n"
          "Make one from the repository root with:  {make}\n"
          "Continuing with SYNTHETIC data: the numbers below are not results of the testbed.")


def repo_root(start: Path | None = None) -> Path | None:
    """The nearest folder at or above ``start`` (default: the working directory)
    that holds ``pyproject.toml`` and ``scenarios/``; None if there is none."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "pyproject.toml").is_file() and (d / "scenarios").is_dir():
            return d
    return None


def results(env: str, pattern: str, make: str, work: Path, n_synthetic: int = 1,
            **synthetic) -> list[Path]:
    """Paths of the result files a notebook should study (module docstring).

    Parameters
    ----------
    env : str
        Environment variable that may name the files (``os.pathsep``-separated).
    pattern : str
        Glob of the default files relative to the repository root.
    make : str
        The command that writes those files (printed when none exist).
    work : Path
        Folder for synthetic stand-ins.
    n_synthetic : int
        How many synthetic files to make (seeds 0, 1, ...) when nothing real exists.
    **synthetic
        Extra keyword arguments of :func:`analysis.synthetic.make_result`.

    Raises
    ------
    FileNotFoundError
        ``env`` names a file that does not exist (a typo must not fall back to synthetic data).
    """
    named = [Path(p) for p in os.environ.get(env, "").split(os.pathsep) if p]
    missing = [str(p) for p in named if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{env} names files that do not exist: {', '.join(missing)}")
    if named:
        return named
    root = repo_root()
    found = sorted(root.glob(pattern)) if root else []
    if found:
        return found
    if root is not None and pattern in SHORT_RUNS:
        return _short_runs(root, pattern, env, make, Path(work))
    print(BANNER.format(where=f"${env}, {root / pattern if root else pattern}", make=make))
    return [make_result(Path(work) / ("synthetic.h5" if i == 0 else f"synthetic_{i}.h5"), n_steps=96, seed=i,
                        **synthetic) for i in range(n_synthetic)]


def _short_runs(root: Path, pattern: str, env: str, make: str, work: Path) -> list[Path]:
    """Run the short stand-ins of :data:`SHORT_RUNS` for ``pattern`` into ``work``."""
    from cosim.config import load_scenario
    from cosim.world import run_scenario

    spec = SHORT_RUNS[pattern]
    print(SHORT_BANNER.format(where=f"${env}, {root / pattern}", make=make,
                              which=", ".join(f"{Path(sc).stem} {' '.join(o for o in sets if o.startswith(('start', 'duration')))}"
                                              for _, sc, sets in spec)))
    work.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, scenario, sets in spec:
        sc, text = load_scenario(root / scenario, list(sets))
        out = work / f"{stem}.h5"
        run_scenario(sc, text, out)
        paths.append(out)
    return paths
