"""The network core: one AC model, one linearisation, one topology, one traffic light.

Every grid calculation shared by simulators lives here, once:

* :mod:`.acmodel` -- :class:`AcModel`, the AC power flow (pandapower's
  matrices, lightsim2grid's Newton-Raphson) used by the grid simulator and
  by the market's DSO check;
* :mod:`.linear` -- :func:`linearize` / :class:`LinearNetwork` and
  :func:`injection_sensitivity`, the Jacobian-based voltage and loading
  sensitivities used by DLMP, the flexibility market and ``ac_check``;
* :mod:`.radial` -- :class:`LinearGrid`, the topological (LinDistFlow)
  model of the coordinator;
* :mod:`.topology` -- feeders, zones and areas with one documented numbering;
* :mod:`.traffic_light` -- the DSO traffic light.
"""

from .acmodel import AcModel, AcResult, jacobian
from .errors import NetworkModelError
from .linear import LinearNetwork, injection_sensitivity, linearize

__all__ = ["AcModel", "AcResult", "LinearNetwork", "NetworkModelError", "injection_sensitivity",
           "jacobian", "linearize"]
