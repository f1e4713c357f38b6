"""Every lesson file is well formed, and every claim a lesson makes holds in the simulation."""

from __future__ import annotations

import math

import pytest

from sim.teaching.lessons import (
    PredictionSpec,
    check_claims,
    judge,
    lesson_paths,
    load_lesson,
    reveal,
    true_answer,
    validate_lessons,
)

CLAIMS = [(slug, index) for slug in lesson_paths() for index in range(len(load_lesson(slug).claims))]


def test_lesson_files_are_consistent() -> None:
    assert validate_lessons() == []
    assert [load_lesson(slug).number for slug in lesson_paths()] == list(range(1, len(lesson_paths()) + 1))


@pytest.mark.parametrize(("slug", "index"), CLAIMS)
def test_lesson_claim_holds(slug: str, index: int) -> None:
    lesson = load_lesson(slug)
    claim, holds, left, right = check_claims(lesson)[index]
    assert holds, f"{slug}: {claim.text} (left={left}, right={right})"


def test_every_prediction_has_a_true_answer() -> None:
    for slug in lesson_paths():
        lesson = load_lesson(slug)
        for step_index, step in enumerate(lesson.steps):
            if step.prediction is None:
                continue
            truth = true_answer(step.prediction, reveal(lesson, step_index))
            if step.prediction.kind == "choice":
                assert truth in step.prediction.choices, (slug, step_index, truth)
            else:
                assert isinstance(truth, float) and math.isfinite(truth) and truth > 0, (slug, step_index)


def test_judge_says_how_close_the_guess_was() -> None:
    number = PredictionSpec(question="?", kind="number", truth="value", metric="latency_ms.p99", unit="ms")
    assert judge(number, 105.0, 100.0).startswith("Spot on")
    assert judge(number, 150.0, 100.0).startswith("Close: within 1.5x")
    assert judge(number, 20.0, 100.0).startswith("Off by 5.0x (too low)")
    choice = PredictionSpec(question="?", kind="choice", choices=["a", "b"], truth="lowest", metric="x")
    assert judge(choice, "a", "a") == "Right."
    assert "the simulation says b" in judge(choice, "a", "b")
