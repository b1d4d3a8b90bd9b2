"""The FIFO queue recursion of the ICT model, compiled with numba.

Imported by :func:`simulators.ict.model.fifo_departure_us` when a batch
first meets a finite bandwidth, so importing the model does not import
numba (as :mod:`simulators.common.auth` does with its compiled tags).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def departure_us(queue, send_us, service_us, busy_until_us):
    """``d_i = max(s_i, d_{i-1}) + x_i`` per queue, ``d_{-1} = busy_until_us[queue]`` [µs, int64]."""
    out = np.empty(len(queue), dtype=np.int64)
    d = np.int64(0)
    for i in range(len(queue)):
        if i == 0 or queue[i] != queue[i - 1]:
            d = busy_until_us[queue[i]]
        d = max(send_us[i], d) + service_us[i]
        out[i] = d
    return out
