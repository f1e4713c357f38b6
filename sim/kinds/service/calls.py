"""A service's call graph: the steps of ``calls`` (schema) and how one visit runs a step (runtime).

Each step of ``calls`` runs after the one before it has ended:

- ``name``: a call to that component (today's sequential call);
- ``{call: name, probability: 0.3, optional: true, timeout_ms: 50, hedge_after: p95}``: a call made with a
  probability (else skipped), whose failure or timeout does not fail the visit when ``optional``, whose wait
  ends after ``timeout_ms`` (the callee's work still runs: wasted work), and which sends a second copy when
  the first has not answered after the caller's measured ``p95`` of that callee's responses (see
  :class:`ResponseTracker`; the first answer wins, the other copy still runs);
- ``{parallel: [a, b, {call: c, ...}], fan_out: n, first: k}``: the calls go out at once, each ``n`` times
  (scatter-gather over n instances or shards; 1 by default), and the step ends when ``k`` of them (all by
  default) have answered; it fails as soon as ``k`` can no longer answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from pydantic import Discriminator, Field, Tag, model_validator

from sim.kinds.service.breaker import BreakerSpec, CircuitBreaker
from sim.kinds.service.retries import RetryPolicy, RetrySpec
from sim.model.base import SHAPE_TAG, ComponentName, StrictModel, TimeMs
from sim.model.status import FAILED, OK, TIMED_OUT

if TYPE_CHECKING:
    from sim.runtime.component import Component

MAX_PARALLEL = 100
HEDGE_WINDOW = 1000  # a hedge waits the chosen percentile of the caller's last 1,000 responses from that callee
HEDGE_WARMUP = 100  # no hedging until 100 responses were seen
HEDGE_REFRESH = 100  # the percentile is recomputed every 100 responses

Percentile = Annotated[str, Field(pattern=r"^p(5[0-9]|[6-9][0-9])(\.[0-9]{1,3})?$",
                                  description="a percentile of the callee's responses, p50 to p99.999")]


class CallSpec(StrictModel):
    """One call with options: made with a probability, optional, with its own timeout, hedged."""

    call: ComponentName
    probability: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    optional: bool = False
    timeout_ms: TimeMs | None = Field(default=None, description="per attempt, when the call retries")
    hedge_after: Percentile | None = None
    retries: RetrySpec | None = None
    breaker: BreakerSpec | None = None

    @property
    def hedge_quantile(self) -> float | None:
        """The hedge's percentile as a fraction (p95: 0.95), None without hedging."""
        return float(self.hedge_after[1:]) / 100.0 if self.hedge_after is not None else None


def _branch_tag(value: Any) -> str:
    return SHAPE_TAG + ("name" if isinstance(value, str) else "call")


Branch = Annotated[Annotated[ComponentName, Tag(SHAPE_TAG + "name")] | Annotated[CallSpec, Tag(SHAPE_TAG + "call")],
                   Discriminator(_branch_tag)]


class ParallelSpec(StrictModel):
    """Calls sent at once, each ``fan_out`` times (scatter-gather to that many instances or shards); the step
    ends when ``first`` of them (all by default) have answered."""

    parallel: Annotated[list[Branch], Field(min_length=1, max_length=MAX_PARALLEL)]
    fan_out: Annotated[int, Field(ge=1, le=MAX_PARALLEL)] = 1
    first: Annotated[int, Field(ge=1, le=MAX_PARALLEL)] | None = None

    @property
    def width(self) -> int:
        """How many calls the step sends."""
        return len(self.parallel) * self.fan_out

    @model_validator(mode="after")
    def _first_within_width(self) -> ParallelSpec:
        if self.width > MAX_PARALLEL:
            raise ValueError(f"{len(self.parallel)} call(s) x fan_out {self.fan_out} is more than {MAX_PARALLEL}")
        if self.first is not None and self.first > self.width:
            raise ValueError(f"first={self.first} is more than the {self.width} parallel call(s)")
        return self


def _step_tag(value: Any) -> str:
    if isinstance(value, str):
        return SHAPE_TAG + "name"
    parallel = isinstance(value, ParallelSpec) or (isinstance(value, dict) and "parallel" in value)
    return SHAPE_TAG + ("parallel" if parallel else "call")


Step = Annotated[Annotated[ComponentName, Tag(SHAPE_TAG + "name")] | Annotated[CallSpec, Tag(SHAPE_TAG + "call")]
                 | Annotated[ParallelSpec, Tag(SHAPE_TAG + "parallel")], Discriminator(_step_tag)]


