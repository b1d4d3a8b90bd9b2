"""cosim: co-simulation testbed for local electricity markets in distribution grids.

The simulators and the analysis tools are ``cosim.simulators`` and
``cosim.analysis`` (see :mod:`cosim._layout` for how a source checkout maps
its top-level folders onto those names).
"""

#: The one place the version is written (``pyproject.toml`` reads it from here).
__version__ = "0.2.0"

from cosim._layout import install as _install_layout  # noqa: E402

_install_layout()
