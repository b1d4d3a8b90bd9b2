"""Home battery: vectorised limits and an exact energy balance.

Energy balance per step of length ``dt_h`` [h] (consumer reference,
``p > 0`` charges)::

    soc[k+1] = soc[k] * (1 - sd * dt_h) + eta_c * p_ch * dt_h - p_dis * dt_h / eta_d

with ``p_ch = max(p, 0)``, ``p_dis = max(-p, 0)``. The limits below keep
``soc`` in ``[soc_min, soc_max]`` whenever it starts there. When
self-discharge alone would take the battery below ``soc_min``, the battery
management system trickle-charges the loss from the grid (``p_dis_max`` is then
negative: the least power is a small charge).
"""

from __future__ import annotations

import numpy as np


def battery_limits(soc_mwh, e_min_mwh, e_max_mwh, p_max_mw, eta_c, eta_d, sd_per_h, dt_h):
    """Feasible charge / discharge power for one step.

    Returns
    -------
    p_ch_max, p_dis_max : np.ndarray
        Largest charging and discharging power [MW]; ``p_dis_max < 0`` means
        the battery must charge at least ``-p_dis_max`` to stay at ``soc_min``.
    """
    kept = soc_mwh * (1.0 - sd_per_h * dt_h)
    p_ch_max = np.minimum(p_max_mw, np.maximum(e_max_mwh - kept, 0.0) / (eta_c * dt_h))
    slack = kept - e_min_mwh
    p_dis_max = np.minimum(p_max_mw, np.where(slack >= 0.0, slack * eta_d, slack / eta_c) / dt_h)
    return p_ch_max, p_dis_max


def battery_step(soc_mwh, p_req_mw, e_min_mwh, e_max_mwh, p_max_mw, eta_c, eta_d, sd_per_h, dt_h):
    """Apply a requested power (clipped to the limits) for one step.

    Returns
    -------
    p_mw : np.ndarray
        Realised power, consumer reference [MW].
    soc_next_mwh : np.ndarray
        State of charge at the end of the step [MWh].
    """
    p_ch_max, p_dis_max = battery_limits(soc_mwh, e_min_mwh, e_max_mwh, p_max_mw, eta_c, eta_d, sd_per_h, dt_h)
    p = np.clip(p_req_mw, -p_dis_max, p_ch_max)
    soc_next = (soc_mwh * (1.0 - sd_per_h * dt_h) + eta_c * np.maximum(p, 0.0) * dt_h
                - np.maximum(-p, 0.0) * dt_h / eta_d)
    return p, soc_next
