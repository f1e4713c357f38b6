"""Service-time distributions: sampling (in seconds, buffered) and analytic moments (in milliseconds).

The same object serves the simulation (``sampler``) and the theory (``mean_ms``, ``scv``), so both always
describe the same distribution.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from sim.model.base import MAX_CV, NANOSECOND_MS, LatencyMs, StrictModel, TimeMs

BATCH_SIZE = 1024
Sampler = Callable[[], float]


def batched(draw: Callable[[int], np.ndarray], batch_size: int) -> Callable[[], Any]:
    """A zero-argument function returning successive values of ``draw(batch_size)`` (one numpy call per batch)."""
    buffer: list[Any] = []

    def next_value() -> Any:
        if not buffer:
            batch = draw(batch_size).tolist()
            batch.reverse()
            buffer.extend(batch)
        return buffer.pop()

    return next_value


class Distribution:
    """A positive random time with known mean and variance."""

    name = "distribution"

    def __init__(self, mean_ms: float, variance_ms2: float) -> None:
        self.mean_ms = mean_ms
        self.variance_ms2 = variance_ms2

    @property
    def scv(self) -> float:
        """Squared coefficient of variation, variance / mean^2 (1 for exponential, 0 for deterministic)."""
        return self.variance_ms2 / self.mean_ms**2

    def draw_ms(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` independent samples in milliseconds."""
        raise NotImplementedError

    def sampler(self, rng: np.random.Generator) -> Sampler:
        """A zero-argument function returning the next sample in seconds, drawn in batches for speed."""
        return batched(lambda size: self.draw_ms(rng, size) / 1000.0, BATCH_SIZE)


class Exponential(Distribution):
    name = "exponential"

    def __init__(self, mean_ms: float) -> None:
        super().__init__(mean_ms, mean_ms**2)

    def draw_ms(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_ms, size)


class Deterministic(Distribution):
    name = "deterministic"

    def __init__(self, mean_ms: float) -> None:
        super().__init__(mean_ms, 0.0)

    def draw_ms(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.mean_ms)


class Uniform(Distribution):
    name = "uniform"

    def __init__(self, low_ms: float, high_ms: float) -> None:
        super().__init__((low_ms + high_ms) / 2, (high_ms - low_ms) ** 2 / 12)
        self.low_ms, self.high_ms = low_ms, high_ms

    def draw_ms(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low_ms, self.high_ms, size)


class Lognormal(Distribution):
    name = "lognormal"

    def __init__(self, mean_ms: float, cv: float) -> None:
        super().__init__(mean_ms, (cv * mean_ms) ** 2)
        self.sigma = math.sqrt(math.log1p(cv**2))
        self.mu = math.log(mean_ms) - self.sigma**2 / 2

    def draw_ms(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, size)


class Empirical(Distribution):
    name = "empirical"

    def __init__(self, samples_ms: list[float]) -> None:
        values = np.asarray(samples_ms, dtype=float)
        super().__init__(float(values.mean()), float(values.var()))
        self.samples_ms = values

    def draw_ms(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.choice(self.samples_ms, size)


# --- the scenario's distribution blocks ---------------------------------------------------------------


class ExponentialSpec(StrictModel):
    """Memoryless times with the given mean (squared coefficient of variation 1)."""

    distribution: Literal["exponential"] = "exponential"
    mean_ms: TimeMs

    def build(self) -> Distribution:
        """The distribution this block describes."""
        return Exponential(self.mean_ms)


class DeterministicSpec(StrictModel):
    """Every sample equals ``mean_ms`` (squared coefficient of variation 0)."""

    distribution: Literal["deterministic"]
    mean_ms: TimeMs

    def build(self) -> Distribution:
        """The distribution this block describes."""
        return Deterministic(self.mean_ms)


class UniformSpec(StrictModel):
    """Times spread evenly between ``low_ms`` and ``high_ms``."""

    distribution: Literal["uniform"]
    low_ms: LatencyMs
    high_ms: TimeMs

    @model_validator(mode="after")
    def _low_below_high(self) -> UniformSpec:
        if self.low_ms >= self.high_ms:
            raise ValueError(f"low_ms must be below high_ms (got {self.low_ms} >= {self.high_ms})")
        return self

    def build(self) -> Distribution:
        """The distribution this block describes."""
        return Uniform(self.low_ms, self.high_ms)


class LognormalSpec(StrictModel):
    """Right-skewed times given by their mean and coefficient of variation (std / mean)."""

    distribution: Literal["lognormal"]
    mean_ms: TimeMs
    cv: Annotated[float, Field(gt=0, le=MAX_CV)]

    def build(self) -> Distribution:
        """The distribution this block describes."""
        return Lognormal(self.mean_ms, self.cv)


class EmpiricalSpec(StrictModel):
    """Times resampled uniformly from measured samples."""

    distribution: Literal["empirical"]
    samples_ms: Annotated[list[LatencyMs], Field(min_length=1, max_length=100_000)]

    @model_validator(mode="after")
    def _positive_mean(self) -> EmpiricalSpec:
        if sum(self.samples_ms) / len(self.samples_ms) < NANOSECOND_MS:
            raise ValueError("samples_ms must have a mean of at least a nanosecond (1e-6 ms)")
        return self

    def build(self) -> Distribution:
        """The distribution this block describes."""
        return Empirical(self.samples_ms)


DistributionBlock = ExponentialSpec | DeterministicSpec | UniformSpec | LognormalSpec | EmpiricalSpec
DistributionSpec = Annotated[
    DistributionBlock,
    Field(discriminator="distribution"),
]
DISTRIBUTION_NAMES = ("exponential", "deterministic", "uniform", "lognormal", "empirical")


def from_spec(spec: DistributionBlock) -> Distribution:
    """The distribution a scenario's ``distribution:`` block describes."""
    return spec.build()
