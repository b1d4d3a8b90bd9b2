"""ICT simulator: latency, loss, bandwidth, outages and attacks on every market message."""

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


def __getattr__(name: str):
    """Import model modules on first use, so reading a scenario schema stays fast."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module, __name__), name)
