"""The lessons page under AppTest: predict, reveal, and only then the table, the chart and the verdict."""

from __future__ import annotations

import json
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from sim.teaching.lesson_views import verdict
from sim.teaching.lessons import Lesson, lesson_paths, load_lesson
from sim.viz.dashboard import PANELS
from tests.app_helpers import APP, assert_healthy

PAGE = "app_pages/lessons.py"
NUMBER_GUESS = 2.0


def open_lesson(slug: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(PAGE).run()
    if at.selectbox(key="lessons|lesson").value != slug:
        at.selectbox(key="lessons|lesson").set_value(slug).run()
    assert_healthy(at)
    return at


DASHBOARD_TITLES = {title for _section, _key, title, _axis, _format in PANELS}


LAG_TITLE = ": consumer lag and backlog"


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]


def result_charts(at: AppTest) -> list[Any]:
    """Charts of revealed results (a step's monitoring dashboard, shown before asking, and the lag over time a
    ``lag_chart`` step adds are not one)."""
    return [chart for chart, title in zip(at.get("plotly_chart"), chart_titles(at), strict=True)
            if title not in DASHBOARD_TITLES and not title.endswith(LAG_TITLE)]


def verdicts(at: AppTest) -> list[str]:
    return [item.value for item in [*at.success, *at.warning]]


def guess_for(lesson: Lesson, step: int) -> Any:
    prediction = lesson.steps[step].prediction
    assert prediction is not None
    return prediction.choices[0] if prediction.kind == "choice" else NUMBER_GUESS


def predict_and_reveal(at: AppTest, lesson: Lesson, step: int) -> Any:
    """Answer step ``step``, check nothing of it is shown yet, press Reveal; returns the guess."""
    guess = guess_for(lesson, step)
    widget_key = f"lessons|{lesson.slug}|{step}|guess"
    if isinstance(guess, str):
        at.radio(key=widget_key).set_value(guess).run()
    else:
        at.number_input(key=widget_key).set_value(guess).run()
    assert_healthy(at)
    assert len(at.dataframe) == step, "this step's table is not shown before Reveal"
    assert len(result_charts(at)) == step
    assert len(verdicts(at)) == step
    at.button(key=f"lessons|{lesson.slug}|{step}|reveal").click().run()
    assert_healthy(at)
    return guess


def assert_revealed(at: AppTest, lesson: Lesson, step: int, guess: Any) -> None:
    assert len(at.dataframe) == step + 1 and len(result_charts(at)) == step + 1
    table = at.dataframe[step].value
    assert list(table.index) == [variant.label for variant in lesson.steps[step].variants]
    assert verdict(lesson, step, guess, seed=1) in verdicts(at)
    shown = f"{guess:g}" if isinstance(guess, float) else guess
    assert any(item.value.startswith(f"**Your prediction:** {shown}") for item in at.markdown)


def test_lessons_page_opens_on_the_first_lesson_with_nothing_revealed() -> None:
    at = open_lesson("queues")
    assert at.title[0].value == "Lessons"
    assert at.selectbox(key="lessons|lesson").options == [f"{load_lesson(slug).number}. {load_lesson(slug).title}"
                                                          for slug in lesson_paths()]
    assert not at.dataframe and not at.get("plotly_chart") and not verdicts(at)
    assert at.number_input(key="lessons|queues|0|guess").value is None, "no guess is made for the learner"
    assert "Step 1 of 3: reveal it to continue." in [item.value for item in at.caption]


@pytest.mark.parametrize("slug", list(lesson_paths()))
def test_first_step_of_every_lesson_predicts_then_reveals(slug: str) -> None:
    at = open_lesson(slug)
    lesson = load_lesson(slug)
    guess = predict_and_reveal(at, lesson, 0)
    assert_revealed(at, lesson, 0, guess)
    if lesson.steps[0].after:
        assert any(lesson.steps[0].after.strip()[:40] in item.value for item in at.markdown)
    if len(lesson.steps) > 1:
        assert any(item.value.startswith("### 2. ") for item in at.markdown), "the next step appears"
    lag_charts = [title for title in chart_titles(at) if title.endswith(LAG_TITLE)]
    assert lag_charts == ([f"{variant.label}: orders{LAG_TITLE}" for variant in lesson.steps[0].variants]
                          if lesson.steps[0].lag_chart else [])


def test_a_whole_lesson_end_to_end_with_exercises_and_start_over() -> None:
    lesson = load_lesson("queues")
    at = open_lesson(lesson.slug)
    for step in range(len(lesson.steps)):
        assert not at.expander, "exercises wait for the last reveal"
        guess = predict_and_reveal(at, lesson, step)
        assert_revealed(at, lesson, step, guess)
    assert at.subheader[-1].value == "Exercises"
    solutions = [item for item in at.expander if item.label.startswith("Solution")]
    assert len(solutions) == len(lesson.exercises)
    assert lesson.exercises[0].solution.strip()[:30] in solutions[0].markdown[0].value
    at.button(key="lessons|queues|start-over").click().run()
    assert_healthy(at)
    assert not at.dataframe and at.number_input(key="lessons|queues|0|guess").value is None


def test_reveal_waits_for_a_guess_and_the_question_stays_after_it() -> None:
    at = open_lesson("queues")
    assert at.button(key="lessons|queues|0|reveal").disabled, "no reveal without a prediction"
    at.number_input(key="lessons|queues|0|guess").set_value(NUMBER_GUESS).run()
    assert not at.button(key="lessons|queues|0|reveal").disabled
    at.button(key="lessons|queues|0|reveal").click().run()
    question = load_lesson("queues").steps[0].prediction
    assert question is not None and f"*{question.question}*" in [item.value for item in at.markdown]


def test_the_lessons_page_has_one_seed_control() -> None:
    at = open_lesson("queues")
    assert [item.key for item in at.number_input if item.label == "Seed"] == ["lessons|queues|seed"]
    at.switch_page("app_pages/sandbox.py").run()
    assert len([item for item in at.number_input if item.label == "Seed"]) == 1, "the Sandbox keeps its own"


def test_reveals_are_kept_per_lesson() -> None:
    at = open_lesson("queues")
    predict_and_reveal(at, load_lesson("queues"), 0)
    at.selectbox(key="lessons|lesson").set_value("scaling-out").run()
    assert_healthy(at)
    assert not at.dataframe, "another lesson starts unrevealed"
    at.selectbox(key="lessons|lesson").set_value("queues").run()
    assert len(at.dataframe) == 1, "coming back keeps the reveal"
    assert any(item.value == f"**Your prediction:** {NUMBER_GUESS:g} x" for item in at.markdown)


def test_the_monitoring_lesson_shows_only_the_dashboard_before_asking() -> None:
    at = open_lesson("monitoring")
    titles = [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]
    assert sorted(titles) == sorted(title for _section, _key, title, _axis, _format in PANELS), "cache included"
    utilisation = next(json.loads(chart.proto.spec) for chart in at.get("plotly_chart")
                       if json.loads(chart.proto.spec)["layout"]["title"]["text"] == "Utilisation per station")
    hottest = {trace["name"]: max(value for value in trace["y"] if value is not None) for trace in utilisation["data"]}
    assert hottest["db/primary"] > 0.95 and hottest["api"] > 0.95, "both look saturated: the trap of step 1"
    assert not at.dataframe, "no settings and no results before the reveal"
