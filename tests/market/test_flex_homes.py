"""The flexibility markets' device term takes only the loads the households model.

A bus can hold a home and a load that is not one (a shop or a farm left out
by ``households.include``). The shop's profile must stay in the DSO's
forecast: only the announced (replaced) loads are the home's.
"""

from __future__ import annotations

import numpy as np
import pandapower as pp

from simulators.market.flexmarket import FlexMarket
from simulators.market.operator import MarketOperator
from simulators.market.schema import MarketConfig


def _net():
    net = pp.create_empty_network()
    b0, b1, b2 = pp.create_bus(net, 20.0), pp.create_bus(net, 0.4), pp.create_bus(net, 0.4)
    pp.create_ext_grid(net, b0)
    pp.create_transformer(net, b0, b1, "0.25 MVA 20/0.4 kV")
    pp.create_line(net, b1, b2, 0.1, "NAYY 4x150 SE")
    pp.create_load(net, b2, p_mw=0.004, q_mvar=0.001)  # the home
    pp.create_load(net, b2, p_mw=0.030, q_mvar=0.005)  # a shop at the same bus
    return net, b2


def test_only_announced_loads_are_the_homes():
    net, bus = _net()
    fm = FlexMarket(MarketConfig.model_validate({"mechanism": "lfm"}), net, "2016-06-01T00:00:00", 900, 1)
    fm.agent_bus[0] = bus
    assert fm.hh_load_mask().tolist() == [True, True]  # nothing announced: every load at the bus
    fm.replaced_loads = np.array([0])
    assert fm.hh_load_mask().tolist() == [True, False]
    # hand calculation: the home's profile base is its nominal 0.004 MW (a net without profiles)
    p, _ = fm.element_p_q(0, only_hh_loads=True)
    assert p[fm.pos[bus]] == 0.004


def test_operator_passes_the_announced_loads_on():
    net, _ = _net()
    op = MarketOperator(MarketConfig.model_validate({"mechanism": "lfm"}), net, "2016-06-01T00:00:00", 900, 4,
                        seed=0, n_agents=1, auth_seed=0)
    op.replace_elements(load=[0])
    assert op.flex.replaced_loads.tolist() == [0]


def test_dso_base_state_follows_the_announced_loads():
    """The DSO's profile base (``base_state``, its bus positions and masks built
    once) leaves out exactly the announced loads, also when the set changes
    after a first use. Hand calculation on a net without profiles: home 0.004
    MW + shop 0.030 MW at the bus; without the home 0.030 MW; reactive power of
    both loads stays (0.001 + 0.005 Mvar: orders carry no Mvar)."""
    net, bus = _net()
    op = MarketOperator(MarketConfig.model_validate({"mechanism": "pay_as_clear", "dso_check": "ac_check"}),
                        net, "2016-06-01T00:00:00", 900, 4, seed=0, n_agents=1, auth_seed=0)
    i = net.bus.index.get_loc(bus)
    p, q = op.base_state(0)
    assert p[i] == 0.004 + 0.030 and q[i] == 0.001 + 0.005
    op.replace_elements(load=[0])
    p, q = op.base_state(1)
    assert p[i] == 0.030 and q[i] == 0.001 + 0.005
    assert p.sum() == 0.030  # nothing elsewhere
    op.replace_elements(load=[0, 1])
    assert op.base_state(2)[0][i] == 0.0
