"""The grid simulator's model: the network core's AC power flow on the scenario net.

All physics lives in :class:`simulators.common.network.AcModel` (pandapower's
admittance model built once, lightsim2grid's Newton-Raphson per step,
pandapower's result formulas, several slack buses for SimBench HV grids). The
grid simulator uses it with the net's own element tables: each step passes the
element powers from the SimBench profiles plus the households' per-bus
injections (:meth:`GridModel.solve`). ``tests/common/network`` compares the
model with ``pandapower.runpp``; ``tests/grid`` compares the simulator with
plain pandapower time series.
"""

from __future__ import annotations

from simulators.common.network import AcModel, AcResult

#: One power-flow result (NaN everywhere if it did not converge).
StepResult = AcResult


class GridModel(AcModel):
    """AC power flow of the scenario net, stepped with new injections.

    Same as :class:`~simulators.common.network.AcModel` with the net's element
    tables (``elements=True``) and the default Newton-Raphson tolerance
    (1e-10 pu); a class of its own so the grid simulator's model can be
    replaced or patched without touching other users of the core.
    """
