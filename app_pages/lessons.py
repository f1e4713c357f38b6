"""Lessons: read a step, commit to a prediction, then reveal the simulation beside the theory and the verdict.

Steps unfold one at a time: the next appears once this one is revealed, so a learner predicts before seeing any
number. Per session and per lesson, ``st.session_state["lessons|<slug>|revealed"]`` maps each revealed step to
the guess frozen when Reveal was pressed (a plain entry, so it survives page switches, unlike widget values).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from sim import viz
from sim.teaching.lesson_views import (
    exercise_markdown,
    lag_figures,
    metric_label,
    results_table,
    solution_markdown,
    step_dashboard,
    step_markdown,
    verdict,
)
from sim.teaching.lessons import Lesson, PredictionSpec, lesson_paths, load_lesson

DEFAULT_SEED = 1  # the seed the lessons' claims are checked on
GOOD_VERDICTS = ("Right", "Spot on", "Close")


def key(slug: str, *parts: Any) -> str:
    return "|".join(("lessons", slug, *(str(part) for part in parts)))


@st.cache_data(max_entries=128, show_spinner="Running the step's variants…")
def step_results(slug: str, step: int, seed: int) -> pd.DataFrame:
    """The step's results table: one row per variant, simulation and theory columns side by side."""
    return results_table(load_lesson(slug), step, seed)


@st.cache_data(max_entries=32, show_spinner="Running the incident…")
def step_dashboard_data(slug: str, step: int, seed: int) -> dict[str, Any] | None:
    return step_dashboard(load_lesson(slug), step, seed)


@st.cache_data(max_entries=16, show_spinner="Running the step's variants over time…")
def step_lag_figures(slug: str, step: int, seed: int) -> list[Any]:
    """A ``lag_chart`` step's broker lag over time, one figure per variant (none for other steps)."""
    return lag_figures(load_lesson(slug), step, seed)


@st.cache_data(max_entries=512, show_spinner=False)
def step_verdict(slug: str, step: int, guess: float | str | None, seed: int) -> str:
    return verdict(load_lesson(slug), step, guess, seed)


def revealed_steps(slug: str) -> dict[int, Any]:
    """Revealed step -> the guess given (None without one), for this session and lesson."""
    state_key = key(slug, "revealed")
    if state_key not in st.session_state:
        st.session_state[state_key] = {}
    revealed: dict[int, Any] = st.session_state[state_key]
    return revealed


def reveal(slug: str, step: int) -> None:
    """Reveal button callback: freeze the current guess, then show the step's results."""
    revealed_steps(slug)[step] = st.session_state.get(key(slug, step, "guess"))


def start_over(slug: str) -> None:
    for state_key in [item for item in st.session_state if isinstance(item, str) and item.startswith(key(slug, ""))]:
        del st.session_state[state_key]


def ask(slug: str, step: int, prediction: PredictionSpec) -> None:
    """The prediction widget: a choice or a number, empty until the learner commits to something."""
    label = f"**Your prediction.** {prediction.question}"
    if prediction.kind == "choice":
        st.radio(label, prediction.choices, index=None, key=key(slug, step, "guess"))
    else:
        unit = f" ({prediction.unit})" if prediction.unit else ""
        st.number_input(label + unit, min_value=0.0, value=None, step=0.1, format="%g", placeholder="your guess",
                        key=key(slug, step, "guess"))
    guessed = st.session_state.get(key(slug, step, "guess")) is not None
    st.button("Reveal", key=key(slug, step, "reveal"), on_click=reveal, args=(slug, step), type="primary",
              disabled=not guessed, help="Runs the step's variants (the same seed for each) and shows them beside "
              "the theory." if guessed else "Give your prediction first: the reveal is only worth it against one.")


def guess_text(prediction: PredictionSpec, guess: Any) -> str:
    if guess is None:
        return "none given"
    if isinstance(guess, float):
        return f"{guess:g}" + (f" {prediction.unit}" if prediction.unit else "")
    return str(guess)


