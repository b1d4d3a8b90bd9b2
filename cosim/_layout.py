"""Where the ``simulators`` and ``analysis`` packages live, and one name for both layouts.

* **Installed wheel.** Everything is inside this package: ``cosim.simulators``
  and ``cosim.analysis`` are real sub-packages (the build maps the repository's
  top-level ``simulators/`` and ``analysis/`` folders there and rewrites their
  absolute imports, see ``setup.py``). Nothing but ``cosim`` is installed at
  the top level, so a user's own ``analysis/`` folder cannot shadow it.
* **Source checkout or editable install.** The repository keeps its top-level
  ``simulators/`` and ``analysis/`` folders. :func:`install` adds a finder that
  makes ``cosim.simulators`` and ``cosim.analysis`` (and their sub-modules)
  names of those same module objects, so code written against the installed
  layout (``from cosim.analysis import load``) runs unchanged here.

In a checkout a folder elsewhere on ``sys.path`` could still shadow the
repository's packages; :func:`check_not_shadowed` finds that and names the
shadowing path instead of failing later with an ``AttributeError``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

#: The packages shipped inside ``cosim`` by the wheel.
NESTED = ("simulators", "analysis")

_HERE = Path(__file__).resolve().parent
ROOT = _HERE.parent

#: True in a source checkout / editable install (top-level folders beside ``cosim/``).
SOURCE_CHECKOUT = not (_HERE / "analysis").is_dir() and all(
    (ROOT / name / "__init__.py").is_file() for name in NESTED)


def shipped_dir(name: str) -> Path:
    """Folder of shipped data (``scenarios`` or ``baselines``) in either layout."""
    return ROOT / name if SOURCE_CHECKOUT else _HERE / name


class ShadowedPackage(ImportError):
    """A top-level ``simulators``/``analysis`` that is not this checkout's."""


def _origin(name: str) -> Path | None:
    module = sys.modules.get(name)
    if module is not None:
        file = getattr(module, "__file__", None)
        return Path(file).resolve() if file else None
    spec = importlib.util.find_spec(name)
    return Path(spec.origin).resolve() if spec is not None and spec.origin else None


def check_not_shadowed() -> None:
    """In a checkout, raise :class:`ShadowedPackage` if ``simulators``/``analysis`` resolve elsewhere."""
    if not SOURCE_CHECKOUT:
        return
    for name in NESTED:
        expected = ROOT / name / "__init__.py"
        try:
            found = _origin(name)
        except (ImportError, ValueError):
            found = None
        if found != expected:
            raise ShadowedPackage(
                f"package '{name}' resolves to {found or 'nothing'}, not to {expected}: a folder or module "
                f"of that name earlier on sys.path (often the current directory) shadows cosim's; run from "
                f"another directory or install the wheel, which keeps everything under the cosim package")


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, real: str) -> None:
        self.real = real

    def create_module(self, spec):
        module = importlib.import_module(self.real)
        sys.modules[spec.name] = module
        return module

    def exec_module(self, module) -> None:  # already executed under its real name
        return None


class _AliasFinder(importlib.abc.MetaPathFinder):
    """``cosim.simulators[.x]`` -> ``simulators[.x]`` (same module objects) in a checkout."""

    def find_spec(self, fullname, path=None, target=None):
        for name in NESTED:
            alias = f"cosim.{name}"
            if fullname == alias or fullname.startswith(alias + "."):
                real = fullname[len("cosim."):]
                if real == name:
                    check_not_shadowed()
                return importlib.machinery.ModuleSpec(fullname, _AliasLoader(real))
        return None


def install() -> None:
    """Register the alias finder once (only in a source checkout)."""
    if SOURCE_CHECKOUT and not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
