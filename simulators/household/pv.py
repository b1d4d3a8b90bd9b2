"""PV active-power limits and reactive-power control (vectorised).

Reactive power is returned in *generator* reference (``q_gen > 0`` = the
inverter injects reactive power, over-excited); the household converts it to
consumer reference (``q = q_base - q_gen``).

Characteristics
---------------
* ``fixed_cosphi``: constant under-excited cos phi (VDE-AR-N 4105:2018,
  5.7.2.4; default 0.95).
* ``cosphi_p``: VDE-AR-N 4105:2018 standard characteristic cos phi(P):
  1 up to P/P_n = 0.5, then linear to ``cosphi`` (under-excited) at P/P_n = 1.
* ``q_u``: IEEE 1547-2018 Table 8 default volt-var curve, category B:
  (0.92 pu, +0.44), (0.98, 0), (1.02, 0), (1.08, -0.44), Q in per unit of the
  inverter's apparent power rating, constant beyond the end points.
Reactive power is limited to ``sqrt(S^2 - P^2)`` (active-power priority).
"""

from __future__ import annotations

import numpy as np

#: IEEE 1547-2018 Table 8, category B default volt-var points (V [pu], Q [pu of S]).
QU_V_PU = np.array([0.92, 0.98, 1.02, 1.08])
QU_Q_PU = np.array([0.44, 0.0, 0.0, -0.44])


def pv_active(p_avail_mw, s_inv_mva, cap_mw):
    """Active PV power after inverter limit and curtailment setpoint.

    Returns ``(p_mw, curtailed_mw)`` in generator reference [MW];
    ``curtailed`` counts only the setpoint, not inverter clipping.
    """
    p_inv = np.minimum(p_avail_mw, s_inv_mva)
    p = np.minimum(p_inv, cap_mw)
    return p, p_inv - p


def pv_reactive(mode: str, p_mw, s_inv_mva, cosphi: float, vm_pu=None):
    """Reactive power of the PV inverter, generator reference [Mvar]."""
    if mode == "unity":
        return np.zeros_like(p_mw)
    tan = np.tan(np.arccos(cosphi))
    if mode == "fixed_cosphi":
        q = -p_mw * tan
    elif mode == "cosphi_p":
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(s_inv_mva > 0, p_mw / s_inv_mva, 0.0)
        # cos phi falls linearly from 1 at x=0.5 to `cosphi` at x=1.
        cphi = 1.0 - np.clip((x - 0.5) / 0.5, 0.0, 1.0) * (1.0 - cosphi)
        q = -p_mw * np.tan(np.arccos(cphi))
    elif mode == "q_u":
        v = np.ones_like(p_mw) if vm_pu is None else vm_pu
        q = np.interp(v, QU_V_PU, QU_Q_PU) * s_inv_mva
    else:  # validated by the schema
        raise ValueError(f"unknown q_mode {mode!r}")
    q_lim = np.sqrt(np.maximum(s_inv_mva**2 - p_mw**2, 0.0))
    return np.clip(q, -q_lim, q_lim)
