"""NaN and infinity are refused in every numeric field of every scenario section.

The rule is one setting (``simulators.common.schema.STRICT``); this test walks
every model reachable from :class:`cosim.config.Scenario` and, for each field
that holds a float or int (plain, optional, in a list, tuple or mapping),
validates the model with NaN, +inf and -inf there and expects a
finite-number (or integer) error at that field.
"""

from __future__ import annotations

import math
import typing

import pytest
from pydantic import ValidationError

from cosim.config import Scenario
from cosim.docgen import models as _models


def _bad_value(tp, x: float):
    """``x`` shaped like the annotation ``tp`` if it can hold a number, else None."""
    if tp in (float, int):
        return x
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (list, tuple):
        inner = _bad_value(args[0], x)
        return None if inner is None else [inner] * (len(args) if origin is tuple and Ellipsis not in args else 1)
    if origin is dict:
        inner = _bad_value(args[1], x)
        return None if inner is None else {"pv": inner}
    if origin is typing.Annotated:
        return _bad_value(args[0], x)
    for arg in args:  # unions, Optional: the first numeric branch
        v = _bad_value(arg, x)
        if v is not None:
            return v
    return None


CASES = [(m, name, x) for m in _models(Scenario) for name, f in m.model_fields.items()
         for x in (math.nan, math.inf, -math.inf) if _bad_value(f.annotation, x) is not None]


def test_every_section_is_walked():
    names = {m.__name__ for m in _models(Scenario)}
    assert {"Scenario", "HouseholdsConfig", "IctConfig", "MarketConfig", "CoordinatorConfig",
            "OutputConfig", "PvConfig", "TariffConfig", "ForgedInjection"} <= names
    assert len({(m, n) for m, n, _ in CASES}) >= 60  # numeric fields across all sections


@pytest.mark.parametrize("model", _models(Scenario), ids=lambda m: m.__name__)
def test_every_model_uses_the_strict_config(model):
    assert model.model_config.get("allow_inf_nan") is False
    assert model.model_config.get("extra") == "forbid" and model.model_config.get("frozen") is True


@pytest.mark.parametrize("model,name,x", CASES, ids=[f"{m.__name__}.{n}={x}" for m, n, x in CASES])
def test_non_finite_number_is_refused(model, name, x):
    value = _bad_value(model.model_fields[name].annotation, x)
    with pytest.raises(ValidationError) as info:
        model.model_validate({name: value})
    at_field = [e for e in info.value.errors() if e["loc"] and e["loc"][0] == name]
    assert at_field, f"{model.__name__}.{name}={value!r} was accepted"
    kinds = {e["type"] for e in at_field}
    assert kinds & {"finite_number", "int_from_float", "float_parsing", "int_parsing", "value_error",
                    "literal_error", "string_type", "int_type"}, kinds