def chart_column(lesson: Lesson, step: int, table: pd.DataFrame) -> str | None:
    """The column the question is about, else the first numeric one."""
    prediction = lesson.steps[step].prediction
    if prediction is not None and metric_label(prediction.metric) in table.columns:
        return metric_label(prediction.metric)
    numeric = [name for name in table.columns if pd.api.types.is_numeric_dtype(table[name])
               and not pd.api.types.is_bool_dtype(table[name])]
    return numeric[0] if numeric else None


def show_results(lesson: Lesson, step: int, seed: int, guess: Any) -> None:
    """After Reveal: the guess, the table beside its chart, the verdict, and the step's explanation."""
    prediction = lesson.steps[step].prediction
    if prediction is not None:
        st.markdown(f"*{prediction.question}*")  # the question stays beside the answer
        st.markdown(f"**Your prediction:** {guess_text(prediction, guess)}")
    table = step_results(lesson.slug, step, seed)
    left, right = st.columns(2)
    left.dataframe(table.round(3))
    column = chart_column(lesson, step, table)
    if column is not None:
        right.plotly_chart(viz.variants_figure(table, column), key=f"lesson-{lesson.slug}-{step}")
    lag_columns = st.columns(2)
    for index, chart in enumerate(step_lag_figures(lesson.slug, step, seed)):
        lag_columns[index % 2].plotly_chart(chart, key=f"lesson-{lesson.slug}-{step}-lag-{index}")
    if prediction is not None:
        message = step_verdict(lesson.slug, step, guess, seed)
        (st.success if message.startswith(GOOD_VERDICTS) else st.warning)(message)
    if lesson.steps[step].after:
        st.markdown(lesson.steps[step].after)


def show_step(lesson: Lesson, step: int, seed: int) -> bool:
    """One step: its text, then the question (not revealed yet) or the results. Returns whether it is revealed."""
    st.markdown(step_markdown(lesson, step))
    dashboard = step_dashboard_data(lesson.slug, step, seed)
    if dashboard is not None:
        columns = st.columns(2)
        for index, chart in enumerate(viz.dashboard_figures(dashboard)):
            columns[index % 2].plotly_chart(chart, key=f"lesson-{lesson.slug}-{step}-dashboard-{index}")
    revealed = revealed_steps(lesson.slug)
    prediction = lesson.steps[step].prediction
    if prediction is None:
        revealed.setdefault(step, None)  # nothing to predict: reveal directly
    if step not in revealed:
        assert prediction is not None
        ask(lesson.slug, step, prediction)
        return False
    show_results(lesson, step, seed, revealed[step])
    return True


def exercises(lesson: Lesson) -> None:
    if not lesson.exercises:
        return
    st.subheader("Exercises")
    for index in range(len(lesson.exercises)):
        st.markdown(exercise_markdown(lesson, index))
        with st.expander(f"Solution {index + 1}"):
            st.markdown(solution_markdown(lesson, index))


def main() -> None:
    st.title("Lessons")
    slugs = list(lesson_paths())
    left, right = st.columns([3, 1])
    slug = left.selectbox("Lesson", slugs, key="lessons|lesson",
                          format_func=lambda item: f"{load_lesson(item).number}. {load_lesson(item).title}")
    lesson = load_lesson(slug)
    seed = int(right.number_input("Seed", min_value=0, value=DEFAULT_SEED, step=1, key=key(slug, "seed"),
                                  help="Every variant of a step runs on this seed (common random numbers)."))
    st.caption(f"{lesson.summary} Scenario: *{lesson.scenario}*. Predict first, then reveal: the guess is kept "
               "as given, and the simulation and the theory are shown side by side.")
    for step in range(len(lesson.steps)):
        st.divider()
        if not show_step(lesson, step, seed):
            st.caption(f"Step {step + 1} of {len(lesson.steps)}: reveal it to continue.")
            return
    st.divider()
    exercises(lesson)
    st.button("Start over", key=key(slug, "start-over"), on_click=start_over, args=(slug,),
              help="Forget this lesson's predictions and hide the results again.")


main()
