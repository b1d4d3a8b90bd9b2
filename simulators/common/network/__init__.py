"""The network core: each grid calculation shared by simulators, once.

* :mod:`.acmodel` -- :class:`AcModel`, the AC power flow (pandapower's
  matrices, lightsim2grid's Newton-Raphson): element tables
  (:meth:`AcModel.solve`, the grid simulator) or a whole grid state per bus
  (:meth:`AcModel.solve_bus`, the DSO check) -> voltages, branch loadings,
  losses, slack exchange; :func:`jacobian`, the one power-flow Jacobian;
* :mod:`.linear` -- the linearisation around a solved AC state:
  :func:`linearize` / :class:`LinearNetwork` (DLMP, flexibility market) and
  :func:`injection_sensitivity` (the DSO's ``ac_check``);
* :mod:`.radial` -- the topological lossless model (downstream matrix,
  LinDistFlow voltages, nested transformer areas) of the coordinator, whose
  downstream matrix is also the linearisation's PTDF;
* :mod:`.topology` -- feeders and zones with one documented numbering;
* :mod:`.traffic_light` -- the DSO traffic light.

Each is tested against pandapower (or by hand) in ``tests/common/network``;
the simulators' tests test their own logic. SimBench profile rows are
:func:`simulators.common.netdata.profile_row`.
"""

from simulators.common.lazy import lazy_getattr

from .errors import AreaError, GridTopologyError, NetworkModelError

# everything else on first use: reading a scenario (which imports the error
# classes) must not import pandapower and scipy
__getattr__ = lazy_getattr(__name__, {
    **dict.fromkeys(("AcModel", "AcResult", "jacobian"), ".acmodel"),
    **dict.fromkeys(("LinearNetwork", "injection_sensitivity", "linearize"), ".linear"),
    **dict.fromkeys(("LinearGrid", "build_linear_grid"), ".radial"),
    **dict.fromkeys(("feeder_area", "feeder_of_bus", "trafo_zone_of_bus", "zones"), ".topology"),
    **dict.fromkeys(("AMBER", "GREEN", "RED", "traffic_light"), ".traffic_light"),
})

__all__ = [
    "AMBER", "AcModel", "AcResult", "AreaError", "GREEN", "GridTopologyError", "LinearGrid",
    "LinearNetwork", "NetworkModelError", "RED", "build_linear_grid", "feeder_area", "feeder_of_bus",
    "injection_sensitivity", "jacobian", "linearize", "trafo_zone_of_bus", "traffic_light", "zones",
]
