"""The one pydantic configuration every scenario schema uses.

Every section of a scenario (``cosim/config.py`` and ``simulators/*/schema.py``)
derives its models from :class:`StrictModel` (or uses :data:`STRICT`), so the
same rules hold in every numeric field of every section:

* ``allow_inf_nan=False``: ``.nan``, ``.inf`` and ``-.inf`` are refused, in
  plain floats, optional floats and floats inside lists and mappings (a NaN
  passes every ``ge``/``le`` bound, an infinity overflows ``int()``);
* ``extra="forbid"``: a misspelt key is an error, not a silent default;
* ``frozen=True``: a validated scenario is never changed downstream.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

#: Shared model configuration of every scenario schema.
STRICT = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class StrictModel(BaseModel):
    """Base class of scenario schema models (see :data:`STRICT`)."""

    model_config = STRICT
