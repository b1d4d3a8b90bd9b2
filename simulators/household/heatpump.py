"""Air-source heat pump and 1R1C building (vectorised, exact integration).

Building: ``C dT/dt = H (T_out - T) + Q_hp + Q_gain`` with heat loss
coefficient ``H`` [MW/K] and heat capacity ``C`` [MWh/K]; with inputs held
constant over a step the exact solution is

    T[k+1] = T_eq + (T[k] - T_eq) * exp(-dt/tau),  T_eq = T_out + (Q_hp + Q_gain)/H,
    tau = C/H.

The heat lost through the envelope over the step, integrated exactly, is
``H*[(T_eq - T_out)*dt + (T[k] - T_eq)*tau*(1 - exp(-dt/tau))]`` so that
``C*(T[k+1] - T[k]) = (Q_hp + Q_gain)*dt - loss`` holds to rounding.

COP after Ruhnau, Hirth & Praktiknjo 2019 (Sci. Data 6:189, Eq. 4 and the
heating curves of their Table 2): ASHP ``COP = 6.08 - 0.09 dT + 0.0005 dT^2``,
``dT = T_sink - T_out``, radiator sink ``40 - 1.0 T_out`` [C], floor heating
``30 - 0.5 T_out`` [C], times their real-world correction factor 0.85.
"""

from __future__ import annotations

import numpy as np


def cop_ashp(t_out_c, sink: str = "radiator", correction: float = 0.85):
    """Coefficient of performance of an air-source heat pump [-]."""
    t_sink = 40.0 - 1.0 * t_out_c if sink == "radiator" else 30.0 - 0.5 * t_out_c
    dt = t_sink - t_out_c
    return (6.08 - 0.09 * dt + 0.0005 * dt**2) * correction


def building_step(t_in_c, t_out_c, q_heat_mw, h_mw_per_k, c_mwh_per_k, dt_h):
    """Advance indoor temperature over one step.

    Homes without a building model (``h == 0``) keep their temperature.

    Returns
    -------
    t_next_c : np.ndarray
        Indoor temperature at the end of the step [C].
    loss_mwh : np.ndarray
        Heat lost through the envelope during the step [MWh].
    """
    has = h_mw_per_k > 0
    h = np.where(has, h_mw_per_k, 1.0)
    tau = np.where(has, c_mwh_per_k / h, 1.0)
    a = np.exp(-dt_h / tau)
    t_eq = t_out_c + q_heat_mw / h
    t_next = t_eq + (t_in_c - t_eq) * a
    loss = h * ((t_eq - t_out_c) * dt_h + (t_in_c - t_eq) * tau * (1.0 - a))
    return np.where(has, t_next, t_in_c), np.where(has, loss, 0.0)


def heat_to_reach(t_in_c, t_target_c, t_out_c, gains_mw, h_mw_per_k, c_mwh_per_k, dt_h):
    """Heat-pump thermal power [MW] that brings ``T`` to ``t_target`` at step end (>= 0, unclipped above)."""
    has = h_mw_per_k > 0
    h = np.where(has, h_mw_per_k, 1.0)
    a = np.exp(-dt_h * h / np.where(has, c_mwh_per_k, 1.0))
    t_eq = (t_target_c - t_in_c * a) / (1.0 - a)
    return np.where(has, np.maximum(h * (t_eq - t_out_c) - gains_mw, 0.0), 0.0)
