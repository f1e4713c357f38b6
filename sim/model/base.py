"""The base of every scenario model: strict (unknown keys are errors), finite, with units in every field name."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]

# Physical ranges: every number a scenario holds is finite (``allow_inf_nan=False`` below) and inside these, so
# no draw, product or integral downstream can overflow, and no run can be asked for absurd work.
DAY_S = 86_400.0
DAY_MS = DAY_S * 1000.0
NANOSECOND_MS = 1e-6
MAX_RATE_RPS = 1_000_000.0  # a million requests per second: far beyond any classroom scenario
MAX_CV = 100.0
MAX_PRICE = 1_000_000.0
MAX_NAME_LENGTH = 100

TimeMs = Annotated[float, Field(ge=NANOSECOND_MS, le=DAY_MS)]  # a service or think time: 1 ns to a day
LatencyMs = Annotated[float, Field(ge=0, le=DAY_MS)]  # a fixed delay that may be zero
Seconds = Annotated[float, Field(ge=0, le=DAY_S)]
PositiveSeconds = Annotated[float, Field(gt=0, le=DAY_S)]
RateRps = Annotated[float, Field(ge=0, le=MAX_RATE_RPS)]
PositiveRateRps = Annotated[float, Field(gt=0, le=MAX_RATE_RPS)]
Price = Annotated[float, Field(ge=0, le=MAX_PRICE)]
ComponentName = Annotated[str, Field(max_length=MAX_NAME_LENGTH)]
SHAPE_TAG = "shape:"  # prefix of the tags of a list item's union of shapes: error paths leave them out


class StrictModel(BaseModel):
    """Base for every scenario model: unknown keys are errors, assignments are validated, numbers are finite."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)