def as_call(branch: str | CallSpec) -> CallSpec:
    """A step's branch with its options spelled out."""
    return CallSpec(call=branch) if isinstance(branch, str) else branch


def is_plain(step: object) -> bool:
    """Whether a step is one call without options (the runtime's fast path; its moments simply add)."""
    return isinstance(step, str) or (isinstance(step, CallSpec) and step == CallSpec(call=step.call))


def step_branches(step: str | CallSpec | ParallelSpec) -> tuple[list[CallSpec], int]:
    """A step's calls and how many must answer for it to end."""
    if isinstance(step, ParallelSpec):
        branches = [as_call(branch) for branch in step.parallel] * step.fan_out
        return branches, step.first or len(branches)
    return [as_call(step)], 1


def step_references(index: int, step: Any, hedges: bool = False) -> list[tuple[str, Any]]:
    """(field path suffix, name) of every call in a step as written (data that may not be valid yet).

    With ``hedges`` (the calls a visit makes, for the fan-out budget), a hedged call is listed twice (its copy
    is a second visit) and a parallel step's calls ``fan_out`` times.
    """
    if not isinstance(step, dict):
        return [(f"calls.{index}", step)]
    if "parallel" in step:
        branches = step["parallel"] if isinstance(step["parallel"], list) else []
        copies = step.get("fan_out", 1) if hedges else 1
        return copies * [(f"calls.{index}.parallel.{position}{suffix}", target)
                for position, branch in enumerate(branches)
                for suffix, target in _call_references(branch, hedges)]
    return [(f"calls.{index}{suffix}", target) for suffix, target in _call_references(step, hedges)]


def _call_references(branch: Any, hedges: bool) -> list[tuple[str, Any]]:
    if not isinstance(branch, dict):
        return [("", branch)]
    if "call" not in branch:
        return []
    references = [(".call", branch["call"])]
    if hedges and branch.get("hedge_after") is not None:
        references.append((".hedge_after", branch["call"]))
    return references


def dump_step(step: str | CallSpec | ParallelSpec) -> Any:
    """A typed step back as data (what ``step_references`` reads)."""
    return step if isinstance(step, str) else step.model_dump(exclude_defaults=True)


class ResponseTracker:
    """The caller's recent responses from one callee, and the hedge delay they give (a moving percentile)."""

    __slots__ = ("count", "delay_s", "quantile", "responses_s")

    def __init__(self, quantile: float) -> None:
        self.quantile = quantile
        self.responses_s = np.zeros(HEDGE_WINDOW)
        self.count = 0
        self.delay_s: float | None = None

    def add(self, response_s: float) -> None:
        """Record one response of a first copy; every ``HEDGE_REFRESH`` responses, recompute the delay."""
        self.responses_s[self.count % HEDGE_WINDOW] = response_s
        self.count += 1
        if self.count >= HEDGE_WARMUP and self.count % HEDGE_REFRESH == 0:
            self.delay_s = float(np.quantile(self.responses_s[:min(self.count, HEDGE_WINDOW)], self.quantile))


class CompiledCall:
    """One call of a step, ready to run: its target's runtime and options in seconds."""

    __slots__ = ("breaker", "optional", "probability", "retry", "target", "timeout_s", "tracker")

    def __init__(self, spec: CallSpec, target: Component, draws: np.random.Generator | None = None) -> None:
        self.target = target
        self.probability = spec.probability
        self.optional = spec.optional
        self.timeout_s = spec.timeout_ms / 1000.0 if spec.timeout_ms is not None else None
        quantile = spec.hedge_quantile
        self.tracker = ResponseTracker(quantile) if quantile is not None else None
        self.retry = RetryPolicy(spec.retries, draws) if spec.retries is not None and draws is not None else None
        self.breaker = CircuitBreaker(spec.breaker) if spec.breaker is not None else None


class CompiledStep:
    """A step ready to run; ``direct`` is the target of a plain call (the fast path), else None."""

    __slots__ = ("calls", "direct", "needed")

    def __init__(self, step: str | CallSpec | ParallelSpec, components: dict[str, Component],
                 draws: np.random.Generator | None = None) -> None:
        specs, self.needed = step_branches(step)
        self.calls = [CompiledCall(spec, components[spec.call], draws) for spec in specs]
        self.direct = self.calls[0].target if is_plain(step) else None


