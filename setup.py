"""Package layout of the wheel (the metadata is in ``pyproject.toml``).

The repository keeps ``cosim/``, ``simulators/`` and ``analysis/`` side by side
at the top level. A wheel installs only ``cosim``: ``simulators/`` and
``analysis/`` become ``cosim.simulators`` and ``cosim.analysis`` (setuptools
``package_dir``), the shipped ``scenarios/`` and ``baselines/`` become package
data under ``cosim``, and :class:`BuildPy` rewrites the absolute imports of the
copied modules (``from simulators.x import y`` -> ``from cosim.simulators.x
import y``, and ``"simulators.x:Name"`` import targets) so that no top-level
``simulators``/``analysis`` name is needed at run time. A user's own
``analysis/`` folder therefore cannot shadow the installed code.

An editable install (``pip install -e .``) keeps the top-level layout of the
checkout instead; ``cosim/_layout.py`` then makes ``cosim.simulators`` and
``cosim.analysis`` names for the same modules.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py

NESTED = ("simulators", "analysis")
DATA_DIRS = ("scenarios", "baselines")
EDITABLE = any(arg in ("editable_wheel", "develop") for arg in sys.argv)

#: ``from simulators...`` / ``import analysis...`` at the start of a line.
_IMPORT = re.compile(r"^(\s*)(from|import)(\s+)(simulators|analysis)(?=[.\s])", re.M)
#: ``"simulators.grid.mosaik:GridSim"``-style import targets in string literals.
_TARGET = re.compile(r"""(['"])(simulators|analysis)(\.[A-Za-z_][\w.]*(?::[A-Za-z_]\w*)?)(?=\1)""")


def rewrite_imports(source: str) -> str:
    """The source of a module with its top-level ``simulators``/``analysis`` imports nested under ``cosim``."""
    source = _IMPORT.sub(r"\1\2\3cosim.\4", source)
    return _TARGET.sub(r"\1cosim.\2\3", source)


class BuildPy(build_py):
    """build_py that nests ``simulators``/``analysis`` imports under ``cosim`` in the built copies."""

    def build_module(self, module, module_file, package):
        result = super().build_module(module, module_file, package)
        if not EDITABLE:  # a wheel: every module is under cosim
            out = Path(result[0])
            text = out.read_text(encoding="utf-8")
            new = rewrite_imports(text)
            if new != text:
                out.write_text(new, encoding="utf-8")
        return result


def _find(tops: list[str]) -> list[str]:
    """Packages (also data-only folders such as ``cosim/data``) under the top-level folders ``tops``."""
    return find_namespace_packages(include=[p for t in tops for p in (t, f"{t}.*")],
                                   exclude=["*.__pycache__", "*.__pycache__.*"])


def _layout() -> dict:
    if EDITABLE:
        packages = _find(["cosim", *NESTED])
        return {"packages": packages, "package_data": {"cosim": ["data/*.yaml"],
                                                       "analysis": ["notebooks/*.ipynb", "templates/*"]}}
    packages = _find(["cosim"])
    package_dir = {}
    for name in NESTED:
        package_dir[f"cosim.{name}"] = name
        packages += [f"cosim.{p}" for p in _find([name])]
    package_data = {"cosim": ["data/*.yaml"], "cosim.analysis": ["notebooks/*.ipynb", "templates/*"]}
    for name in DATA_DIRS:
        package_dir[f"cosim.{name}"] = name
        packages.append(f"cosim.{name}")
        package_data[f"cosim.{name}"] = ["*.yaml", "*.json", "*.md"]
        for sub in sorted(p for p in Path(name).iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
            packages.append(f"cosim.{name}.{sub.name}")
            package_data[f"cosim.{name}.{sub.name}"] = ["*.yaml", "*.json", "*.md"]
    return {"packages": packages, "package_dir": package_dir, "package_data": package_data}


setup(cmdclass={"build_py": BuildPy}, **_layout())
