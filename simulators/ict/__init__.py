"""ICT simulator: latency, loss, bandwidth, outages and attacks on every market message."""

from simulators.common.lazy import lazy_getattr

from .errors import IctConfigError, IctInputError
from .presets import PRESETS, ge_from_loss, resolve
from .schema import IctConfig, TechnologyParams, parse_config

__all__ = [
    "IctConfig", "IctConfigError", "IctInputError", "IctNetwork", "PRESETS", "TechnologyParams",
    "assign_technologies", "fifo_departure_us", "ge_from_loss", "parse_config", "resolve",
    "sample_latency_ms",
]

_LAZY = {
    "IctNetwork": ".model",
    "assign_technologies": ".model",
    "fifo_departure_us": ".model",
    "sample_latency_ms": ".model",
}

__getattr__ = lazy_getattr(__name__, _LAZY)