class StepRun:
    """One visit running one step: counts answers and failures, ends the step once."""

    __slots__ = ("answered", "failed", "finished", "owner", "step", "visit")

    def __init__(self, owner: Any, visit: Any, step: CompiledStep) -> None:
        self.owner = owner
        self.visit = visit
        self.step = step
        self.answered = self.failed = 0
        self.finished = False

    def start(self) -> None:
        """Send every call of the step (skipping those its probability leaves out)."""
        for call in self.step.calls:
            if self.finished:
                return
            if call.probability < 1.0 and self.owner.draw_call() >= call.probability:
                self.answer(call, OK)
            else:
                BranchCall(self, call).send()

    def answer(self, call: CompiledCall, status: int) -> None:
        """One call ended with ``status``: end the step when enough answered, or when too many failed."""
        if self.finished:
            return
        if status == OK or call.optional:
            self.answered += 1
            if self.answered >= self.step.needed:
                self.finished = True
                self.owner.step_ended(self.visit, OK)
            return
        self.failed += 1
        if len(self.step.calls) - self.failed < self.step.needed:
            self.finished = True
            self.owner.step_ended(self.visit, status)


class BranchCall:
    """One call out of a step, with its timeout, its hedged copy and its retries: answers its step once.

    Each attempt has a number, passed as the token of its replies and timers, so the answers and timers of an
    attempt given up on (timed out, then retried) are ignored.
    """

    __slots__ = ("answered", "attempt", "call", "copies", "previous_backoff_s", "run", "sent_s")

    def __init__(self, run: StepRun, call: CompiledCall) -> None:
        self.run = run
        self.call = call
        self.copies = 1
        self.answered = False
        self.sent_s = 0.0
        self.attempt = 0
        self.previous_backoff_s: float | None = None

    def send(self) -> None:
        if self.call.retry is not None:
            self.call.retry.first_attempt()
        self._send_attempt()

    def _send_attempt(self) -> None:
        env = self.run.owner.env
        call, attempt = self.call, self.attempt
        if call.breaker is not None and not call.breaker.allow(env.now):
            self.answered = True  # failed fast: nothing sent, nothing retried
            self.run.answer(call, FAILED)
            return
        self.sent_s = env.now
        call.target.accept(self.run.visit.request, self._first_returned, attempt)
        if call.timeout_s is not None:
            env.call_later(call.timeout_s, self._expire, attempt)
        if call.tracker is not None and call.tracker.delay_s is not None:
            env.call_later(call.tracker.delay_s, self._hedge, attempt)

    def _first_returned(self, attempt: int, status: int) -> None:
        if self.call.tracker is not None and attempt == self.attempt:
            self.call.tracker.add(self.run.owner.env.now - self.sent_s)
        self._returned(attempt, status)

    def _returned(self, attempt: int, status: int) -> None:
        if self.answered or attempt != self.attempt:
            return
        self.copies -= 1
        if status != OK and self.copies > 0:
            return  # the other copy may still answer
        if self.call.breaker is not None:
            self.call.breaker.record(status != OK, self.run.owner.env.now)
        if status != OK and self._retry():
            return
        self.answered = True
        self.run.answer(self.call, status)

    def _hedge(self, attempt: int) -> None:
        if not self.answered and attempt == self.attempt and self.copies > 0:
            self.copies += 1
            self.call.target.accept(self.run.visit.request, self._returned, attempt)

    def _expire(self, attempt: int) -> None:
        if self.answered or attempt != self.attempt:
            return
        if self.call.breaker is not None:
            self.call.breaker.record(True, self.run.owner.env.now)
        if self._retry():
            return
        self.answered = True
        self.run.answer(self.call, TIMED_OUT)

    def _retry(self) -> bool:
        """Schedule the next attempt after its backoff, if the policy allows one and the step still waits."""
        policy = self.call.retry
        if policy is None or self.run.finished or not policy.allow(self.attempt + 1):
            return False
        self.attempt += 1
        self.copies = 1
        wait_s = policy.backoff_s(self.attempt, self.previous_backoff_s)
        self.previous_backoff_s = wait_s
        self.run.owner.env.call_later(wait_s, self._resend, self.attempt)
        return True

    def _resend(self, attempt: int) -> None:
        if not self.answered and attempt == self.attempt and not self.run.finished:
            self._send_attempt()
