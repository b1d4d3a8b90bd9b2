"""Shared constructed case: a 20/0.4 kV radial net with a weak and a strong feeder."""

from __future__ import annotations

import numpy as np
import pandapower as pp


from simulators.common import messages as msg

STEP_S = 900
H = STEP_S / 3600.0  # interval length [h]


def make_net():
    """ext_grid -- trafo 0.4 MVA -- bus 1; weak line (0.1 kA) to bus 2, strong line (0.4 kA) to bus 3.

    Weak line rating: sqrt(3) * 0.4 kV * 0.1 kA = 0.0693 MVA. Base load 0.04 MW at buses 2 and 3.
    """
    net = pp.create_empty_network()
    b0 = pp.create_bus(net, 20.0)
    b1 = pp.create_bus(net, 0.4)
    pp.create_ext_grid(net, b0, vm_pu=1.0)
    pp.create_transformer_from_parameters(net, b0, b1, sn_mva=0.4, vn_hv_kv=20, vn_lv_kv=0.4,
                                          vkr_percent=1.0, vk_percent=4.0, pfe_kw=0, i0_percent=0)
    b2 = pp.create_bus(net, 0.4)
    b3 = pp.create_bus(net, 0.4)
    pp.create_line_from_parameters(net, b1, b2, 0.05, 0.2, 0.08, 0, 0.1)
    pp.create_line_from_parameters(net, b1, b3, 0.05, 0.1, 0.08, 0, 0.4)
    pp.create_load(net, b2, 0.04)
    pp.create_load(net, b3, 0.04)
    return net


def offers(k, buses, up_mw, down_mw, price, first_agent=0, send_ms=0):
    """FLEX_OFFER messages for interval k (quantities given as power over the interval [MW])."""
    n = len(buses)
    m = msg.empty(n)
    m["sender"] = first_agent + np.arange(n)
    m["msg_id"] = msg.make_ids(m["sender"], k * 1000 + send_ms)
    m["kind"] = msg.Kind.FLEX_OFFER
    m["bus"] = buses
    m["interval_s"] = k * STEP_S
    m["quantity_mwh"] = np.asarray(up_mw, float) * H
    m["quantity2_mwh"] = np.asarray(down_mw, float) * H
    m["price_eur_per_mwh"] = price
    m["send_ms"] = send_ms
    return m



def _unused():
    return make_net()
