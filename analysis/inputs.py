"""Result files for the notebooks: real runs first, a labelled synthetic stand-in last.

Order of lookup for :func:`results`:

1. the environment variable (one path, or several separated by ``os.pathsep``);
2. the default files of the shipped scenarios under the repository root (found
   from the working directory upwards), e.g. ``out/market_lv_congested.h5``
   as written by ``cosim run scenarios/market_lv_congested.yaml``;
3. only if neither exists: synthetic files from :mod:`analysis.synthetic`, with
   a banner that says they are not results and which command makes real ones.
"""

from __future__ import annotations

import os
from pathlib import Path

from .synthetic import make_result

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
    print(BANNER.format(where=f"${env}, {root / pattern if root else pattern}", make=make))
    return [make_result(Path(work) / ("synthetic.h5" if i == 0 else f"synthetic_{i}.h5"), n_steps=96, seed=i,
                        **synthetic) for i in range(n_synthetic)]
