"""ICT simulator: latency, loss, bandwidth, outages and attacks on every market message."""

from .errors import IctConfigError, IctInputError
from .model import IctNetwork, assign_technologies, fifo_departure_us, sample_latency_ms
from .presets import PRESETS, ge_from_loss, resolve
from .schema import IctConfig, TechnologyParams, parse_config

__all__ = [
    "IctConfig", "IctConfigError", "IctInputError", "IctNetwork", "PRESETS", "TechnologyParams",
    "assign_technologies", "fifo_departure_us", "ge_from_loss", "parse_config", "resolve",
    "sample_latency_ms",
]
