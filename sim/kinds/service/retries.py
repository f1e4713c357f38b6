"""Retries on a call: how many, how long to back off before each, with what jitter, within what budget.

``retries: {max_retries: 3, backoff_ms: 10, multiplier: 2, max_backoff_ms: 1000, jitter: full, budget: 0.1}``
on a call retries an attempt that failed or timed out (its ``timeout_ms`` is per attempt). Before retry n
(1, 2, ...) the caller waits, with ``cap_n = min(max_backoff_ms, backoff_ms x multiplier^(n-1))``:

- ``none``: exactly ``cap_n``;
- ``full``: uniform on ``[0, cap_n]`` (mean ``cap_n / 2``);
- ``equal``: ``cap_n / 2`` plus uniform on ``[0, cap_n / 2]`` (mean ``3 cap_n / 4``);
- ``decorrelated``: uniform on ``[backoff_ms, 3 x the previous wait]``, at most ``max_backoff_ms`` (the
  previous wait of the first retry is ``backoff_ms``).

These are the AWS Architecture Blog's "Exponential Backoff and Jitter" variants. A ``budget`` (a share of calls,
as in Finagle's retry budget and gRPC's retry throttling) keeps a token bucket per caller and callee: each
first attempt earns ``budget`` tokens, each retry spends one, at most ``BUDGET_RESERVE`` are banked (the bucket
starts full), and a retry without a whole token is not sent: the call fails. Over a long run retries are then
at most ``budget`` x first attempts + ``BUDGET_RESERVE``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from sim.model.base import StrictModel, TimeMs

Jitter = Literal["none", "full", "equal", "decorrelated"]
BUDGET_RESERVE = 10.0  # tokens a retry budget banks (and starts with): a burst of failures may retry this many


class RetrySpec(StrictModel):
    """Retries of one call: at most ``max_retries`` after the first attempt, exponential backoff with jitter."""

    max_retries: Annotated[int, Field(ge=1, le=10)] = 3
    backoff_ms: TimeMs = 10.0
    multiplier: Annotated[float, Field(ge=1.0, le=10.0)] = 2.0
    max_backoff_ms: TimeMs = 1000.0
    jitter: Jitter = "full"
    budget: Annotated[float, Field(gt=0.0, le=10.0, description="retries per first attempt at most, "
                                                                "over time (a token bucket)")] | None = None

    @model_validator(mode="after")
    def _cap_above_base(self) -> RetrySpec:
        if self.max_backoff_ms < self.backoff_ms:
            raise ValueError(f"max_backoff_ms ({self.max_backoff_ms:g}) is below backoff_ms ({self.backoff_ms:g})")
        return self

    def cap_ms(self, retry: int) -> float:
        """The backoff ceiling before retry ``retry`` (1 for the first retry)."""
        return float(min(self.max_backoff_ms, self.backoff_ms * self.multiplier ** (retry - 1)))

    def mean_backoff_ms(self, retry: int) -> float | None:
        """The mean wait before retry ``retry`` (None for decorrelated jitter, whose waits depend on the last)."""
        cap = self.cap_ms(retry)
        return {"none": cap, "full": cap / 2.0, "equal": 0.75 * cap}.get(self.jitter)

    def expected_attempts(self, failure_probability: float) -> float:
        """Mean attempts per call when each fails independently with ``failure_probability`` and no budget
        binds: 1 + p + p^2 + ... + p^max_retries."""
        return float(sum(failure_probability ** attempt for attempt in range(self.max_retries + 1)))


class RetryPolicy:
    """A call's retries at run time: the backoff draws (the caller's own stream) and the budget's tokens."""

    __slots__ = ("denied", "draws", "sent", "spec", "tokens")

    def __init__(self, spec: RetrySpec, draws: np.random.Generator) -> None:
        self.spec = spec
        self.draws = draws
        self.tokens = BUDGET_RESERVE
        self.sent = self.denied = 0

    def first_attempt(self) -> None:
        """A first attempt went out: it earns its share of a retry."""
        if self.spec.budget is not None:
            self.tokens = min(BUDGET_RESERVE, self.tokens + self.spec.budget)

    def allow(self, retry: int) -> bool:
        """Whether retry number ``retry`` may go out (within ``max_retries`` and the budget); counts it."""
        if retry > self.spec.max_retries:
            return False
        if self.spec.budget is not None:
            if self.tokens < 1.0:
                self.denied += 1
                return False
            self.tokens -= 1.0
        self.sent += 1
        return True

    def backoff_s(self, retry: int, previous_s: float | None) -> float:
        """The wait before retry ``retry``, in seconds, drawn as the jitter says (``previous_s``: this call's
        previous wait, None before its first retry; only decorrelated jitter reads it)."""
        spec = self.spec
        jitter = spec.jitter
        if jitter == "decorrelated":
            base_s, cap_s = spec.backoff_ms / 1000.0, spec.max_backoff_ms / 1000.0
            last_s = base_s if previous_s is None else previous_s
            return min(cap_s, base_s + float(self.draws.random()) * (3.0 * last_s - base_s))
        cap_s = spec.cap_ms(retry) / 1000.0
        if jitter == "none":
            return cap_s
        if jitter == "full":
            return float(self.draws.random()) * cap_s
        return cap_s / 2.0 + float(self.draws.random()) * cap_s / 2.0
