"""Lessons: text, predictions and scenario variants read from ``lessons/*.yaml``, shared by app and notebooks.

A lesson is a list of steps. A step explains (markdown), may ask the learner to predict something, then
reveals it by running the step's variants of a scenario (same seed: common random numbers). A lesson's
claims are checked by the test suite, so its story can never silently stop being true.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from sim.data import data_path
from sim.model.base import StrictModel
from sim.model.slo import COMPARISONS
from sim.model.yaml12 import safe_load_yaml
from sim.results import run
from sim.results.summary_models import RunSummary, SummaryModel
from sim.scenario.gallery import load_gallery_scenario
from sim.scenario.overrides import with_overrides
from sim.scenario.scenario import Scenario, ScenarioError

LESSON_DIRECTORY = data_path("lessons")


class VariantSpec(StrictModel):
    """One configuration to run: a gallery scenario with some fields changed."""

    label: Annotated[str, Field(min_length=1)]
    overrides: dict[str, Any] = Field(default_factory=dict)


class PredictionSpec(StrictModel):
    """A question asked before the reveal, and how its true answer is read off the variants' results.

    ``truth``: ``value`` (the metric at ``variant``), ``ratio`` (metric at ``variant`` / at ``relative_to``),
    ``lowest`` / ``highest`` (the label of the variant with the lowest or highest metric), or ``first_above`` /
    ``first_below`` (the first variant, in the order listed, whose metric crosses ``threshold``; a choice).
    """

    question: str
    kind: Literal["number", "choice"]
    choices: list[str] = Field(default_factory=list)
    unit: str = ""
    truth: Literal["value", "ratio", "lowest", "highest", "first_above", "first_below"]
    metric: str
    variant: str | None = None
    relative_to: str | None = None
    threshold: float | None = None


class StepSpec(StrictModel):
    """Prose, an optional prediction, and the variants whose results reveal the answer."""

    title: str
    text: str
    prediction: PredictionSpec | None = None
    variants: list[VariantSpec] = Field(default_factory=list)
    show: list[str] = Field(default_factory=lambda: ["latency_ms.p50", "latency_ms.p99"])
    after: str = ""
    dashboard: str | None = None  # a variant whose monitoring dashboard (not its settings) is shown before asking
    lag_chart: bool = False  # after the reveal, each variant's broker lag over time (``sim.viz.lag_figures``)


class ClaimSpec(StrictModel):
    """A checked sentence: metric at ``left`` compared with ``factor`` x metric at ``right`` (or ``value``)."""

    text: str
    step: int
    metric: str
    left: str
    comparison: Literal[">", ">=", "<", "<="]
    right: str | None = None
    factor: float = 1.0
    value: float | None = None

    @model_validator(mode="after")
    def _one_reference(self) -> ClaimSpec:
        if (self.right is None) == (self.value is None):
            raise ValueError("a claim compares with exactly one of right (a variant) or value (a number)")
        return self


class ExerciseSpec(StrictModel):
    question: str
    solution: str


class Lesson(StrictModel):
    """One lesson, as written in ``lessons/NN-name.yaml``."""

    number: int
    slug: str
    title: str
    summary: str
    scenario: str
    duration_s: float | None = None
    steps: Annotated[list[StepSpec], Field(min_length=1)]
    claims: list[ClaimSpec] = Field(default_factory=list)
    exercises: list[ExerciseSpec] = Field(default_factory=list)

    def base_scenario(self) -> Scenario:
        scenario = load_gallery_scenario(self.scenario)
        if self.duration_s is not None:
            scenario = scenario.model_copy(update={"duration_s": self.duration_s})
        return scenario

    def variant_scenario(self, step: int, label: str) -> Scenario:
        variant = next((item for item in self.steps[step].variants if item.label == label), None)
        if variant is None:
            raise KeyError(f"lesson {self.slug!r} step {step} has no variant {label!r}")
        return with_overrides(self.base_scenario(), variant.overrides)


def lesson_paths() -> dict[str, Path]:
    """Lesson slugs mapped to their files, in lesson order."""
    paths = sorted(LESSON_DIRECTORY.glob("*.yaml"))
    return {path.stem.split("-", 1)[1]: path for path in paths}


@functools.cache
def load_lesson(slug: str) -> Lesson:
    """Read and validate the lesson called ``slug`` (e.g. ``"queues"``)."""
    paths = lesson_paths()
    if slug not in paths:
        raise KeyError(f"no lesson {slug!r}; available: {', '.join(paths)}")
    return Lesson.model_validate(safe_load_yaml(paths[slug].read_text(encoding="utf-8")))


def metric_at(summary: RunSummary, path: str) -> float | None:
    """A number inside a run summary by dotted path (``latency_ms.p99``, ``components.db.utilisation``)."""
    node: Any = summary
    for part in path.split("."):  # station names contain '/', never '.'; a plain split is safe
        if not isinstance(node, dict | SummaryModel) or part not in node:
            raise KeyError(f"no metric {path!r} in the summary (stopped at {part!r})")
        node = node[part]
    return None if node is None else float(node)


@functools.lru_cache(maxsize=256)
def _run_variant(slug: str, step: int, label: str, seed: int) -> RunSummary:
    return run(load_lesson(slug).variant_scenario(step, label), seed=seed).summary


def reveal(lesson: Lesson, step: int, seed: int = 1) -> dict[str, RunSummary]:
    """Run (or recall) every variant of a step: label -> run summary. Same seed for all: common random numbers."""
    variants = lesson.steps[step].variants
    return {variant.label: _run_variant(lesson.slug, step, variant.label, seed) for variant in variants}


def true_answer(prediction: PredictionSpec, summaries: dict[str, RunSummary]) -> float | str:
    """The answer the simulation gives to a prediction question."""
    values = {label: metric_at(summary, prediction.metric) for label, summary in summaries.items()}
    if prediction.truth in ("first_above", "first_below"):
        assert prediction.threshold is not None
        above = prediction.truth == "first_above"
        crossing = [label for label, value in values.items()
                    if value is not None and (value > prediction.threshold) == above]
        return crossing[0] if crossing else "none of them"
    if prediction.truth in ("lowest", "highest"):
        ranked = {label: value if value is not None else math.nan for label, value in values.items()}
        pick = min if prediction.truth == "lowest" else max
        return pick(ranked, key=ranked.__getitem__)
    assert prediction.variant is not None
    value = values[prediction.variant]
    if value is None:
        return math.nan
    if prediction.truth == "ratio":
        assert prediction.relative_to is not None
        reference = values[prediction.relative_to]
        return value / reference if reference else math.inf
    return value


def judge(prediction: PredictionSpec, guess: float | str, truth: float | str) -> str:
    """One sentence on how close the guess was."""
    unit = f" {prediction.unit}" if prediction.unit else ""
    if prediction.kind == "choice":
        return "Right." if guess == truth else f"Not quite: the simulation says {truth}."
    assert isinstance(truth, float) and isinstance(guess, int | float)
    if not math.isfinite(truth) or truth <= 0 or guess <= 0:
        return f"The simulation says {truth:.3g}{unit}."
    factor = max(guess / truth, truth / guess)
    if factor <= 1.2:
        closeness = "Spot on"
    elif factor <= 2:
        closeness = f"Close: within {factor:.1f}x"
    else:
        direction = "low" if guess < truth else "high"
        closeness = f"Off by {factor:.1f}x (too {direction})"
    return f"{closeness}. You said {guess:.3g}{unit}; the simulation says {truth:.3g}{unit}."


def check_claims(lesson: Lesson, seed: int = 1) -> list[tuple[ClaimSpec, bool, float | None, float | None]]:
    """Each claim with whether it holds and the two numbers compared."""
    outcomes = []
    for claim in lesson.claims:
        summaries = reveal(lesson, claim.step, seed)
        left = metric_at(summaries[claim.left], claim.metric)
        right = metric_at(summaries[claim.right], claim.metric) if claim.right is not None else claim.value
        holds = left is not None and right is not None and COMPARISONS[claim.comparison](left, claim.factor * right)
        outcomes.append((claim, holds, left, right))
    return outcomes


def validate_lessons() -> list[str]:
    """Problems in the lesson files: unknown scenarios, bad overrides, unknown variant labels."""
    problems = []
    for slug in lesson_paths():
        lesson = load_lesson(slug)
        for index, step in enumerate(lesson.steps):
            labels = {variant.label for variant in step.variants}
            for variant in step.variants:
                try:
                    lesson.variant_scenario(index, variant.label)
                except (ScenarioError, KeyError) as error:
                    problems.append(f"{slug} step {index} variant {variant.label!r}: {error}")
            if step.dashboard is not None and step.dashboard not in labels:
                problems.append(f"{slug} step {index}: dashboard names unknown variant {step.dashboard!r}")
            prediction = step.prediction
            if prediction is not None:
                named = {prediction.variant, prediction.relative_to} - {None}
                problems.extend(f"{slug} step {index}: prediction names unknown variant {name!r}"
                                for name in named - labels)
        for claim in lesson.claims:
            labels = {variant.label for variant in lesson.steps[claim.step].variants}
            problems.extend(f"{slug} claim {claim.text!r}: unknown variant {name!r}"
                            for name in {claim.left, claim.right} - {None} - labels)
    return problems
